//! Human output: perftest-like result tables and the live per-interval lines. Each row ends with the
//! trial's CPU cost per unit of work on the client and the server side (`c/s`): data-thread
//! CPU-seconds per GB moved for bandwidth, CPU-microseconds per round trip for latency; a side whose
//! figure is missing (an older server, no accounting) shows `-`.

use crate::model::report::TestResult;
use crate::model::SideCpu;
use crate::plan::TestKind;
use crate::units::format_size;

/// Column header for a test kind.
pub fn header(test: TestKind) -> String {
    match test {
        TestKind::Bw | TestKind::Bibw => format!(
            "{:>8} {:>7} {:>5} {:>12} {:>8} {:>10} {:>10} {:>10} {:>15}",
            "#bytes",
            "streams",
            "trial",
            "messages",
            "time[s]",
            "Gbit/s",
            "Mmsg/s",
            "peak Gb/s",
            "CPU s/GB c/s"
        ),
        TestKind::Lat => format!(
            "{:>8} {:>5} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>15}   (round trip, us)",
            "#bytes", "trial", "iters", "min", "p50", "p90", "p99", "p99.9", "max", "mean", "CPU us/RT c/s"
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
            "{:>8} {:>7} {:>5} {:>12} {:>8.3} {:>10.3} {:>10.4} {:>10} {:>15}{}",
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
            cpu_cell(result, |s| s.cpu_s_per_gb),
            incomplete
        ),
        (None, Some(lat)) => {
            let us = |ns: u64| ns as f64 / 1000.0;
            let s = &lat.round_trip_ns;
            format!(
                "{:>8} {:>5} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>15}{}",
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
                cpu_cell(result, |s| s.cpu_us_per_round_trip),
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

/// Both sides' CPU cost per unit, `client/server` (see [`client_server`]).
fn cpu_cell(result: &TestResult, per_unit: fn(&SideCpu) -> Option<f64>) -> String {
    let cpu = result.cpu.as_ref();
    client_server(
        cpu.and_then(|c| c.client.as_ref()).and_then(per_unit),
        cpu.and_then(|c| c.server.as_ref()).and_then(per_unit),
    )
}

/// The line under a row with a latency probe: its round trips beside the traffic.
pub fn probe_line(probe: &crate::model::ProbeReport) -> String {
    let figures = match &probe.round_trip_ns {
        Some(l) => format!(
            "round trip p50 {} us, p99 {} us, max {} us",
            three_significant(l.p50 as f64 / 1e3),
            three_significant(l.p99 as f64 / 1e3),
            three_significant(l.max as f64 / 1e3)
        ),
        None => "no round trip completed".into(),
    };
    format!(
        "  probe under load: {} round trips of {} B at {}/s: {figures}; {} slots missed (a round trip was still out)",
        probe.count, probe.size_bytes, probe.rate_per_s, probe.missed_slots
    )
}

/// The lines under a soak's row: the series, the throughput's range and where, and every flap.
pub fn soak_lines(soak: &crate::model::SoakSummary) -> String {
    let mut out = format!(
        "  soak: {} samples every {} s in {}",
        soak.samples, soak.sample_interval_s, soak.series
    );
    for t in &soak.throughput {
        out.push_str(&format!(
            "\n  {}: {:.3} Gbit/s lowest (sample {}), {:.3} highest (sample {})",
            match t.direction {
                crate::model::Direction::ClientToServer => "client->server",
                crate::model::Direction::ServerToClient => "server->client",
            },
            t.min_bits_per_second / 1e9,
            t.min_at_sample,
            t.max_bits_per_second / 1e9,
            t.max_at_sample
        ));
    }
    if let Some(p) = &soak.probe_p99_us {
        out.push_str(&format!(
            "\n  probe: worst sample p99 {} us (sample {})",
            three_significant(p.value),
            p.sample
        ));
    }
    for f in &soak.link_flaps {
        out.push_str(&format!(
            "\n  the {} link went down in sample {} ({:.1} s)",
            f.side, f.sample, f.elapsed_s
        ));
    }
    if let Some(why) = &soak.ended_early {
        out.push_str(&format!("\n  ended early: {why}"));
    }
    for (side, f) in [
        ("client", &soak.client_figures),
        ("server", &soak.server_figures),
    ] {
        if let Some(f) = f {
            out.push_str(&format!(
                "\n  {side}: a sample cost {:.0} us on average, {:.0} at most",
                f.sample_cost_mean_us, f.sample_cost_max_us
            ));
        }
    }
    out.push_str(&format!("\n  soak verdict: {}", soak_verdict_words(soak)));
    out
}

/// `PASS`, or `FAIL:` and each failed threshold with its figure.
pub fn soak_verdict_words(soak: &crate::model::SoakSummary) -> String {
    use crate::model::series::ThresholdOutcome;
    if soak.verdict.pass {
        return "PASS".into();
    }
    let failed: Vec<String> = soak
        .verdict
        .thresholds
        .iter()
        .filter(|t| t.result == ThresholdOutcome::Fail)
        .map(|t| {
            // A bit error ratio spans orders of magnitude: scientific notation.
            let number = |v: f64| match t.unit.as_str() {
                "ratio" => format!("{v:.2e}"),
                _ if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
                _ => three_significant(v),
            };
            format!(
                "{}{} {} {} (limit {} from {}; {})",
                t.side
                    .as_deref()
                    .map(|s| format!("{s} "))
                    .unwrap_or_default(),
                t.name,
                t.measured.map(number).unwrap_or_default(),
                t.unit,
                number(t.value),
                t.source,
                t.detail
            )
        })
        .collect();
    let incomplete = soak
        .verdict
        .incomplete
        .as_ref()
        .map(|why| format!("the soak ended early ({why})"));
    format!(
        "FAIL: {}",
        incomplete
            .into_iter()
            .chain(failed)
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// A client and a server figure as `client/server`, three significant digits each, `-` for a side
/// without one: `0.214/0.350`, `18.0/-`.
pub fn client_server(client: Option<f64>, server: Option<f64>) -> String {
    let side = |v: Option<f64>| {
        v.filter(|v| v.is_finite())
            .map(three_significant)
            .unwrap_or_else(|| "-".into())
    };
    format!("{}/{}", side(client), side(server))
}

/// Three significant digits, without an exponent: 0.214, 12.3, 1534 (a larger value keeps its digits).
pub fn three_significant(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // The digits are counted after rounding, so that 99.96 is 100, not 100.0.
    let step = 10f64.powi(v.abs().log10().floor() as i32 - 2);
    let rounded = (v / step).round() * step;
    if rounded.abs() >= 100.0 {
        return format!("{v:.0}");
    }
    let decimals = (2 - rounded.abs().log10().floor() as i32).clamp(0, 9) as usize;
    format!("{rounded:.decimals$}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CpuReport, CpuSpan};

    /// The first result of a committed example report.
    fn example(name: &str) -> TestResult {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results-schema/examples")
            .join(format!("{name}.json"));
        let report: crate::report::Report =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        report.results[0].clone()
    }

    fn side(s_per_gb: Option<f64>, us_per_rt: Option<f64>) -> SideCpu {
        SideCpu {
            data_threads: 1,
            span: CpuSpan::MeasuredPhase,
            user_s: 0.1,
            system_s: 0.2,
            cores_busy: Some(0.3),
            cpu_s_per_gb: s_per_gb,
            cpu_us_per_round_trip: us_per_rt,
            host: None,
        }
    }

    fn with_cpu(mut r: TestResult, client: Option<SideCpu>, server: Option<SideCpu>) -> TestResult {
        r.cpu = Some(CpuReport {
            client,
            server,
            explanation: String::new(),
        });
        r
    }

    /// The last column of a line: the CPU cell (before any `(incomplete)` or unit note).
    fn last_column(line: &str) -> &str {
        line.split_whitespace().last().unwrap()
    }

    #[test]
    fn bandwidth_rows_end_with_both_sides_cpu_seconds_per_gb() {
        let header = header(TestKind::Bw);
        assert!(header.ends_with("peak Gb/s    CPU s/GB c/s"), "{header}");
        let bw = example("loopback-tcp-bw");
        let r = with_cpu(
            bw.clone(),
            Some(side(Some(0.2137), None)),
            Some(side(Some(0.35), None)),
        );
        let line = row(&r);
        assert_eq!(last_column(&line), "0.214/0.350");
        assert_eq!(line.len(), header.len(), "the cell sits under its header");
        // A side without the figure, and a report without any CPU figures (older than 1.4.0).
        let r = with_cpu(bw.clone(), Some(side(Some(12.345), None)), None);
        assert_eq!(last_column(&row(&r)), "12.3/-");
        let older = TestResult {
            cpu: None,
            soak: None,
            probe: None,
            ..bw.clone()
        };
        assert_eq!(last_column(&row(&older)), "-/-");
        // The example itself is a real 1.4.0 run: both sides' figures, three significant digits.
        let real = last_column(&row(&bw)).to_string();
        assert!(real.split('/').all(|s| s.parse::<f64>().is_ok()), "{real}");
    }

    #[test]
    fn latency_rows_show_both_sides_cpu_microseconds_per_round_trip() {
        let header = header(TestKind::Lat);
        assert!(
            header.ends_with("mean   CPU us/RT c/s   (round trip, us)"),
            "{header}"
        );
        let lat = example("loopback-tcp-lat");
        let r = with_cpu(
            lat,
            Some(side(None, Some(18.04))),
            Some(side(None, Some(1534.2))),
        );
        let line = row(&r);
        assert_eq!(last_column(&line), "18.0/1534");
        assert_eq!(line.len() + "   (round trip, us)".len(), header.len());
    }

    #[test]
    fn three_significant_digits_without_exponents() {
        let cells: Vec<String> = [0.0, 0.004567, 0.2137, 1.0, 99.96, 123456.0]
            .into_iter()
            .map(three_significant)
            .collect();
        assert_eq!(cells, ["0", "0.00457", "0.214", "1.00", "100", "123456"]);
    }
}
