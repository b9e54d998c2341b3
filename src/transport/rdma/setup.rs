//! Opens one side's RDMA resources for a trial (device, one RC queue pair per stream, and with a latency
//! probe one more, last, for the probe's sends) and connects them to the peer's endpoints once those
//! arrive over the control channel.

use super::select::{self, Choice, DeviceRequest};
use super::verbs::{self, Device, Qp, QpConfig, CONTROL_RECEIVES};
use super::{QpEndpoint, RdmaError, RdmaOffer, RdmaPortFacts};
use crate::plan::{ProbeSpec, RdmaOp, RdmaSettings, TestKind, TrialSpec};
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

/// Says why RDMA cannot run here, before anything is opened: libibverbs missing, or no device.
pub fn check_available() -> Result<Vec<String>, RdmaError> {
    let names = verbs::device_names()?;
    if names.is_empty() {
        return Err(RdmaError::NoDevice);
    }
    Ok(names)
}

/// One side's queue pairs for one trial.
pub struct RdmaSide {
    device: Device,
    choice: Choice,
    gid: Ipv6Addr,
    pub qps: Vec<Qp>,
    pub facts: RdmaPortFacts,
}

/// Most latency sends covered by one requested completion (send latency signals selectively, like
/// ib_send_lat); the send queue is sized for two such periods of unreaped sends.
pub const MAX_LAT_SIGNAL_EVERY: u64 = 4;

/// Send-queue work requests in flight for a trial (perftest: -t for bandwidth, 1 for latency).
pub fn tx_depth(spec: &TrialSpec, settings: &RdmaSettings) -> u32 {
    match spec.test {
        TestKind::Lat => 1,
        _ => settings.tx_depth.max(1),
    }
}

/// How this side's queue pairs are built for a trial.
fn qp_config(spec: &TrialSpec, settings: &RdmaSettings) -> QpConfig {
    let depth = tx_depth(spec, settings);
    let recv_depth = match settings.op {
        RdmaOp::Send => settings.rx_depth.max(depth).max(2) + CONTROL_RECEIVES,
        _ => CONTROL_RECEIVES,
    };
    QpConfig {
        message_size: spec.message_size as usize,
        // Headroom over what is kept in flight: the FIN, latency answers not reaped yet (two
        // signaling periods at most), and soft-RoCE frees a slot only after it has shown the
        // completion.
        send_depth: depth + 2 * MAX_LAT_SIGNAL_EVERY as u32 + 4,
        recv_depth,
        max_inline: settings.inline_size,
        post_list: settings.post_list,
        hugepages: settings.hugepages,
        use_event: settings.use_event,
        atomic: settings.op == RdmaOp::Atomic,
    }
}

/// The latency probe's queue pair: sends of the probe's size, one in flight (plus unreaped answers and
/// the FIN), a few receives posted, no inline data, woken by completion events.
fn probe_qp_config(probe: &ProbeSpec) -> QpConfig {
    QpConfig {
        message_size: probe.size as usize,
        send_depth: 1 + 2 * MAX_LAT_SIGNAL_EVERY as u32 + 4,
        recv_depth: 2 + CONTROL_RECEIVES,
        max_inline: 0,
        post_list: 1,
        hugepages: false,
        use_event: true,
        atomic: false,
    }
}

/// The path MTU: the one asked for (checked), else the smaller of the two ports' active MTUs.
fn path_mtu(requested: Option<u32>, local_active: u32, peer_active: u32) -> Result<u32, RdmaError> {
    match requested {
        Some(m) => {
            verbs::mtu_from_bytes(m).ok_or(RdmaError::BadMtu(m))?;
            Ok(m)
        }
        None => Ok(local_active.min(peer_active.max(256))),
    }
}

/// The GID index for the queue pairs' address vector: GRH addressing (this side's index, else 0) unless
/// both ends are InfiniBand without a GID index (`None`: LID addressing).
fn address_gid_index(own: Option<u32>, peer_addressing: &str) -> Option<u32> {
    if own.is_none() && peer_addressing == "lid" {
        None
    } else {
        Some(own.unwrap_or(0))
    }
}

impl RdmaSide {
    /// Chooses the device and creates `spec.streams` queue pairs (and the probe's, last) in INIT with
    /// their receives posted.
    pub fn open(
        root: &Path,
        spec: &TrialSpec,
        request: &DeviceRequest,
        local: IpAddr,
        route_interface: Option<&str>,
    ) -> Result<RdmaSide, RdmaError> {
        let settings = spec
            .rdma
            .as_ref()
            .ok_or_else(|| RdmaError::Peer("an RDMA trial without RDMA settings".into()))?;
        check_available()?;
        let choice = select::choose(root, request, local, route_interface)?;
        let device = Device::open(&choice.port.device, choice.port.port as u8)?;
        let gid = device.gid(choice.gid_index.unwrap_or(0))?;
        let config = qp_config(spec, settings);
        let mut qps = (0..spec.streams)
            .map(|_| Qp::create(&device, &config))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(probe) = &spec.probe {
            qps.push(Qp::create(&device, &probe_qp_config(probe))?);
        }
        let facts = RdmaPortFacts {
            device: choice.port.device.clone(),
            port: choice.port.port as u8,
            selected_by: choice.selected_by.clone(),
            firmware: choice.firmware.clone(),
            netdev: choice.port.netdev.clone(),
            state: choice.port.state.clone(),
            link_layer: choice.port.link_layer.clone(),
            rate: choice.port.rate.clone(),
            width: choice.port.width,
            active_mtu: device.info.active_mtu,
            path_mtu: 0,
            addressing: if choice.gid_index.is_some() {
                "gid".into()
            } else {
                "lid".into()
            },
            gid_index: choice.gid_index,
            gid: choice.gid_index.map(|_| gid.to_string()),
            gid_type: choice.gid_type.clone(),
            lid: device.info.lid,
            qpns: Vec::new(),
        };
        let mut side = RdmaSide {
            device,
            choice,
            gid,
            qps,
            facts,
        };
        side.facts.qpns = side.offer().endpoints.iter().map(|e| e.qpn).collect();
        Ok(side)
    }

    /// What the peer needs: one endpoint per queue pair, and the port facts.
    pub fn offer(&self) -> RdmaOffer {
        RdmaOffer {
            endpoints: self
                .qps
                .iter()
                .map(|q| q.endpoint(&self.device, self.gid))
                .collect(),
            port: self.facts.clone(),
        }
    }

    /// Connects every queue pair to the peer's matching endpoint (RTR, RTS).
    pub fn connect(&mut self, spec: &TrialSpec, peer: &RdmaOffer) -> Result<(), RdmaError> {
        let settings = spec
            .rdma
            .as_ref()
            .ok_or_else(|| RdmaError::Peer("an RDMA trial without RDMA settings".into()))?;
        if peer.endpoints.len() != self.qps.len() {
            return Err(RdmaError::Peer(format!(
                "the peer offered {} queue pairs for {} streams{}",
                peer.endpoints.len(),
                spec.streams,
                if spec.probe.is_some() {
                    " and the probe"
                } else {
                    ""
                }
            )));
        }
        let streams = spec.streams as usize;
        let need = |index: usize| match spec.probe {
            Some(probe) if index >= streams => u64::from(probe.size),
            _ => spec.message_size,
        };
        if let Some((index, short)) =
            (peer.endpoints.iter().enumerate()).find(|(i, e)| e.len < need(*i))
        {
            return Err(RdmaError::Peer(format!(
                "the peer's buffer of {} bytes is smaller than a {}-byte message",
                short.len,
                need(index)
            )));
        }
        let path_mtu = path_mtu(settings.mtu, self.facts.active_mtu, peer.port.active_mtu)?;
        let reads = settings
            .outstanding_reads
            .min(self.device.max_outstanding_reads()?.max(1));
        let gid_index = address_gid_index(self.choice.gid_index, &peer.port.addressing);
        for ((index, qp), remote) in self.qps.iter_mut().enumerate().zip(&peer.endpoints) {
            // The probe's queue pair sends without inline data whatever the data's op is.
            let (op, inline) = if index < streams {
                (settings.op, settings.inline_size)
            } else {
                (RdmaOp::Send, 0)
            };
            qp.connect(&self.device, remote, gid_index, path_mtu, reads, op, inline)?;
        }
        self.facts.path_mtu = path_mtu;
        Ok(())
    }

    /// Hands the queue pairs to the data threads.
    pub fn into_qps(self) -> (Vec<Qp>, RdmaPortFacts) {
        (self.qps, self.facts)
    }
}

/// The endpoints of an offer, for logs.
pub fn describe(endpoints: &[QpEndpoint]) -> String {
    endpoints
        .iter()
        .map(|e| format!("qpn {:#x} psn {:#x}", e.qpn, e.psn))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{StopCondition, TransportKind};

    fn settings(op: RdmaOp) -> RdmaSettings {
        RdmaSettings::perftest_defaults(op, TestKind::Bw)
    }

    fn spec(test: TestKind, rdma: &RdmaSettings) -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Rdma,
            test,
            message_size: 65536,
            streams: 2,
            stop: StopCondition::Iterations { count: 10 },
            warmup_s: 0.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: Some(rdma.clone()),
            link_samples: false,
            probe: None,
        }
    }

    #[test]
    fn tx_depth_is_the_setting_for_bandwidth_and_one_for_latency() {
        let s = settings(RdmaOp::Write);
        assert_eq!(tx_depth(&spec(TestKind::Bw, &s), &s), 128);
        assert_eq!(tx_depth(&spec(TestKind::Bibw, &s), &s), 128);
        assert_eq!(tx_depth(&spec(TestKind::Lat, &s), &s), 1);
        let zero = RdmaSettings {
            tx_depth: 0,
            ..settings(RdmaOp::Write)
        };
        assert_eq!(tx_depth(&spec(TestKind::Bw, &zero), &zero), 1);
    }

    #[test]
    fn queue_pairs_get_headroom_and_receives_only_for_send() {
        let write = settings(RdmaOp::Write);
        let c = qp_config(&spec(TestKind::Bw, &write), &write);
        // 128 in flight + 2 x 4 unreaped latency answers + 4 (FIN, soft-RoCE's late slot release).
        assert_eq!(c.send_depth, 140);
        assert_eq!(c.recv_depth, CONTROL_RECEIVES);
        assert_eq!((c.message_size, c.post_list, c.max_inline), (65536, 1, 0));
        assert!(!c.atomic && !c.hugepages && !c.use_event);
        let lat = qp_config(&spec(TestKind::Lat, &write), &write);
        assert_eq!((lat.send_depth, lat.recv_depth), (13, CONTROL_RECEIVES));

        let send = settings(RdmaOp::Send);
        let c = qp_config(&spec(TestKind::Bw, &send), &send);
        assert_eq!(c.recv_depth, 512 + CONTROL_RECEIVES);
        let small = RdmaSettings {
            rx_depth: 1,
            tx_depth: 16,
            ..settings(RdmaOp::Send)
        };
        let c = qp_config(&spec(TestKind::Bw, &small), &small);
        assert_eq!(c.recv_depth, 16 + CONTROL_RECEIVES, "at least tx_depth");
        let c = qp_config(&spec(TestKind::Lat, &small), &small);
        assert_eq!(c.recv_depth, 2 + CONTROL_RECEIVES, "at least two");

        let atomic = RdmaSettings {
            hugepages: true,
            use_event: true,
            inline_size: 64,
            post_list: 8,
            ..settings(RdmaOp::Atomic)
        };
        let c = qp_config(&spec(TestKind::Bw, &atomic), &atomic);
        assert!(c.atomic && c.hugepages && c.use_event);
        assert_eq!((c.max_inline, c.post_list), (64, 8));
    }

    #[test]
    fn the_path_mtu_is_the_one_asked_for_or_the_smaller_active_one() {
        assert_eq!(path_mtu(Some(1024), 4096, 4096).unwrap(), 1024);
        assert!(matches!(
            path_mtu(Some(1500), 4096, 4096),
            Err(RdmaError::BadMtu(1500))
        ));
        assert_eq!(path_mtu(None, 4096, 1024).unwrap(), 1024);
        assert_eq!(path_mtu(None, 1024, 4096).unwrap(), 1024);
        // A peer that reports no MTU counts as the smallest.
        assert_eq!(path_mtu(None, 4096, 0).unwrap(), 256);
    }

    #[test]
    fn lid_addressing_only_when_both_ends_are_infiniband_without_a_gid() {
        assert_eq!(address_gid_index(None, "lid"), None);
        assert_eq!(address_gid_index(None, "gid"), Some(0));
        assert_eq!(address_gid_index(Some(3), "lid"), Some(3));
        assert_eq!(address_gid_index(Some(3), "gid"), Some(3));
    }

    #[test]
    fn endpoints_are_described_for_logs() {
        let e = |qpn, psn| QpEndpoint {
            qpn,
            psn,
            lid: 0,
            gid: "::ffff:10.0.2.15".into(),
            rkey: 1,
            addr: 0,
            len: 4096,
        };
        assert_eq!(
            describe(&[e(0x11, 0xabc), e(0x12, 0x1)]),
            "qpn 0x11 psn 0xabc, qpn 0x12 psn 0x1"
        );
        assert_eq!(describe(&[]), "");
    }
}
