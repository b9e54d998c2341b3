//! Output of a comparison: a table for the terminal (coloured when it is one), Markdown for a PR or a
//! wiki, and JSON for machines. Values are shown in Gbit/s, Mmsg/s and microseconds; CPU cost in
//! CPU-seconds per GB (`s/GB`) and CPU-microseconds per round trip (`us/RT`), as the report has them.

use super::{
    CandidateComparison, Comparison, MatchedResult, MetricComparison, MetricVerdict, METRICS,
};
use std::fmt::Write;

/// A metric's value in its display unit (Gbit/s, Mmsg/s, us, s/GB, us/RT), with the unit.
pub fn scaled(metric: &str, value: f64) -> (f64, &'static str) {
    let unit = METRICS
        .iter()
        .find(|m| m.name == metric)
        .map(|m| m.unit)
        .unwrap_or("");
    let divisor = match unit {
        "Gbit/s" => 1e9,
        "Mmsg/s" => 1e6,
        "us" => 1e3,
        // CPU cost is reported in its display units already.
        _ => 1.0,
    };
    (value / divisor, unit)
}

/// Four significant digits: 1.913, 0.001825, 54.21.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{v:.decimals$}")
}

/// The metric as a person says it: `bandwidth`, `latency p99`.
pub fn short_name(metric: &str) -> &str {
    match metric {
        "bits_per_second" => "bandwidth",
        "messages_per_second" => "message rate",
        "latency_p50_ns" => "latency p50",
        "latency_p99_ns" => "latency p99",
        "latency_p99_9_ns" => "latency p99.9",
        "latency_max_ns" => "latency max",
        "client_cpu_s_per_gb" | "client_cpu_us_per_round_trip" => "client CPU",
        "server_cpu_s_per_gb" | "server_cpu_us_per_round_trip" => "server CPU",
        other => other,
    }
}

fn verdict_text(v: MetricVerdict) -> &'static str {
    match v {
        MetricVerdict::Regression => "REGRESSION",
        MetricVerdict::Improvement => "improvement",
        MetricVerdict::NoChange => "no change",
        MetricVerdict::NotEnoughTrials => "not enough trials",
        MetricVerdict::HostBusy => "not judged: host busy",
    }
}

/// The change in percent, or `n/a` when the baseline median is zero (no ratio exists).
fn change_text(m: &MetricComparison) -> String {
    if m.change_percent.is_finite() {
        format!("{:+.1}% (band {:.0}%)", m.change_percent, m.band_percent)
    } else {
        format!("n/a (band {:.0}%)", m.band_percent)
    }
}

/// The verdict, with the trials a "not enough trials" needs.
fn verdict_cell(m: &MetricComparison) -> String {
    match (m.verdict, m.trials_needed) {
        (MetricVerdict::NotEnoughTrials, Some(t))
            if m.baseline_samples.len() != m.candidate_samples.len() =>
        {
            format!(
                "not enough trials (needs {} a side, or {} beside the other side's {})",
                t.per_side,
                t.smaller_side,
                m.baseline_samples.len().max(m.candidate_samples.len())
            )
        }
        (MetricVerdict::NotEnoughTrials, Some(t)) => {
            format!("not enough trials (needs {} a side)", t.per_side)
        }
        (v, _) => verdict_text(v).to_string(),
    }
}

/// One metric as display cells (see [`HEADERS`]).
pub struct Row {
    pub cells: [String; 7],
    pub verdict: MetricVerdict,
}

/// Display cells for one metric, in display units.
pub fn row(m: &MetricComparison) -> Row {
    let (b, unit) = scaled(&m.metric, m.baseline_median);
    let (c, _) = scaled(&m.metric, m.candidate_median);
    let ci = match m.ci_percent {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() => format!("[{lo:+.1}, {hi:+.1}]"),
        Some(_) => "n/a".into(),
        None => "-".into(),
    };
    let p = m
        .p_adjusted
        .map(|p| format!("{p:.3}"))
        .unwrap_or_else(|| "-".into());
    Row {
        cells: [
            format!("{} ({unit})", short_name(&m.metric)),
            significant(b),
            significant(c),
            change_text(m),
            ci,
            p,
            verdict_cell(m),
        ],
        verdict: m.verdict,
    }
}

/// Column names of every rendering.
pub const HEADERS: [&str; 7] = [
    "metric",
    "baseline",
    "candidate",
    "change",
    "95% CI (%)",
    "p (Holm)",
    "verdict",
];

/// The overall verdict in words: `REGRESSION`, `INCOMPLETE`, both, or `no regression`.
pub fn verdict_words(c: &Comparison) -> String {
    let incomplete = c.candidates.iter().any(|x| !x.incomplete.is_empty());
    match (c.regressed, incomplete) {
        (true, true) => "REGRESSION and INCOMPLETE candidate trials".into(),
        (true, false) => "REGRESSION".into(),
        (false, true) => "INCOMPLETE candidate trials".into(),
        (false, false) => "no regression".into(),
    }
}

/// The baseline's incomplete trials, one line each, after a heading line; nothing when there are none.
pub fn baseline_note(c: &Comparison, bullet: &str) -> String {
    let mut out = String::new();
    if !c.baseline_incomplete.is_empty() {
        let _ = writeln!(
            out,
            "baseline {}: {} incomplete trial(s) left out of the statistics (not a failure of the candidate):",
            c.baseline,
            c.baseline_incomplete.len()
        );
        for t in &c.baseline_incomplete {
            let _ = writeln!(out, "{bullet}{t}");
        }
    }
    out
}

fn table_result(out: &mut String, m: &MatchedResult, colour: bool) {
    let _ = writeln!(
        out,
        "\n{}  (trials: {} vs {}{})",
        m.label,
        m.baseline_trials,
        m.candidate_trials,
        if m.baseline_incomplete + m.candidate_incomplete > 0 {
            format!(
                "; incomplete left out: {} vs {}",
                m.baseline_incomplete, m.candidate_incomplete
            )
        } else {
            String::new()
        }
    );
    let rows: Vec<Row> = m.metrics.iter().map(row).collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(&r.cells) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "  {}", line(&HEADERS.map(String::from)));
    for r in rows {
        let text = line(&r.cells);
        let painted = match (colour, r.verdict) {
            (true, MetricVerdict::Regression) => format!("\x1b[31m{text}\x1b[0m"),
            (true, MetricVerdict::Improvement) => format!("\x1b[32m{text}\x1b[0m"),
            _ => text,
        };
        let _ = writeln!(out, "  {}", painted.trim_end());
    }
    if let Some(note) = busy_note(m) {
        let _ = writeln!(out, "  {note}");
    }
}

/// Why a result's CPU cost is not judged: the first busy trial and how many there were.
pub fn busy_note(m: &MatchedResult) -> Option<String> {
    let first = m.busy_hosts.first()?;
    let more = match m.busy_hosts.len() {
        1 => String::new(),
        n => format!(" (and {} more trial(s))", n - 1),
    };
    Some(format!(
        "CPU cost not judged, a host was busy with other work: {first}{more}"
    ))
}

fn table_candidate_notes(out: &mut String, cand: &CandidateComparison) {
    for f in cand
        .matched
        .iter()
        .flat_map(|m| m.link_failures.iter().map(move |f| (m, f)))
    {
        let _ = writeln!(out, "\nLINK FAILURE {}: {}", f.0.label, f.1);
    }
    for t in &cand.incomplete {
        let _ = writeln!(out, "\nINCOMPLETE {t}");
    }
    for k in &cand.only_in_baseline {
        let _ = writeln!(out, "\nonly in the baseline (not compared): {k}");
    }
    for k in &cand.only_in_candidate {
        let _ = writeln!(out, "\nonly in the candidate (not compared): {k}");
    }
    let mut extra = String::new();
    if cand.link_failures > 0 {
        let _ = write!(extra, ", {} link failure(s)", cand.link_failures);
    }
    if !cand.incomplete.is_empty() {
        let _ = write!(extra, ", {} incomplete trial(s)", cand.incomplete.len());
    }
    let _ = writeln!(
        out,
        "\n{}: {} regression(s), {} improvement(s){extra}",
        cand.candidate, cand.regressions, cand.improvements
    );
}

/// The terminal table; `colour` adds ANSI colours to verdicts.
pub fn table(c: &Comparison, colour: bool) -> String {
    let mut out = baseline_note(c, "  ");
    for cand in &c.candidates {
        let _ = writeln!(
            out,
            "baseline {}  vs  candidate {}",
            c.baseline, cand.candidate
        );
        for m in &cand.matched {
            table_result(&mut out, m, colour);
        }
        table_candidate_notes(&mut out, cand);
    }
    let _ = writeln!(out, "verdict: {}", verdict_words(c));
    out
}

/// A Markdown report.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# linkbench-compare\n");
    let _ = writeln!(out, "Baseline: `{}`\n", c.baseline);
    let note = baseline_note(c, "- ");
    if !note.is_empty() {
        let _ = writeln!(out, "{note}");
    }
    for cand in &c.candidates {
        let _ = writeln!(
            out,
            "## Candidate `{}`: {} regression(s), {} improvement(s){}\n",
            cand.candidate,
            cand.regressions,
            cand.improvements,
            match cand.incomplete.len() {
                0 => String::new(),
                n => format!(", {n} incomplete trial(s)"),
            }
        );
        for m in &cand.matched {
            let _ = writeln!(
                out,
                "### {} (trials: {} vs {})\n",
                m.label, m.baseline_trials, m.candidate_trials
            );
            let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(HEADERS.len()));
            for r in m.metrics.iter().map(row) {
                let mut cells = r.cells.clone();
                if r.verdict == MetricVerdict::Regression {
                    cells[6] = format!("**{}**", cells[6]);
                }
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            for f in &m.link_failures {
                let _ = writeln!(out, "- **link failure**: {f}");
            }
            if let Some(note) = busy_note(m) {
                let _ = writeln!(out, "- {note}");
            }
            let _ = writeln!(out);
        }
        for t in &cand.incomplete {
            let _ = writeln!(out, "- **INCOMPLETE** {t}");
        }
        for k in &cand.only_in_baseline {
            let _ = writeln!(out, "- only in the baseline (not compared): {k}");
        }
        for k in &cand.only_in_candidate {
            let _ = writeln!(out, "- only in the candidate (not compared): {k}");
        }
    }
    let _ = writeln!(out, "\n**Verdict: {}**", verdict_words(c));
    let _ = writeln!(
        out,
        "\nA regression is significant (Mann-Whitney U, Holm-corrected across the metrics of each result, its CPU cost apart from its speed, alpha {}), beyond the noise band, with its \
         bootstrap 95% interval wholly outside the band; CPU cost measured while a host was busy with other work is not judged; fewer than {} trials per side give no verdict; a candidate \
         trial that did not complete fails the comparison.",
        c.alpha, c.min_trials
    );
    out
}

/// Machine-readable verdicts.
pub fn json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("a comparison serialises") + "\n"
}
