//! Turns what the data threads measured into report figures: per direction (summed over streams, timed
//! from the earliest stream start to the latest stream end), per interval, and the latency histogram.

use crate::engine::bandwidth::ReceiveOutcome;
use crate::engine::latency::PingOutcome;
use crate::engine::SideOutcome;
use crate::model::report::{
    Bandwidth, Direction, DirectionFigures, Latency, Placement, StreamFigures, TcpSettings,
    TestResult, ZeroCopyReport,
};
use crate::model::CpuChoice;
use crate::model::SideReport;
use crate::plan::{RdmaOp, TestKind, TransportKind, TrialSpec};
use crate::stats::interval::figures_from_counters;
use crate::stats::{HistogramError, IntervalFigures, LatencyRecorder};
use crate::transport::ZeroCopyStats;

fn rate(amount: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        amount as f64 / seconds
    } else {
        0.0
    }
}

/// Sums receiving streams into one direction's figures; `None` when nothing was received at all.
pub fn direction_figures(
    direction: Direction,
    received: &[ReceiveOutcome],
    sent_bytes: u64,
) -> Option<DirectionFigures> {
    if received.is_empty() {
        return None;
    }
    let start = received.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = received.iter().map(|r| r.end_ns).max().unwrap_or(0);
    let duration_s = end.saturating_sub(start) as f64 / 1e9;
    let bytes: u64 = received.iter().map(|r| r.bytes).sum();
    let messages: u64 = received.iter().map(|r| r.messages).sum();
    let per_stream = received
        .iter()
        .map(|r| {
            let d = r.end_ns.saturating_sub(r.start_ns) as f64 / 1e9;
            StreamFigures {
                bytes: r.bytes,
                messages: r.messages,
                duration_s: d,
                bits_per_second: rate(r.bytes * 8, d),
            }
        })
        .collect();
    let counters: Vec<_> = received.iter().map(|r| r.intervals.clone()).collect();
    Some(DirectionFigures {
        direction,
        bytes,
        messages,
        warmup_bytes: received.iter().map(|r| r.warmup_bytes).sum(),
        duration_s,
        bits_per_second: rate(bytes * 8, duration_s),
        messages_per_second: rate(messages, duration_s),
        sent_bytes,
        per_stream,
        intervals: figures_from_counters(&counters, end.saturating_sub(start)),
    })
}

/// Where the data of RDMA work requests posted by one side went: writes and sends leave the poster,
/// reads bring data to it.
pub fn rdma_direction(op: RdmaOp, posted_by_client: bool) -> Direction {
    match (op.returns_data(), posted_by_client) {
        (false, true) | (true, false) => Direction::ClientToServer,
        (false, false) | (true, true) => Direction::ServerToClient,
    }
}

/// RDMA: the figures of what one side posted, timed first post to last completion.
fn rdma_posted(spec: &TrialSpec, outcome: &SideOutcome, client: bool) -> Option<DirectionFigures> {
    let op = spec.rdma.as_ref()?.op;
    let posted: Vec<ReceiveOutcome> = outcome
        .rdma
        .iter()
        .filter_map(|r| r.posted.clone())
        .collect();
    direction_figures(rdma_direction(op, client), &posted, 0).map(|mut d| {
        d.sent_bytes = d.bytes;
        d
    })
}

/// The report a side sends about itself (the server's half of a trial).
pub fn side_report(
    spec: &TrialSpec,
    outcome: &SideOutcome,
    cpus: &CpuChoice,
    receiving: Direction,
) -> SideReport {
    let zerocopy = sum_zerocopy(outcome.sent.iter().filter_map(|s| s.zerocopy.as_ref()));
    SideReport {
        cpus: Some(cpus.clone()),
        all_pinned: outcome.all_pinned,
        received: direction_figures(receiving, &outcome.received, 0),
        sent_messages: outcome.sent.iter().map(|s| s.messages).sum(),
        sent_bytes: outcome.sent.iter().map(|s| s.bytes).sum(),
        warmup_messages_sent: outcome.sent.iter().map(|s| s.warmup_messages).sum(),
        echoed: outcome.echoed,
        zerocopy: if spec.zerocopy { zerocopy } else { None },
        errors: outcome.errors.clone(),
        link: None,
        posted: rdma_posted(spec, outcome, false),
        rdma_received_messages: outcome.rdma.iter().map(|r| r.received_messages).sum(),
        rdma_received_bytes: outcome.rdma.iter().map(|r| r.received_bytes).sum(),
        rdma_warmup_ops: outcome.rdma.iter().map(|r| r.warmup_ops).sum(),
    }
}

fn sum_zerocopy<'a>(stats: impl Iterator<Item = &'a ZeroCopyStats>) -> Option<ZeroCopyStats> {
    stats.fold(None, |acc: Option<ZeroCopyStats>, s| {
        let mut total = acc.unwrap_or_default();
        total.add(s);
        Some(total)
    })
}

/// Merges the pinging streams' histograms and interval figures.
pub fn latency_figures(
    pings: &[PingOutcome],
) -> Result<Option<(Latency, Vec<IntervalFigures>, f64)>, HistogramError> {
    let mut all = LatencyRecorder::new();
    for p in pings {
        all.merge(&p.recorder)?;
    }
    let Some(summary) = all.summary() else {
        return Ok(None);
    };
    let measured_ns = pings.iter().map(|p| p.measured_ns).max().unwrap_or(0);
    let counters: Vec<_> = pings.iter().map(|p| p.intervals.clone()).collect();
    let mut intervals = figures_from_counters(&counters, measured_ns);
    for (slot, figures) in intervals.iter_mut().enumerate() {
        let mut slot_recorder = LatencyRecorder::new();
        for p in pings {
            for il in p.interval_latency.iter().filter(|il| il.slot == slot) {
                slot_recorder.merge(&il.recorder)?;
            }
        }
        figures.latency_round_trip_ns = slot_recorder.summary();
    }
    let latency = Latency {
        count: all.count(),
        round_trip_ns: summary,
        histogram: all.encode_base64()?,
        clamped_samples: all.clamped(),
        warmup_round_trips: pings.iter().map(|p| p.warmup_round_trips).sum(),
    };
    Ok(Some((latency, intervals, measured_ns as f64 / 1e9)))
}

/// Sums the per-slot figures of two directions (bibw).
fn combine_intervals(a: &[IntervalFigures], b: &[IntervalFigures]) -> Vec<IntervalFigures> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    long.iter()
        .enumerate()
        .map(|(i, x)| match short.get(i) {
            Some(y) => IntervalFigures {
                bytes: x.bytes.saturating_add(y.bytes),
                messages: x.messages.saturating_add(y.messages),
                bits_per_second: x.bits_per_second + y.bits_per_second,
                messages_per_second: x.messages_per_second + y.messages_per_second,
                ..x.clone()
            },
            None => x.clone(),
        })
        .collect()
}

/// Everything both sides measured in one trial, as a report entry.
pub fn build_result(
    spec: &TrialSpec,
    client: &SideOutcome,
    client_cpus: &CpuChoice,
    server: &SideReport,
    complete: bool,
) -> Result<TestResult, HistogramError> {
    let mut result = TestResult {
        transport: spec.transport,
        op: match (&spec.transport, &spec.rdma) {
            (TransportKind::Rdma, Some(r)) => r.op.to_string(),
            _ => "stream".to_string(),
        },
        test: spec.test,
        message_size: spec.message_size,
        streams: spec.streams,
        duration_s: 0.0,
        bytes: 0,
        messages: 0,
        trial: spec.trial,
        complete,
        reverse: spec.reverse,
        warmup_s: spec.warmup_s,
        stop: spec.stop,
        bandwidth: None,
        latency: None,
        intervals: Vec::new(),
        placement: Placement {
            client: Some(client_cpus.clone()),
            server: server.cpus.clone(),
            client_all_pinned: client.all_pinned,
            server_all_pinned: server.cpus.as_ref().map(|_| server.all_pinned),
        },
        tcp: (spec.transport == TransportKind::Tcp).then_some(TcpSettings {
            nodelay: spec.test == TestKind::Lat,
            busy_poll: spec.busy_poll,
        }),
        zerocopy: None,
        link: None,
        rdma: None,
    };
    match spec.test {
        TestKind::Lat => {
            if let Some((latency, intervals, duration_s)) = latency_figures(&client.pings)? {
                result.messages = latency.count;
                result.bytes = latency.count * spec.message_size * 2;
                result.duration_s = duration_s;
                result.intervals = intervals;
                result.latency = Some(latency);
            }
        }
        TestKind::Bw | TestKind::Bibw => bandwidth_figures(spec, client, server, &mut result),
    }
    if spec.zerocopy {
        let client_zc = sum_zerocopy(client.sent.iter().filter_map(|s| s.zerocopy.as_ref()))
            .unwrap_or_default();
        let mut total = server.zerocopy.unwrap_or_default();
        total.add(&client_zc);
        result.zerocopy = Some(ZeroCopyReport::from_stats(total));
    }
    Ok(result)
}

/// The bandwidth figures of a trial: each direction's (RDMA: what each side posted; TCP and RDMA send:
/// what each side received), their sums, the combined intervals and the best whole interval.
fn bandwidth_figures(
    spec: &TrialSpec,
    client: &SideOutcome,
    server: &SideReport,
    result: &mut TestResult,
) {
    let client_sent: u64 = client.sent.iter().map(|s| s.bytes).sum();
    let mut directions = Vec::new();
    if spec.transport == TransportKind::Rdma {
        directions.extend(rdma_posted(spec, client, true));
        directions.extend(server.posted.clone());
    }
    if let Some(mut to_server) = server.received.clone() {
        to_server.sent_bytes = client_sent;
        directions.push(to_server);
    }
    if let Some(to_client) = direction_figures(
        Direction::ServerToClient,
        &client.received,
        server.sent_bytes,
    ) {
        directions.push(to_client);
    }
    // The server's figures are a peer's numbers: summed without overflowing.
    result.bytes = directions.iter().fold(0, |t, d| t.saturating_add(d.bytes));
    result.messages = directions
        .iter()
        .fold(0, |t, d| t.saturating_add(d.messages));
    result.duration_s = directions.iter().map(|d| d.duration_s).fold(0.0, f64::max);
    result.intervals = directions
        .iter()
        .fold(Vec::new(), |acc: Vec<IntervalFigures>, d| {
            combine_intervals(&acc, &d.intervals)
        });
    let bits_per_second = directions.iter().map(|d| d.bits_per_second).sum();
    let messages_per_second = directions.iter().map(|d| d.messages_per_second).sum();
    // Only whole intervals count as a peak; the short last one would overstate or understate.
    let interval_s = spec.interval_s;
    let best = result
        .intervals
        .iter()
        .filter(|i| (i.end_s - i.start_s) >= interval_s * 0.999)
        .map(|i| i.bits_per_second)
        .fold(None, |best: Option<f64>, v| {
            Some(best.map_or(v, |b| b.max(v)))
        });
    if !directions.is_empty() {
        result.bandwidth = Some(Bandwidth {
            bits_per_second,
            messages_per_second,
            best_interval_bits_per_second: best,
            directions,
        });
    }
}
