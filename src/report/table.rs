//! Human output: perftest-like result tables and the live per-interval lines.

use crate::model::report::TestResult;
use crate::plan::TestKind;
use crate::units::format_size;

/// Column header for a test kind.
pub fn header(test: TestKind) -> String {
    match test {
        TestKind::Bw | TestKind::Bibw => format!(
            "{:>8} {:>7} {:>5} {:>12} {:>8} {:>10} {:>10} {:>10}",
            "#bytes", "streams", "trial", "messages", "time[s]", "Gbit/s", "Mmsg/s", "peak Gb/s"
        ),
        TestKind::Lat => format!(
            "{:>8} {:>5} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}   (round trip, us)",
            "#bytes", "trial", "iters", "min", "p50", "p90", "p99", "p99.9", "max", "mean"
        ),
    }
}

/// One row for a trial.
pub fn row(result: &TestResult) -> String {
    let incomplete = if result.complete {
        ""
    } else {
        "  (incomplete)"
    };
    match (&result.bandwidth, &result.latency) {
        (Some(bw), _) => format!(
            "{:>8} {:>7} {:>5} {:>12} {:>8.3} {:>10.3} {:>10.4} {:>10}{}",
            format_size(result.message_size),
            result.streams,
            result.trial,
            result.messages,
            result.duration_s,
            bw.bits_per_second / 1e9,
            bw.messages_per_second / 1e6,
            bw.best_interval_bits_per_second
                .map(|b| format!("{:.3}", b / 1e9))
                .unwrap_or_else(|| "-".into()),
            incomplete
        ),
        (None, Some(lat)) => {
            let us = |ns: u64| ns as f64 / 1000.0;
            let s = &lat.round_trip_ns;
            format!(
                "{:>8} {:>5} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}{}",
                format_size(result.message_size),
                result.trial,
                lat.count,
                us(s.min),
                us(s.p50),
                us(s.p90),
                us(s.p99),
                us(s.p99_9),
                us(s.max),
                s.mean / 1000.0,
                incomplete
            )
        }
        (None, None) => format!(
            "{:>8} {:>5}  no measurement{}",
            format_size(result.message_size),
            result.trial,
            incomplete
        ),
    }
}

/// A live line for one interval of a bandwidth test.
pub fn live_bandwidth_line(
    label: &str,
    start_s: f64,
    end_s: f64,
    bytes: u64,
    messages: u64,
) -> String {
    let seconds = (end_s - start_s).max(1e-9);
    format!(
        "  [{label}] {start_s:>6.2}-{end_s:<6.2} s  {:>10.3} Gbit/s  {:>9.4} Mmsg/s",
        bytes as f64 * 8.0 / seconds / 1e9,
        messages as f64 / seconds / 1e6
    )
}

/// A live line for one interval of a latency test (mean of the interval; percentiles are in the report).
pub fn live_latency_line(
    start_s: f64,
    end_s: f64,
    round_trips: u64,
    latency_sum_ns: u64,
) -> String {
    let mean_us = if round_trips > 0 {
        latency_sum_ns as f64 / round_trips as f64 / 1000.0
    } else {
        0.0
    };
    format!(
        "  [lat] {start_s:>6.2}-{end_s:<6.2} s  {:>10} round trips  mean {:>9.2} us",
        round_trips, mean_us
    )
}
