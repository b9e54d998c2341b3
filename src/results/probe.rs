//! The latency probe's report: the pinging side's histogram, the server's count of answers, and what
//! the probe shared with the traffic (its CPU against the data threads' on each side).

use crate::engine::{self, Side, SideOutcome};
use crate::model::{CpuChoice, ProbeReport, ProbeShares, SideReport};
use crate::plan::TrialSpec;
use crate::stats::HistogramError;

/// The probe's report, when the trial ran one and this side's probe thread handed back its figures.
pub fn probe_report(
    spec: &TrialSpec,
    client: &SideOutcome,
    client_cpus: &CpuChoice,
    server: &SideReport,
) -> Result<Option<ProbeReport>, HistogramError> {
    let (Some(probe_spec), Some(outcome)) = (spec.probe, client.probe.as_ref()) else {
        return Ok(None);
    };
    let recorder = &outcome.recorder;
    Ok(Some(ProbeReport {
        rate_per_s: probe_spec.rate_per_s,
        size_bytes: probe_spec.size,
        count: recorder.count(),
        warmup_round_trips: outcome.warmup_round_trips,
        missed_slots: outcome.missed_slots,
        server_echoed: server.probe_echoed,
        round_trip_ns: recorder.summary(),
        histogram: recorder.encode_base64()?,
        clamped_samples: recorder.clamped(),
        shares: shares(spec, client_cpus, server.cpus.as_ref()),
    }))
}

/// The probe thread's CPU on a side and whether a data thread was pinned to it too (the probe's thread
/// is the side's last).
fn probe_cpu(spec: &TrialSpec, side: Side, cpus: &CpuChoice) -> (usize, bool) {
    let probe_index = engine::thread_count(spec, side) - 1;
    let cpu = cpus.cpu_for(probe_index);
    let shared = (0..probe_index).any(|i| cpus.cpu_for(i) == cpu);
    (cpu, shared)
}

fn shares(spec: &TrialSpec, client: &CpuChoice, server: Option<&CpuChoice>) -> ProbeShares {
    let (client_cpu, client_cpu_shared) = probe_cpu(spec, Side::Client, client);
    let server = server.map(|c| probe_cpu(spec, Side::Server, c));
    let cpu_words = |side: &str, cpu: usize, shared: bool| {
        if shared {
            format!("the {side}'s probe thread shared CPU {cpu} with a data thread")
        } else {
            format!("the {side}'s probe thread had CPU {cpu} to itself among the data threads")
        }
    };
    let rdma = spec.transport == crate::plan::TransportKind::Rdma;
    let mut summary = vec![
        if rdma {
            "The probe shares the RDMA device, port and link with the traffic, on a queue pair of its own"
        } else {
            "The probe shares the route, interface and NIC with the traffic, and may share a NIC queue"
        }
        .to_string(),
        cpu_words("client", client_cpu, client_cpu_shared),
    ];
    if let Some((cpu, shared)) = server {
        summary.push(cpu_words("server", cpu, shared));
    }
    let (path, queue) = if rdma {
        (
            "a queue pair of its own on the same RDMA device and port as the data's queue pairs, to the \
             same server: the same link and NIC on each side",
            "its own send, receive and completion queues; the NIC's send scheduling, the port and the \
             wire are shared with the data (soft-RoCE: the same kernel's rxe work too)",
        )
    } else {
        (
            "the same client, server address and route as the data connections: the same interface \
             and NIC on each side",
            "the NIC picks a connection's receive queue by a hash of its addresses and ports: the probe \
             may or may not share one with a data stream (loopback and veth have no NIC queue)",
        )
    };
    ProbeShares {
        path: path.into(),
        queue: queue.into(),
        client_cpu,
        client_cpu_shared,
        server_cpu: server.map(|s| s.0),
        server_cpu_shared: server.map(|s| s.1),
        summary: summary.join("; ") + ".",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CpuSource;
    use crate::plan::{ProbeSpec, StopCondition, TestKind, TransportKind};

    fn spec(test: TestKind, streams: u32) -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Tcp,
            test,
            message_size: 1024,
            streams,
            stop: StopCondition::Duration { seconds: 1.0 },
            warmup_s: 0.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: None,
            link_samples: false,
            probe: Some(ProbeSpec {
                rate_per_s: 100,
                size: 64,
            }),
        }
    }

    fn cpus(list: &[usize]) -> CpuChoice {
        CpuChoice {
            cpus: list.to_vec(),
            source: CpuSource::Spread,
        }
    }

    #[test]
    fn the_probe_is_the_last_thread_and_sharing_is_told_per_side() {
        // bw, one stream: the client's sender on CPU 0, the probe on CPU 1.
        let s = shares(&spec(TestKind::Bw, 1), &cpus(&[0, 1]), Some(&cpus(&[1])));
        assert_eq!((s.client_cpu, s.client_cpu_shared), (1, false));
        // The server has one CPU: its receiver and the probe's echo share it.
        assert_eq!((s.server_cpu, s.server_cpu_shared), (Some(1), Some(true)));
        assert!(s.summary.contains("shared CPU 1"), "{}", s.summary);
        // bibw, two streams: four data threads on two CPUs; the probe (thread 4) wraps onto CPU 0.
        let s = shares(&spec(TestKind::Bibw, 2), &cpus(&[0, 1]), None);
        assert_eq!((s.client_cpu, s.client_cpu_shared), (0, true));
        assert_eq!(s.server_cpu, None);
    }
}
