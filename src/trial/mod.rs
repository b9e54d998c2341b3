//! One trial as either side runs it. The client and the server differ only in how they reach each other
//! (the control protocol above this module); the trial itself is the same pipeline on both:
//!
//! 1. [`Prepared::prepare`]: check the trial can run here and get ready: CPUs for the data threads
//!    (requested, NIC-local, or spread), the link probe (counters and module monitors before the trial),
//!    and for RDMA the device, port and queue pairs ([`Prepared::offer`] is what the peer needs).
//! 2. [`Prepared::connect_rdma`] connects the queue pairs to the peer's offer; for TCP,
//!    [`Prepared::attach_tcp`] takes the connections the sessions made (they know the cookie protocol)
//!    and sets their socket options, before the client says `start`.
//! 3. [`Prepared::start`]: the data threads, over the TCP streams or the queue pairs, with a
//!    [`TrialStop`] that can end them whatever the peer does.
//! 4. [`Running::end`]: wait for the threads within a bound (stopping them if they outlast it) and read
//!    the link probe again.

use crate::diag::link::{LinkProbe, LinkReport};
use crate::engine::pinning::{self, PinningError};
use crate::engine::stop::TrialStop;
use crate::engine::{self, DataPath, EngineError, RunningSide, Side, SideOutcome};
use crate::model::{CpuChoice, RdmaOffer, RdmaPortFacts};
use crate::plan::{TestKind, TransportKind, TrialSpec};
use crate::transport::rdma::select::DeviceRequest;
use crate::transport::rdma::setup::RdmaSide;
use crate::transport::rdma::RdmaError;
use crate::transport::tcp::{TcpDataStream, TcpOptions};
use crate::transport::{DataStream, TransportError};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// A trial could not be prepared or started on this side.
#[derive(Debug, Error)]
pub enum TrialError {
    #[error(transparent)]
    Pinning(#[from] PinningError),
    #[error(transparent)]
    Rdma(#[from] RdmaError),
    #[error("stream {stream}: {source}")]
    Connection {
        stream: usize,
        #[source]
        source: TransportError,
    },
    #[error("could not start the data threads: {0}")]
    Start(#[from] EngineError),
}

/// What a side knows about itself for every trial of a session.
#[derive(Debug, Clone, Copy)]
pub struct SideSetup<'a> {
    pub side: Side,
    /// Root of the file system facts are read from (normally `/`).
    pub root: &'a Path,
    /// CPUs local to the NIC that carries the control connection.
    pub nic_local: Option<&'a [usize]>,
    /// The interface the route to the peer uses.
    pub interface: Option<&'a str>,
    /// This side's address on the control connection (RDMA picks its device and GID from it).
    pub local: IpAddr,
    pub rdma_device: &'a DeviceRequest,
    /// A data connection silent this long is declared stalled.
    pub stall: Duration,
    /// CPUs other trials on this host run on now (the server's other sessions): chosen last.
    pub busy_cpus: &'a [usize],
}

/// A trial ready to connect and start.
pub struct Prepared {
    spec: TrialSpec,
    side: Side,
    stall: Duration,
    pub cpus: CpuChoice,
    probe: Option<LinkProbe>,
    rdma: Option<RdmaSide>,
    /// TCP: the data streams, with their sockets set up ([`Prepared::attach_tcp`]).
    tcp: Option<crate::transport::Connected>,
}

/// A trial whose data threads run.
pub struct Running {
    pub running: RunningSide,
    /// Ends the trial from outside the data threads (sets the flag, shuts the data sockets).
    pub stop: TrialStop,
    pub cpus: CpuChoice,
    probe: Option<LinkProbe>,
    /// RDMA: this side's port facts.
    pub rdma_port: Option<RdmaPortFacts>,
}

/// How a trial's data threads ended.
pub struct Ended {
    /// What they measured; `None` when they had to be left behind.
    pub outcome: Option<SideOutcome>,
    /// They had to be stopped after the bound (the peer kept the trial alive).
    pub stopped_late: bool,
    /// The link after the trial (counters, module monitors), against the probe before it.
    pub link: Option<LinkReport>,
}

impl Prepared {
    /// Chooses CPUs (`requested` overrides the NIC-local or spread choice), starts the link probe, and
    /// for RDMA opens the device, port and queue pairs.
    pub fn prepare(
        setup: &SideSetup<'_>,
        spec: &TrialSpec,
        requested: Option<&[usize]>,
    ) -> Result<Prepared, TrialError> {
        let cpus = pinning::choose_cpus(
            requested,
            setup.nic_local,
            &pinning::usable_cpus(),
            engine::thread_count(spec, setup.side),
            setup.side == Side::Server,
            setup.busy_cpus,
        )?;
        let rdma = match spec.transport {
            TransportKind::Rdma => Some(RdmaSide::open(
                setup.root,
                spec,
                setup.rdma_device,
                setup.local,
                setup.interface,
            )?),
            TransportKind::Tcp => None,
        };
        // Counters and module monitors before the data moves, read again after the trial: of the link
        // the data takes (for RDMA the chosen port's netdev, which need not carry the control route:
        // an InfiniBand fabric beside an Ethernet management network, or a local device).
        let data_interface = rdma
            .as_ref()
            .and_then(|r| r.facts.netdev.as_deref())
            .or(setup.interface);
        let probe = data_interface.map(|i| LinkProbe::begin(setup.root, i));
        Ok(Prepared {
            spec: spec.clone(),
            side: setup.side,
            stall: setup.stall,
            cpus,
            probe,
            rdma,
            tcp: None,
        })
    }

    /// TCP: takes the trial's connections (in stream order) and sets their socket options (no delay,
    /// busy polling, timeouts, zero-copy), so that any failure comes before the trial starts.
    /// With a latency probe, the last connection is the probe's: no delay, no zero-copy.
    pub fn attach_tcp(&mut self, connections: Vec<TcpStream>) -> Result<(), TrialError> {
        let data = tcp_options(&self.spec, self.side, self.stall);
        // The probe's connection never busy-polls: its echo would spin a CPU between round trips.
        let probe_options = TcpOptions {
            nodelay: true,
            zerocopy: false,
            busy_poll: false,
            ..data
        };
        let probe_index = self.spec.probe.map(|_| self.spec.streams as usize);
        let options = |stream: usize| match probe_index {
            Some(p) if p == stream => probe_options,
            _ => data,
        };
        self.tcp = Some(tcp_streams(connections, options)?);
        Ok(())
    }

    /// RDMA: what the peer needs to reach this side's queue pairs.
    pub fn offer(&self) -> Option<RdmaOffer> {
        self.rdma.as_ref().map(|r| r.offer())
    }

    /// RDMA: connects this side's queue pairs to the peer's; TCP: nothing to do.
    pub fn connect_rdma(&mut self, peer: Option<&RdmaOffer>) -> Result<(), RdmaError> {
        let Some(side) = self.rdma.as_mut() else {
            return Ok(());
        };
        let peer = peer.ok_or_else(|| {
            RdmaError::Peer("the peer sent no queue pairs for an RDMA trial".into())
        })?;
        side.connect(&self.spec, peer)
    }

    /// The RDMA device this side uses, for the log.
    pub fn rdma_device(&self) -> Option<&str> {
        self.rdma.as_ref().map(|r| r.facts.device.as_str())
    }

    /// Starts the data threads over the attached TCP streams or the queue pairs. Setting `stop` ends
    /// the trial early.
    pub fn start(self, stop: Arc<AtomicBool>) -> Result<Running, TrialError> {
        let (path, sockets, rdma_port) = match (self.rdma, self.tcp) {
            (Some(side), _) => {
                let (qps, facts) = side.into_qps();
                (DataPath::Rdma(qps), Vec::new(), Some(facts))
            }
            (None, Some((streams, sockets))) => (DataPath::Tcp(streams), sockets, None),
            (None, None) => (DataPath::Tcp(Vec::new()), Vec::new(), None),
        };
        let trial_stop = TrialStop::new(Arc::clone(&stop), sockets);
        let running = engine::start(&self.spec, self.side, path, &self.cpus, stop, self.stall)?;
        Ok(Running {
            running,
            stop: trial_stop,
            cpus: self.cpus,
            probe: self.probe,
            rdma_port,
        })
    }
}

impl Running {
    /// A sampler of the link the trial runs over (a soak), when this side knows its interface.
    pub fn link_sampler(&self) -> Option<crate::diag::sampler::LinkSampler> {
        self.probe.as_ref().map(LinkProbe::sampler)
    }

    /// Waits up to `bound` for the data threads and reads the link probe again. Without `stop_first` the
    /// threads may end by themselves; when they outlast `bound` they are stopped and get `bound` again.
    /// With `stop_first` (the trial is over without them) they are stopped at once and get `bound` once.
    /// Threads that still run are left behind.
    pub fn end(self, bound: Duration, stop_first: bool) -> Ended {
        let Running {
            mut running,
            stop,
            probe,
            ..
        } = self;
        if stop_first {
            stop.abort();
        }
        let mut stopped_late = false;
        let mut finished = running.wait_finished(bound);
        if !finished && !stop_first {
            stop.abort();
            stopped_late = true;
            finished = running.wait_finished(bound);
        }
        let outcome = finished.then(|| running.join());
        stop.disarm();
        Ended {
            outcome,
            stopped_late,
            link: probe.map(LinkProbe::finish),
        }
    }
}

/// Socket options of a trial's TCP connections on this side.
fn tcp_options(spec: &TrialSpec, side: Side, stall: Duration) -> TcpOptions {
    let sends = match side {
        Side::Client => spec.client_sends(),
        Side::Server => spec.server_sends(),
    };
    TcpOptions {
        nodelay: spec.test == TestKind::Lat,
        busy_poll: spec.busy_poll,
        zerocopy: spec.zerocopy && sends && spec.test != TestKind::Lat,
        stall_timeout: stall,
    }
}

/// The data streams over `connections`, and clones of their sockets to end the trial with.
fn tcp_streams(
    connections: Vec<TcpStream>,
    options: impl Fn(usize) -> TcpOptions,
) -> Result<crate::transport::Connected, TrialError> {
    let mut streams: Vec<Box<dyn DataStream>> = Vec::with_capacity(connections.len());
    let mut sockets = Vec::with_capacity(connections.len());
    for (stream, connection) in connections.into_iter().enumerate() {
        let failed = |source| TrialError::Connection { stream, source };
        let clone = connection
            .try_clone()
            .map_err(|e| failed(TransportError::io("duplicating a socket", e)))?;
        sockets.push(clone);
        let data = TcpDataStream::new(connection, options(stream)).map_err(failed)?;
        streams.push(Box::new(data));
    }
    Ok((streams, sockets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StopCondition;

    fn spec(test: TestKind, reverse: bool) -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Tcp,
            test,
            message_size: 1024,
            streams: 1,
            stop: StopCondition::Duration { seconds: 1.0 },
            warmup_s: 0.0,
            interval_s: 1.0,
            reverse,
            zerocopy: true,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: None,
            link_samples: false,
            probe: None,
        }
    }

    #[test]
    fn zero_copy_is_asked_for_only_where_the_side_sends_bandwidth() {
        let stall = Duration::from_secs(1);
        let bw = spec(TestKind::Bw, false);
        assert!(tcp_options(&bw, Side::Client, stall).zerocopy);
        assert!(!tcp_options(&bw, Side::Server, stall).zerocopy);
        let reverse = spec(TestKind::Bw, true);
        assert!(tcp_options(&reverse, Side::Server, stall).zerocopy);
        let lat = spec(TestKind::Lat, false);
        let o = tcp_options(&lat, Side::Client, stall);
        assert!(!o.zerocopy && o.nodelay);
    }
}
