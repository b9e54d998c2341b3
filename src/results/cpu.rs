//! The CPU each side's data threads cost per unit of work, and the receive mode's report entry.

use crate::engine::SideOutcome;
use crate::model::{
    CpuReport, CpuSpan, ReceiveReport, ReceiveStats, SideCpu, SideCpuSample, SideReport, TestResult,
};
use crate::plan::{TestKind, TransportKind, TrialSpec};

/// What the CPU figures mean, written into every result.
const EXPLANATION: &str = "user_s and system_s: the data threads' own CPU time (getrusage RUSAGE_THREAD), from the \
     start of the measured phase to the thread's end (span measured_phase), or over the thread's whole life \
     where a thread cannot tell the phases apart (span whole_trial: latency echo, RDMA target); cores_busy: \
     that time over the span's length; cpu_s_per_gb: CPU-seconds per 10^9 payload bytes of the trial (both \
     directions for bibw); cpu_us_per_round_trip: CPU-microseconds per round trip; host: /proc/stat over the \
     measured phase, every process on the host";

/// TCP bandwidth: the receive mode and how both sides' receivers took the bytes.
pub fn receive_report(
    spec: &TrialSpec,
    client: Option<ReceiveStats>,
    server: Option<ReceiveStats>,
) -> Option<ReceiveReport> {
    if spec.transport != TransportKind::Tcp || spec.test == TestKind::Lat {
        return None;
    }
    let mut stats = ReceiveStats::default();
    for side in [client, server].into_iter().flatten() {
        stats.add(&side);
    }
    Some(ReceiveReport {
        mode: spec.recv_mode,
        meaning: spec.recv_mode.meaning().to_string(),
        stats,
    })
}

/// Both sides' CPU cost, per unit of the trial's work.
pub fn cpu_report(
    spec: &TrialSpec,
    client: &SideOutcome,
    server: &SideReport,
    result: &TestResult,
) -> CpuReport {
    let whole_trial = whole_trial_work(spec, client, server, result);
    let side = |sample: Option<SideCpuSample>| {
        sample.map(|s| {
            let work = match s.span {
                CpuSpan::MeasuredPhase => measured_work(spec, result),
                CpuSpan::WholeTrial => whole_trial,
            };
            side_cpu(spec, &s, work)
        })
    };
    CpuReport {
        client: side(client.cpu),
        server: side(server.cpu),
        explanation: EXPLANATION.to_string(),
    }
}

/// The measured phase's work: payload bytes (bandwidth) or round trips (latency).
fn measured_work(spec: &TrialSpec, result: &TestResult) -> u64 {
    match spec.test {
        TestKind::Lat => result.messages,
        TestKind::Bw | TestKind::Bibw => result.bytes,
    }
}

/// The whole trial's work, warm-up included: what a side that cannot tell the phases apart did.
fn whole_trial_work(
    spec: &TrialSpec,
    client: &SideOutcome,
    server: &SideReport,
    result: &TestResult,
) -> u64 {
    match spec.test {
        TestKind::Lat => {
            let warmup = result.latency.as_ref().map_or(0, |l| l.warmup_round_trips);
            result.messages.saturating_add(warmup)
        }
        TestKind::Bw | TestKind::Bibw => {
            let rdma_warmup_ops = client
                .rdma
                .iter()
                .map(|r| r.warmup_ops)
                .fold(server.rdma_warmup_ops, u64::saturating_add);
            let tcp_warmup = result.bandwidth.as_ref().map_or(0, |b| {
                b.directions
                    .iter()
                    .fold(0u64, |t, d| t.saturating_add(d.warmup_bytes))
            });
            result
                .bytes
                .saturating_add(rdma_warmup_ops.saturating_mul(spec.message_size))
                .saturating_add(tcp_warmup)
        }
    }
}

/// One side's figures: its sample divided by the work it covers.
fn side_cpu(spec: &TrialSpec, sample: &SideCpuSample, work: u64) -> SideCpu {
    let total = sample.times.total_s();
    let per = |scale: f64| (work > 0).then(|| total * scale / work as f64);
    let (cpu_s_per_gb, cpu_us_per_round_trip) = match spec.test {
        TestKind::Lat => (None, per(1e6)),
        TestKind::Bw | TestKind::Bibw => (per(1e9), None),
    };
    SideCpu {
        data_threads: sample.data_threads,
        span: sample.span,
        user_s: sample.times.user_s,
        system_s: sample.times.system_s,
        cores_busy: (sample.wall_s > 0.0).then(|| total / sample.wall_s),
        cpu_s_per_gb,
        cpu_us_per_round_trip,
        host: sample.host,
    }
}
