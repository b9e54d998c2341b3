//! summary.html: a self-contained page with, per suite and test, a client x server matrix of Gbit/s
//! (green passed, red failed, grey error; the deeper the colour, the faster the pair) with each pair's
//! CPU cost and host utilization under its figure, the suspects, and each `[[compare]]`'s table. Every
//! name is HTML-escaped.

use crate::model::{PairCpu, PairOutcome, Summary, Verdict};
use linkbench::compare::html::escape as esc;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The page.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>linkbench-harness {}</title><style>\
         body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;margin:1em 0}} \
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} .pass{{background:#cfc}} \
         .fail{{background:#f99}} .error{{background:#ccc}} .none{{background:#fff}}</style></head><body>\n\
         <h1>linkbench-harness: {}</h1><p>{} passed, {} failed, {} errors. Cells: Gbit/s (10^9 bit/s of \
         payload) from the row's client to the column's server; green passed, red failed, grey error; the deeper \
         the colour, the faster the pair. Under a figure, when the reports have them: each side's data-thread CPU \
         cost per unit (client/server, CPU-seconds per GB or CPU-microseconds per round trip) and each host's CPU \
         utilization while it measured.</p>\n",
        esc(&s.plan),
        esc(&s.plan),
        s.passed,
        s.failed,
        s.errors
    );
    if !s.suspects.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"fail\">Suspect: {}</p>",
            esc(&s.suspects.join(", "))
        );
    }
    let groups: BTreeSet<(String, String)> = s
        .pairs
        .iter()
        .map(|o| (o.suite.clone(), o.test.clone()))
        .collect();
    for (suite, test) in groups {
        matrix(&mut out, s, &suite, &test);
    }
    modules(&mut out, s);
    for c in &s.comparisons {
        let _ = writeln!(
            out,
            "<h2>suite {} against suite {}</h2><pre>{}</pre>",
            esc(&c.candidate),
            esc(&c.baseline),
            esc(c.error.as_deref().unwrap_or(&c.table))
        );
    }
    out + "</body></html>\n"
}

/// A soak suite's modules: a row each with its verdict and what failed.
fn modules(out: &mut String, s: &Summary) {
    let rows = s.module_rows();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "<h2>modules soaked</h2><table><tr><th>suite</th><th>host</th><th>interface</th><th>part number</th>\
         <th>serial</th><th>verdict</th><th>failed</th></tr>\n",
    );
    for (o, m) in rows {
        let or = |v: &Option<String>, none: &str| esc(v.as_deref().unwrap_or(none));
        let class = match m.verdict {
            crate::model::Verdict::Pass => "pass",
            crate::model::Verdict::Fail => "fail",
            crate::model::Verdict::Error => "error",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}{}</td></tr>",
            esc(&o.suite),
            esc(&m.host),
            or(&m.interface, "-"),
            or(&m.part_number, "(no module)"),
            or(&m.serial_number, "-"),
            m.verdict.shout(),
            esc(&m.failed.join("; ")),
            if m.replayed.is_some() { " (replayed)" } else { "" }
        );
    }
    out.push_str("</table>\n");
}

/// One suite and test: a heading and its client x server table.
fn matrix(out: &mut String, summary: &Summary, suite: &str, test: &str) {
    let cells: Vec<&PairOutcome> = summary
        .pairs
        .iter()
        .filter(|o| o.suite == suite && o.test == test)
        .collect();
    let clients: BTreeSet<&String> = cells.iter().map(|o| &o.client).collect();
    let servers: BTreeSet<&String> = cells.iter().map(|o| &o.server).collect();
    let top = cells
        .iter()
        .filter_map(|o| o.bits_per_second)
        .fold(0.0f64, f64::max);
    let _ = writeln!(
        out,
        "<h2>suite {} &middot; {}</h2><table><tr><th>client \\ server</th>",
        esc(suite),
        esc(test)
    );
    for server in &servers {
        let _ = write!(out, "<th>{}</th>", esc(server));
    }
    let _ = writeln!(out, "</tr>");
    for client in &clients {
        let _ = write!(out, "<tr><th>{}</th>", esc(client));
        for server in &servers {
            match cells
                .iter()
                .find(|o| &o.client == *client && &o.server == *server)
            {
                Some(o) => *out += &cell(o, top),
                None => *out += "<td class=\"none\"></td>",
            }
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>");
}

/// One pair's cell: its figure, coloured by verdict and shaded against the group's fastest (`top`).
fn cell(o: &PairOutcome, top: f64) -> String {
    let text = o
        .bits_per_second
        .map(|b| format!("{:.3}", b / 1e9))
        .or(o.latency_p99_ns.map(|p| format!("p99 {:.1} us", p / 1e3)))
        .unwrap_or_else(|| "error".into());
    // Heat: the faster the pair, the deeper its colour (green passed, red failed).
    let style = match (o.verdict, o.bits_per_second) {
        (Verdict::Error, _) | (_, None) => String::new(),
        (v, Some(b)) if top > 0.0 => format!(
            " style=\"background:hsl({},70%,{:.0}%)\"",
            if v == Verdict::Pass { 120 } else { 0 },
            88.0 - 30.0 * (b / top)
        ),
        _ => String::new(),
    };
    format!(
        "<td class=\"{}\"{style} title=\"{}\">{}{}</td>",
        o.verdict.shout().to_lowercase(),
        esc(&o.reason),
        esc(&text),
        o.cpu.as_ref().map(cpu_note).unwrap_or_default()
    )
}

/// The CPU figures under a cell's figure: `<br><small>CPU c/s 0.214/0.350 s/GB; host 12.0%/30.5%</small>`;
/// empty when there are none.
fn cpu_note(cpu: &PairCpu) -> String {
    let parts: Vec<String> = [
        cpu.per_unit_text().map(|t| format!("CPU c/s {t}")),
        cpu.host_text().map(|t| format!("host {t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!("<br><small>{}</small>", esc(&parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::outcome;

    #[test]
    fn cells_are_shaded_by_speed_against_the_fastest_pair() {
        let fast = outcome("a", "b", Verdict::Pass, Some(2e9));
        assert_eq!(
            cell(&fast, 2e9),
            "<td class=\"pass\" style=\"background:hsl(120,70%,58%)\" title=\"\">2.000</td>"
        );
        let slow = outcome("a", "c", Verdict::Fail, Some(0.5e9));
        assert_eq!(
            cell(&slow, 2e9),
            "<td class=\"fail\" style=\"background:hsl(0,70%,80%)\" title=\"slow &quot;link&quot; &lt;x&gt;\">0.500</td>"
        );
        // Nothing to shade against: no style.
        assert!(!cell(&outcome("a", "b", Verdict::Pass, Some(0.0)), 0.0).contains("style"));
        let mut lat = outcome("a", "b", Verdict::Pass, None);
        lat.latency_p99_ns = Some(23_456.0);
        assert!(cell(&lat, 2e9).ends_with(">p99 23.5 us</td>"));
        let err = outcome("a", "b", Verdict::Error, None);
        assert!(cell(&err, 2e9).starts_with("<td class=\"error\" title="));
        assert!(cell(&err, 2e9).ends_with(">error</td>"));
    }

    #[test]
    fn a_cell_carries_both_sides_cpu_cost_and_host_utilization() {
        let side = |s_per_gb, util| crate::model::SideCpuFigures {
            cpu_s_per_gb: Some(s_per_gb),
            cpu_us_per_round_trip: None,
            host_utilization_percent: util,
        };
        let mut o = outcome("a", "b", Verdict::Pass, Some(2e9));
        o.cpu = Some(PairCpu {
            client: Some(side(0.2137, Some(12.04))),
            server: Some(side(0.35, None)),
        });
        assert!(
            cell(&o, 2e9)
                .ends_with(">2.000<br><small>CPU c/s 0.214/0.350 s/GB; host 12.0%/-</small></td>"),
            "{}",
            cell(&o, 2e9)
        );
        // Figures without either: nothing under the cell's figure.
        o.cpu = Some(PairCpu {
            client: None,
            server: None,
        });
        assert!(cell(&o, 2e9).ends_with(">2.000</td>"));
    }

    #[test]
    fn a_matrix_leaves_pairs_that_did_not_run_empty() {
        let s = crate::model::Summary::new(
            "p",
            "Local",
            "t".into(),
            vec![
                outcome("a", "b", Verdict::Pass, Some(1e9)),
                outcome("b", "c", Verdict::Pass, Some(1e9)),
            ],
            Vec::new(),
        );
        let mut out = String::new();
        matrix(&mut out, &s, "suite0", "tcp bw 64K x1");
        assert!(
            out.contains("<tr><th>client \\ server</th>\n<th>b</th><th>c</th></tr>\n"),
            "{out}"
        );
        assert!(out.contains("<tr><th>a</th><td class=\"pass\""), "{out}");
        assert_eq!(
            out.matches("<td class=\"none\"></td>").count(),
            2,
            "a->c and b->b"
        );
    }
}
