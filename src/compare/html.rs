//! The HTML page: one self-contained file (inline CSS and SVG, no scripts, nothing fetched) with the
//! verdict tables and three plots drawn with plotters: the latency percentile spectrum of both sides on a
//! log scale, bandwidth against message size, and every trial's value per side.

use super::load::Side;
use super::{group, render, Comparison, Grouped, MatchedResult, MetricVerdict};
use crate::plan::TestKind;
use crate::stats::LatencyRecorder;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;

const BASE_COLOUR: RGBColor = RGBColor(31, 119, 180);
const CAND_COLOUR: RGBColor = RGBColor(214, 39, 40);
const SIZE: (u32, u32) = (760, 380);

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the page for `comparison` of `baseline` against `candidates`.
pub fn page(comparison: &Comparison, baseline: &Side, candidates: &[Side]) -> String {
    let base = group(baseline);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>linkbench-compare</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:0.5em 0 1.5em}}\
         td,th{{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}} th{{background:#f3f3f3}}\
         td:first-child{{text-align:left}} .regression{{color:#b00;font-weight:bold}} .improvement{{color:#070}}\
         .plot{{display:inline-block;margin:0.5em}} h2{{margin-top:1.5em}}</style></head><body>\n\
         <h1>linkbench-compare: {}</h1>\n<p>Baseline <code>{}</code>. A regression is significant (Mann-Whitney U, \
         Holm-corrected across the metrics of each result, its CPU cost apart from its speed, alpha 0.05), larger \
         than the noise band, and its \
         bootstrap 95% interval lies wholly outside the band.</p>\n",
        escape(&render::verdict_words(comparison)),
        escape(&comparison.baseline),
    );
    for line in render::baseline_note(comparison, "").lines() {
        let _ = writeln!(out, "<p>{}</p>", escape(line));
    }
    for (cand_cmp, cand_side) in comparison.candidates.iter().zip(candidates) {
        let cand = group(cand_side);
        let _ = writeln!(
            out,
            "<h2>Candidate <code>{}</code>: {} regression(s), {} improvement(s)</h2>",
            escape(&cand_cmp.candidate),
            cand_cmp.regressions,
            cand_cmp.improvements
        );
        for t in &cand_cmp.incomplete {
            let _ = writeln!(
                out,
                "<p class=\"regression\">INCOMPLETE {}</p>",
                escape(&t.to_string())
            );
        }
        for m in &cand_cmp.matched {
            matched_section(&mut out, m, &base, &cand);
        }
        out.push_str(&plot_div(&bandwidth_by_size(&base, &cand)));
        for k in &cand_cmp.only_in_baseline {
            let _ = writeln!(
                out,
                "<p>Only in the baseline (not compared): {}</p>",
                escape(k)
            );
        }
        for k in &cand_cmp.only_in_candidate {
            let _ = writeln!(
                out,
                "<p>Only in the candidate (not compared): {}</p>",
                escape(k)
            );
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// One matched result of a candidate: its metrics table, its trial scatter and, for latency, the
/// spectrum of both sides.
fn matched_section(out: &mut String, m: &MatchedResult, base: &Grouped, cand: &Grouped) {
    let _ = writeln!(
        out,
        "<h3>{} (trials: {} vs {})</h3>",
        escape(&m.label),
        m.baseline_trials,
        m.candidate_trials
    );
    if let Some(note) = render::busy_note(m) {
        let _ = writeln!(out, "<p>{}</p>", escape(&note));
    }
    for f in &m.link_failures {
        let _ = writeln!(
            out,
            "<p class=\"regression\">link failure: {}</p>",
            escape(f)
        );
    }
    let header: String = render::HEADERS
        .iter()
        .map(|h| format!("<th>{h}</th>"))
        .collect();
    let _ = writeln!(out, "<table><tr>{header}</tr>");
    for x in &m.metrics {
        let class = match x.verdict {
            MetricVerdict::Regression => "regression",
            MetricVerdict::Improvement => "improvement",
            _ => "",
        };
        let cells: String = render::row(x)
            .cells
            .iter()
            .map(|c| format!("<td>{}</td>", escape(c)))
            .collect();
        let _ = writeln!(out, "<tr class=\"{class}\">{cells}</tr>");
    }
    let _ = writeln!(out, "</table>");
    if let Some(first) = m.metrics.first() {
        out.push_str(&plot_div(&trial_scatter(
            &m.label,
            &first.metric,
            &first.baseline_samples,
            &first.candidate_samples,
        )));
    }
    if m.key.test == TestKind::Lat {
        if let (Some(b), Some(c)) = (base.get(&m.key), cand.get(&m.key)) {
            out.push_str(&plot_div(&latency_spectrum(&m.label, b, c)));
        }
    }
}

fn plot_div(svg: &str) -> String {
    if svg.is_empty() {
        return String::new();
    }
    format!("<div class=\"plot\">{svg}</div>\n")
}

/// Every trial's value of one metric, per side.
fn trial_scatter(label: &str, metric: &str, base: &[f64], cand: &[f64]) -> String {
    let unit = render::scaled(metric, 1.0).1;
    let display = |v: &[f64]| {
        v.iter()
            .map(|&x| render::scaled(metric, x).0)
            .collect::<Vec<f64>>()
    };
    let (base, cand) = (&display(base)[..], &display(cand)[..]);
    let all: Vec<f64> = base.iter().chain(cand).copied().collect();
    if all.is_empty() {
        return String::new();
    }
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
    let trials = base.len().max(cand.len()) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(
                format!("{label}: {} per trial", render::short_name(metric)),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5f64..trials - 0.5, (lo - pad)..(hi + pad))
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc(format!("{} ({unit})", render::short_name(metric)))
            // Trials are whole numbers: a tick between two trials says nothing.
            .x_labels((trials as usize + 1).min(12))
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 && *x >= 0.0 {
                    format!("{}", x.round() as u64)
                } else {
                    String::new()
                }
            })
            .draw();
        for (values, colour, name) in [
            (base, BASE_COLOUR, "baseline"),
            (cand, CAND_COLOUR, "candidate"),
        ] {
            if let Ok(series) = chart.draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| Circle::new((i as f64, v), 5, colour.filled())),
            ) {
                series
                    .label(name)
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
            }
        }
        let _ = chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Latency against percentile, both sides, x as 1/(1-q) on a log scale (the HdrHistogram plot).
fn latency_spectrum(
    label: &str,
    base: &[crate::report::TestResult],
    cand: &[crate::report::TestResult],
) -> String {
    let merged = |results: &[crate::report::TestResult]| {
        let mut all = LatencyRecorder::new();
        for r in results.iter().filter_map(|r| r.latency.as_ref()) {
            if let Ok(h) = LatencyRecorder::decode_base64(&r.histogram) {
                let _ = all.merge(&h);
            }
        }
        all
    };
    let (b, c) = (merged(base), merged(cand));
    if b.count() == 0 || c.count() == 0 {
        return String::new();
    }
    // q = 1 - 10^(-k/10): from the median to 99.999%.
    let curve = |h: &LatencyRecorder| -> Vec<(f64, f64)> {
        (3..=50)
            .map(|k| {
                let x = 10f64.powf(k as f64 / 10.0);
                (x, h.value_at_quantile(1.0 - 1.0 / x) as f64 / 1000.0)
            })
            .collect()
    };
    let (cb, cc) = (curve(&b), curve(&c));
    let max_y = cb.iter().chain(&cc).map(|p| p.1).fold(1.0, f64::max);
    let min_y = cb
        .iter()
        .chain(&cc)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .max(0.01);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(
                format!("{label}: round-trip latency by percentile"),
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (1.9f64..110_000f64).log_scale(),
                (min_y * 0.8..max_y * 1.25).log_scale(),
            )
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("round trip (us)")
            .x_label_formatter(&|x| format!("{}%", 100.0 - 100.0 / x))
            .draw();
        for (points, colour, name) in [
            (cb, BASE_COLOUR, "baseline"),
            (cc, CAND_COLOUR, "candidate"),
        ] {
            if let Ok(series) = chart.draw_series(LineSeries::new(points, colour.stroke_width(2))) {
                series
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
            }
        }
        let _ = chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Median bandwidth against message size for the bandwidth tests of both sides.
fn bandwidth_by_size(base: &Grouped, cand: &Grouped) -> String {
    let series = |g: &Grouped| -> BTreeMap<String, Vec<(f64, f64)>> {
        let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (key, results) in g.iter().filter(|(k, _)| k.test != TestKind::Lat) {
            let values: Vec<f64> = results
                .iter()
                .filter_map(|r| r.bandwidth.as_ref().map(|b| b.bits_per_second / 1e9))
                .collect();
            if !values.is_empty() {
                let line = format!(
                    "{} x{}{}",
                    key.test,
                    key.streams,
                    if key.reverse { " reverse" } else { "" }
                );
                lines
                    .entry(line)
                    .or_default()
                    .push((key.message_size as f64, super::stats::median(&values)));
            }
        }
        lines
    };
    let (sb, sc) = (series(base), series(cand));
    let points: Vec<(f64, f64)> = sb.values().chain(sc.values()).flatten().copied().collect();
    if points.is_empty() {
        return String::new();
    }
    let mut sizes: Vec<f64> = points.iter().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let min_x = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let max_x = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(
                "bandwidth by message size (median of trials)",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            // Ticks at the sizes that ran, so one size still says which.
            .build_cartesian_2d(
                (min_x * 0.7..max_x * 1.4)
                    .log_scale()
                    .with_key_points(sizes),
                0f64..(max_y * 1.15).max(1e-6),
            )
        else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("message size (bytes)")
            .y_desc("bandwidth (Gbit/s)")
            .x_label_formatter(&|x| crate::units::format_size(x.round() as u64))
            .draw();
        for (lines, colour, side) in [
            (sb, BASE_COLOUR, "baseline"),
            (sc, CAND_COLOUR, "candidate"),
        ] {
            for (name, mut pts) in lines {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let _ = chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, colour.filled())));
                if let Ok(s) = chart.draw_series(LineSeries::new(pts, colour.stroke_width(2))) {
                    let label = format!("{side}: {name}");
                    s.label(label)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
                }
            }
        }
        let _ = chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw();
        let _ = root.present();
    }
    svg
}
