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

mod cpu;
mod probe;
pub use probe::probe_report;

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
        cpu: outcome.cpu,
        receive: outcome.receive,
        probe_echoed: outcome.probe_echoed,
        sharing: None,
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
            // The sentence is the client's own, built from the server's figures.
            server_sharing: server.sharing.as_ref().map(|s| {
                crate::model::ServerSharing::new(
                    s.other_trials,
                    s.most_at_once,
                    s.cpus_shared.clone(),
                )
            }),
        },
        tcp: (spec.transport == TransportKind::Tcp).then_some(TcpSettings {
            nodelay: spec.test == TestKind::Lat,
            busy_poll: spec.busy_poll,
        }),
        zerocopy: None,
        link: None,
        rdma: None,
        receive: None,
        cpu: None,
        soak: None,
        probe: None,
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
    result.receive = cpu::receive_report(spec, client.receive, server.receive);
    result.cpu = Some(cpu::cpu_report(spec, client, server, &result));
    result.probe = probe_report(spec, client, client_cpus, server)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bandwidth::SendOutcome;
    use crate::engine::latency::IntervalLatency;
    use crate::engine::rdma::RdmaOutcome;
    use crate::model::CpuSource;
    use crate::plan::{RdmaSettings, StopCondition};
    use crate::stats::IntervalCounter;

    const SEC: u64 = 1_000_000_000;

    fn spec(transport: TransportKind, test: TestKind) -> TrialSpec {
        TrialSpec {
            transport,
            test,
            message_size: 1000,
            streams: 2,
            stop: StopCondition::Duration { seconds: 2.0 },
            warmup_s: 0.5,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 3,
            rdma: (transport == TransportKind::Rdma)
                .then_some(RdmaSettings::perftest_defaults(RdmaOp::Write, TestKind::Bw)),
            link_samples: false,
            probe: None,
        }
    }

    /// Each direction's (direction, bytes received, bytes sent).
    fn direction_bytes(bw: &Bandwidth) -> Vec<(Direction, u64, u64)> {
        bw.directions
            .iter()
            .map(|d| (d.direction, d.bytes, d.sent_bytes))
            .collect()
    }

    fn cpus(cpus: &[usize]) -> CpuChoice {
        CpuChoice {
            cpus: cpus.to_vec(),
            source: CpuSource::Requested,
        }
    }

    /// A stream that received `slots[i]` (bytes, messages) in second i of its measured phase, which ran
    /// from `start_ns` to `end_ns`; its totals are the slots' sums.
    fn stream(
        start_ns: u64,
        end_ns: u64,
        slots: &[(u64, u64)],
        warmup_bytes: u64,
    ) -> ReceiveOutcome {
        let mut intervals = IntervalCounter::new(SEC, slots.len());
        for (i, &(bytes, messages)) in slots.iter().enumerate() {
            intervals.add(i as u64 * SEC, bytes, messages);
        }
        ReceiveOutcome {
            warmup_bytes,
            bytes: slots.iter().map(|s| s.0).sum(),
            messages: slots.iter().map(|s| s.1).sum(),
            start_ns,
            end_ns,
            intervals,
            receive: Default::default(),
        }
    }

    fn sent(bytes: u64, messages: u64, zerocopy: Option<ZeroCopyStats>) -> SendOutcome {
        SendOutcome {
            warmup_messages: 7,
            messages,
            bytes,
            zerocopy,
        }
    }

    fn zc(sends: u64, completed: u64, copied: u64) -> ZeroCopyStats {
        ZeroCopyStats {
            sends,
            completed,
            copied,
            enobufs_waits: 1,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn nothing_received_is_no_direction() {
        assert_eq!(direction_figures(Direction::ClientToServer, &[], 5), None);
    }

    #[test]
    fn a_direction_sums_its_streams_timed_from_the_first_start_to_the_last_end() {
        // A: 1 s to 3 s, 1 MB in each second; B: 1.5 s to 2.5 s, 0.5 MB.
        let a = stream(SEC, 3 * SEC, &[(1_000_000, 10), (1_000_000, 10)], 100);
        let b = stream(SEC + SEC / 2, 2 * SEC + SEC / 2, &[(500_000, 5)], 50);
        let d = direction_figures(Direction::ServerToClient, &[a, b], 4_000_000).unwrap();
        assert_eq!(d.direction, Direction::ServerToClient);
        assert_eq!((d.bytes, d.messages, d.warmup_bytes), (2_500_000, 25, 150));
        assert_eq!(d.sent_bytes, 4_000_000, "what the peer sent, as given");
        assert!(close(d.duration_s, 2.0), "{}", d.duration_s);
        assert!(
            close(d.bits_per_second, 10_000_000.0),
            "{}",
            d.bits_per_second
        );
        assert!(close(d.messages_per_second, 12.5));
        // Each stream over its own measured phase.
        assert_eq!(d.per_stream.len(), 2);
        let (sa, sb) = (&d.per_stream[0], &d.per_stream[1]);
        assert_eq!((sa.bytes, sa.messages), (2_000_000, 20));
        assert!(close(sa.duration_s, 2.0) && close(sa.bits_per_second, 8_000_000.0));
        assert_eq!((sb.bytes, sb.messages), (500_000, 5));
        assert!(close(sb.duration_s, 1.0) && close(sb.bits_per_second, 4_000_000.0));
        // Intervals: the streams' slots summed, over the direction's 2 s.
        assert_eq!(d.intervals.len(), 2);
        let (i0, i1) = (&d.intervals[0], &d.intervals[1]);
        assert_eq!((i0.bytes, i0.messages), (1_500_000, 15));
        assert_eq!((i1.bytes, i1.messages), (1_000_000, 10));
        assert!(close(i0.start_s, 0.0) && close(i0.end_s, 1.0) && close(i1.end_s, 2.0));
        assert!(close(i0.bits_per_second, 12_000_000.0));
        assert!(close(i1.bits_per_second, 8_000_000.0));
        let interval_bytes: u64 = d.intervals.iter().map(|i| i.bytes).sum();
        assert_eq!(interval_bytes, d.bytes, "the intervals add up to the total");
    }

    #[test]
    fn a_measured_phase_of_no_length_has_rates_of_zero_not_infinity() {
        // A stream whose end lies before its start (a clock that stepped back) lasted zero seconds.
        let backwards = stream(5 * SEC, 4 * SEC, &[(1000, 1)], 0);
        let d = direction_figures(Direction::ClientToServer, &[backwards], 0).unwrap();
        assert_eq!(d.duration_s, 0.0);
        assert_eq!((d.bits_per_second, d.messages_per_second), (0.0, 0.0));
        assert_eq!(d.per_stream[0].bits_per_second, 0.0);
        assert_eq!(d.bytes, 1000);
    }

    #[test]
    fn rdma_data_goes_from_the_poster_for_writes_and_sends_and_to_it_for_reads_and_atomics() {
        use Direction::{ClientToServer as C2S, ServerToClient as S2C};
        for (op, by_client, by_server) in [
            (RdmaOp::Write, C2S, S2C),
            (RdmaOp::Send, C2S, S2C),
            (RdmaOp::Read, S2C, C2S),
            (RdmaOp::Atomic, S2C, C2S),
        ] {
            assert_eq!(
                rdma_direction(op, true),
                by_client,
                "{op} posted by the client"
            );
            assert_eq!(
                rdma_direction(op, false),
                by_server,
                "{op} posted by the server"
            );
        }
    }

    #[test]
    fn a_side_report_sums_what_the_side_sent_and_received() {
        let mut spec = spec(TransportKind::Tcp, TestKind::Bibw);
        let outcome = SideOutcome {
            sent: vec![
                sent(3000, 3, Some(zc(3, 3, 1))),
                sent(2000, 2, Some(zc(2, 1, 1))),
            ],
            received: vec![stream(0, SEC, &[(4000, 4)], 10)],
            echoed: 9,
            errors: vec!["stream 1: reset".into()],
            all_pinned: true,
            ..SideOutcome::default()
        };
        let report = side_report(&spec, &outcome, &cpus(&[2, 3]), Direction::ClientToServer);
        assert_eq!(report.cpus, Some(cpus(&[2, 3])));
        assert!(report.all_pinned);
        let received = report.received.as_ref().unwrap();
        assert_eq!(received.direction, Direction::ClientToServer);
        assert_eq!((received.bytes, received.messages), (4000, 4));
        assert_eq!(
            received.sent_bytes, 0,
            "the peer's sent bytes are filled in by the client"
        );
        assert_eq!((report.sent_bytes, report.sent_messages), (5000, 5));
        assert_eq!(report.warmup_messages_sent, 14);
        assert_eq!(report.echoed, 9);
        assert_eq!(report.errors, outcome.errors);
        assert_eq!(
            report.zerocopy, None,
            "zero-copy figures only when asked for"
        );
        assert_eq!(report.posted, None, "TCP posts nothing");
        assert_eq!(report.link, None);

        spec.zerocopy = true;
        let report = side_report(&spec, &outcome, &cpus(&[2, 3]), Direction::ClientToServer);
        let total = report.zerocopy.unwrap();
        assert_eq!((total.sends, total.completed, total.copied), (5, 4, 2));
        assert_eq!(total.enobufs_waits, 2);

        // Zero-copy asked for but no stream sent with it (a receiving side): none.
        let receiving = SideOutcome {
            received: outcome.received.clone(),
            ..SideOutcome::default()
        };
        let report = side_report(&spec, &receiving, &cpus(&[0]), Direction::ClientToServer);
        assert_eq!(report.zerocopy, None);
        assert!(report.received.is_some());
        assert_eq!((report.sent_bytes, report.sent_messages), (0, 0));
    }

    #[test]
    fn an_rdma_side_report_has_what_it_posted_in_the_ops_direction() {
        let mut spec = spec(TransportKind::Rdma, TestKind::Bw);
        spec.rdma.as_mut().unwrap().op = RdmaOp::Read;
        let outcome = SideOutcome {
            rdma: vec![
                RdmaOutcome {
                    posted: Some(stream(0, 2 * SEC, &[(8000, 8), (8000, 8)], 0)),
                    warmup_ops: 4,
                    received_messages: 3,
                    received_bytes: 3000,
                },
                RdmaOutcome {
                    posted: None,
                    warmup_ops: 1,
                    received_messages: 2,
                    received_bytes: 2000,
                },
            ],
            ..SideOutcome::default()
        };
        let report = side_report(&spec, &outcome, &cpus(&[0]), Direction::ClientToServer);
        let posted = report.posted.unwrap();
        // The server's reads bring data to the server.
        assert_eq!(posted.direction, Direction::ClientToServer);
        assert_eq!((posted.bytes, posted.messages), (16000, 16));
        assert_eq!(
            posted.sent_bytes, posted.bytes,
            "the poster sent what it posted"
        );
        assert!(close(posted.bits_per_second, 64_000.0));
        assert_eq!(report.received, None);
        assert_eq!(
            (report.rdma_received_messages, report.rdma_received_bytes),
            (5, 5000)
        );
        assert_eq!(report.rdma_warmup_ops, 5);
    }

    /// A pinging stream: `samples` (slot, round trip ns) of `size`-byte messages, measured for
    /// `measured_ns`.
    fn ping(samples: &[(usize, u64)], size: u64, measured_ns: u64, warmup: u64) -> PingOutcome {
        let mut recorder = LatencyRecorder::new();
        let mut intervals = IntervalCounter::new(SEC, 2);
        let mut interval_latency: Vec<IntervalLatency> = Vec::new();
        for &(slot, rtt) in samples {
            recorder.record(rtt);
            intervals.add(slot as u64 * SEC, size * 2, 1);
            match interval_latency.iter_mut().find(|il| il.slot == slot) {
                Some(il) => il.recorder.record(rtt),
                None => {
                    let mut r = LatencyRecorder::new();
                    r.record(rtt);
                    interval_latency.push(IntervalLatency { slot, recorder: r });
                }
            }
        }
        PingOutcome {
            warmup_round_trips: warmup,
            recorder,
            measured_ns,
            intervals,
            interval_latency,
        }
    }

    #[test]
    fn no_round_trip_is_no_latency() {
        assert!(latency_figures(&[]).unwrap().is_none());
        assert!(latency_figures(&[ping(&[], 2, 0, 5)]).unwrap().is_none());
    }

    #[test]
    fn latency_merges_every_streams_samples_and_intervals() {
        // Values under 2048 ns are exact in a 3-digit histogram.
        let a = ping(&[(0, 1000), (0, 1500), (1, 2000)], 2, SEC + SEC / 2, 3);
        let b = ping(&[(0, 500), (1, 0)], 2, SEC + SEC / 4, 4);
        let (latency, intervals, duration_s) = latency_figures(&[a, b]).unwrap().unwrap();
        assert_eq!(latency.count, 5);
        assert_eq!(latency.warmup_round_trips, 7);
        assert_eq!(
            latency.clamped_samples, 1,
            "the 0 ns sample is kept, at 1 ns"
        );
        assert_eq!(
            (latency.round_trip_ns.min, latency.round_trip_ns.max),
            (1, 2000)
        );
        let decoded = LatencyRecorder::decode_base64(&latency.histogram).unwrap();
        assert_eq!(decoded.count(), 5, "the histogram holds every sample");
        assert!(
            close(duration_s, 1.5),
            "the longest stream's measured phase"
        );
        assert_eq!(intervals.len(), 2);
        assert_eq!((intervals[0].messages, intervals[0].bytes), (3, 12));
        assert_eq!((intervals[1].messages, intervals[1].bytes), (2, 8));
        assert!(close(intervals[1].end_s, 1.5), "the last interval is short");
        let slot0 = intervals[0].latency_round_trip_ns.as_ref().unwrap();
        assert_eq!((slot0.min, slot0.max), (500, 1500));
        let slot1 = intervals[1].latency_round_trip_ns.as_ref().unwrap();
        assert_eq!((slot1.min, slot1.max), (1, 2000));
    }

    fn figures(start_s: f64, end_s: f64, bytes: u64, messages: u64, bps: f64) -> IntervalFigures {
        IntervalFigures {
            start_s,
            end_s,
            bytes,
            messages,
            bits_per_second: bps,
            messages_per_second: messages as f64,
            latency_round_trip_ns: None,
        }
    }

    #[test]
    fn combined_intervals_add_slot_by_slot_and_keep_the_longer_tail() {
        let a = vec![figures(0.0, 1.0, 100, 1, 800.0)];
        let b = vec![
            figures(0.0, 1.0, 200, 2, 1600.0),
            figures(1.0, 1.5, u64::MAX, u64::MAX, 5.0),
        ];
        for (x, y) in [(&a, &b), (&b, &a)] {
            let c = combine_intervals(x, y);
            assert_eq!(c.len(), 2);
            assert_eq!((c[0].bytes, c[0].messages), (300, 3));
            assert!(close(c[0].bits_per_second, 2400.0) && close(c[0].messages_per_second, 3.0));
            assert_eq!(c[1], b[1], "a slot only one direction has is kept as it is");
        }
        // A peer's u64::MAX saturates instead of overflowing.
        let max = vec![figures(0.0, 1.0, u64::MAX, u64::MAX, 1.0)];
        let c = combine_intervals(&max, &a);
        assert_eq!((c[0].bytes, c[0].messages), (u64::MAX, u64::MAX));
        assert!(combine_intervals(&[], &[]).is_empty());
    }

    /// The server's report of a bandwidth trial: `received` is what it measured from the client.
    fn server_report(received: Option<DirectionFigures>, sent_bytes: u64) -> SideReport {
        SideReport {
            cpus: Some(cpus(&[7])),
            all_pinned: false,
            received,
            sent_bytes,
            ..SideReport::default()
        }
    }

    #[test]
    fn a_bandwidth_result_is_the_servers_receive_side_with_what_the_client_sent() {
        let spec = spec(TransportKind::Tcp, TestKind::Bw);
        let client = SideOutcome {
            sent: vec![sent(6_000_000, 6, None), sent(1_000_000, 1, None)],
            all_pinned: true,
            ..SideOutcome::default()
        };
        // 2.5 s measured: two whole intervals and a short last one whose rate is the highest.
        let received = direction_figures(
            Direction::ClientToServer,
            &[stream(
                0,
                2 * SEC + SEC / 2,
                &[(1_000_000, 1), (2_000_000, 2), (3_000_000, 3)],
                0,
            )],
            0,
        );
        let server = server_report(received, 0);
        let r = build_result(&spec, &client, &cpus(&[1]), &server, true).unwrap();
        assert_eq!(
            (r.transport, r.test, r.op.as_str()),
            (TransportKind::Tcp, TestKind::Bw, "stream")
        );
        assert_eq!((r.message_size, r.streams, r.trial), (1000, 2, 3));
        assert!(r.complete && !r.reverse);
        assert_eq!(r.warmup_s, 0.5);
        assert_eq!((r.bytes, r.messages), (6_000_000, 6));
        assert!(close(r.duration_s, 2.5));
        let bw = r.bandwidth.as_ref().unwrap();
        assert_eq!(bw.directions.len(), 1);
        let d = &bw.directions[0];
        assert_eq!(d.direction, Direction::ClientToServer);
        assert_eq!(d.sent_bytes, 7_000_000, "what the client's streams sent");
        assert!(close(bw.bits_per_second, 6_000_000.0 * 8.0 / 2.5));
        assert!(close(bw.messages_per_second, 6.0 / 2.5));
        // Best of the whole intervals only: the short last one (3 MB in 0.5 s) does not count.
        assert!(close(
            bw.best_interval_bits_per_second.unwrap(),
            16_000_000.0
        ));
        assert_eq!(r.intervals.len(), 3);
        assert_eq!(r.intervals, d.intervals);
        assert_eq!(r.latency, None);
        let p = &r.placement;
        assert_eq!(
            (p.client.clone(), p.server.clone()),
            (Some(cpus(&[1])), Some(cpus(&[7])))
        );
        assert!(p.client_all_pinned);
        assert_eq!(p.server_all_pinned, Some(false));
        let tcp = r.tcp.as_ref().unwrap();
        assert!(!tcp.nodelay && !tcp.busy_poll);
        assert_eq!(
            (r.zerocopy.as_ref(), r.rdma.as_ref(), r.link.as_ref()),
            (None, None, None)
        );
    }

    #[test]
    fn a_bibw_result_adds_both_directions() {
        let spec = spec(TransportKind::Tcp, TestKind::Bibw);
        let client = SideOutcome {
            sent: vec![sent(5000, 5, None)],
            received: vec![stream(0, 3 * SEC, &[(1000, 1), (1000, 1), (1000, 1)], 0)],
            ..SideOutcome::default()
        };
        let to_server = direction_figures(
            Direction::ClientToServer,
            &[stream(0, 2 * SEC, &[(2000, 2), (2000, 2)], 0)],
            0,
        );
        let server = server_report(to_server, 3500);
        let r = build_result(&spec, &client, &cpus(&[0]), &server, false).unwrap();
        assert!(!r.complete);
        let bw = r.bandwidth.as_ref().unwrap();
        assert_eq!(
            direction_bytes(bw),
            [
                (Direction::ClientToServer, 4000, 5000),
                (Direction::ServerToClient, 3000, 3500)
            ]
        );
        assert_eq!((r.bytes, r.messages), (7000, 7));
        assert!(close(r.duration_s, 3.0), "the longer direction's duration");
        assert!(close(
            bw.bits_per_second,
            4000.0 * 8.0 / 2.0 + 3000.0 * 8.0 / 3.0
        ));
        assert!(close(bw.messages_per_second, 2.0 + 1.0));
        let slots: Vec<_> = r.intervals.iter().map(|i| (i.bytes, i.messages)).collect();
        assert_eq!(slots, [(3000, 3), (3000, 3), (1000, 1)]);
        assert!(close(r.intervals[0].bits_per_second, 24_000.0));
        assert!(close(bw.best_interval_bits_per_second.unwrap(), 24_000.0));
    }

    #[test]
    fn a_peers_largest_figures_are_summed_without_overflowing() {
        let spec = spec(TransportKind::Tcp, TestKind::Bibw);
        let client = SideOutcome {
            received: vec![stream(0, SEC, &[(1000, 1)], 0)],
            ..SideOutcome::default()
        };
        let mut huge = direction_figures(
            Direction::ClientToServer,
            &[stream(0, SEC, &[(1, 1)], 0)],
            0,
        )
        .unwrap();
        huge.bytes = u64::MAX;
        huge.messages = u64::MAX;
        huge.intervals[0].bytes = u64::MAX;
        huge.intervals[0].messages = u64::MAX;
        let server = server_report(Some(huge), u64::MAX);
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        assert_eq!((r.bytes, r.messages), (u64::MAX, u64::MAX));
        assert_eq!(
            (r.intervals[0].bytes, r.intervals[0].messages),
            (u64::MAX, u64::MAX)
        );
        let bw = r.bandwidth.unwrap();
        assert_eq!(bw.directions[1].sent_bytes, u64::MAX);
    }

    #[test]
    fn a_latency_result_counts_round_trips_and_both_ways_bytes() {
        let spec = spec(TransportKind::Tcp, TestKind::Lat);
        let client = SideOutcome {
            pings: vec![
                ping(&[(0, 1000), (0, 1200)], 1000, SEC / 2, 1),
                ping(&[(0, 900)], 1000, SEC / 4, 1),
            ],
            ..SideOutcome::default()
        };
        let server = SideReport {
            echoed: 3,
            ..SideReport::default()
        };
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        assert_eq!(r.messages, 3);
        assert_eq!(
            r.bytes,
            3 * 1000 * 2,
            "each round trip moves the message both ways"
        );
        assert!(close(r.duration_s, 0.5));
        let latency = r.latency.as_ref().unwrap();
        assert_eq!((latency.count, latency.warmup_round_trips), (3, 2));
        assert_eq!(r.intervals.len(), 1);
        assert_eq!(r.intervals[0].messages, 3);
        assert_eq!(r.bandwidth, None);
        assert!(
            r.tcp.as_ref().unwrap().nodelay,
            "latency tests set TCP_NODELAY"
        );
        assert_eq!(r.placement.server, None);
        assert_eq!(
            r.placement.server_all_pinned, None,
            "no server CPUs, no pinning verdict"
        );

        // Nothing measured: no figures, and no error.
        let idle = SideOutcome::default();
        let r = build_result(&spec, &idle, &cpus(&[0]), &server, false).unwrap();
        assert_eq!(
            (r.latency.as_ref(), r.bytes, r.messages, r.duration_s),
            (None, 0, 0, 0.0)
        );
    }

    #[test]
    fn a_bandwidth_trial_with_nothing_received_has_no_bandwidth() {
        let spec = spec(TransportKind::Tcp, TestKind::Bw);
        let client = SideOutcome {
            sent: vec![sent(1000, 1, None)],
            ..SideOutcome::default()
        };
        let r = build_result(&spec, &client, &cpus(&[0]), &server_report(None, 0), false).unwrap();
        assert_eq!(r.bandwidth, None);
        assert_eq!((r.bytes, r.messages, r.duration_s), (0, 0, 0.0));
        assert!(r.intervals.is_empty());
    }

    #[test]
    fn zero_copy_totals_add_both_sides_streams() {
        let mut spec = spec(TransportKind::Tcp, TestKind::Bibw);
        let client = SideOutcome {
            sent: vec![
                sent(1000, 1, Some(zc(10, 10, 4))),
                sent(1000, 1, Some(zc(5, 4, 0))),
            ],
            ..SideOutcome::default()
        };
        let mut server = server_report(None, 0);
        server.zerocopy = Some(zc(20, 20, 20));
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        assert_eq!(r.zerocopy, None, "only reported when asked for");

        spec.zerocopy = true;
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        let z = r.zerocopy.unwrap();
        let summed = ZeroCopyStats {
            sends: 35,
            completed: 34,
            copied: 24,
            enobufs_waits: 3,
        };
        assert_eq!(z.stats, summed);
        assert!(
            z.kernel_avoided_copy,
            "10 of 34 completed sends avoided the copy"
        );
        assert!(z.explanation.contains("10 of 34"), "{}", z.explanation);

        // The server's figures are a peer's: u64::MAX saturates.
        server.zerocopy = Some(ZeroCopyStats {
            sends: u64::MAX,
            completed: u64::MAX,
            copied: u64::MAX,
            enobufs_waits: u64::MAX,
        });
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        let z = r.zerocopy.unwrap().stats;
        assert_eq!(
            (z.sends, z.completed, z.copied, z.enobufs_waits),
            (u64::MAX, u64::MAX, u64::MAX, u64::MAX)
        );

        // Neither side sent with zero-copy: zero totals, and the report says nothing is known.
        let r = build_result(
            &spec,
            &SideOutcome::default(),
            &cpus(&[0]),
            &server_report(None, 0),
            true,
        )
        .unwrap();
        let z = r.zerocopy.unwrap();
        assert_eq!(z.stats, ZeroCopyStats::default());
        assert!(!z.kernel_avoided_copy);
    }

    #[test]
    fn an_rdma_bandwidth_result_has_both_sides_posted_figures() {
        let spec = spec(TransportKind::Rdma, TestKind::Bibw);
        let client = SideOutcome {
            rdma: vec![RdmaOutcome {
                posted: Some(stream(0, SEC, &[(64_000, 1)], 0)),
                ..RdmaOutcome::default()
            }],
            ..SideOutcome::default()
        };
        let server_posted = direction_figures(
            Direction::ServerToClient,
            &[stream(0, 2 * SEC, &[(32_000, 1), (32_000, 1)], 0)],
            0,
        );
        let server = SideReport {
            posted: server_posted,
            ..SideReport::default()
        };
        let r = build_result(&spec, &client, &cpus(&[0]), &server, true).unwrap();
        assert_eq!(r.op, "write");
        assert_eq!(r.tcp, None);
        let bw = r.bandwidth.as_ref().unwrap();
        assert_eq!(
            direction_bytes(bw),
            [
                (Direction::ClientToServer, 64_000, 64_000),
                (Direction::ServerToClient, 64_000, 0)
            ]
        );
        assert_eq!(r.bytes, 128_000);
        assert!(close(r.duration_s, 2.0));
        assert!(close(bw.bits_per_second, 512_000.0 + 256_000.0));
    }
}
