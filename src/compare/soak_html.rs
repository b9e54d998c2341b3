//! The soak page: one self-contained HTML file (inline SVG, no scripts) that draws one or more soaks'
//! series over time: throughput per direction with the link's flaps, the latency probe's p50 and p99,
//! pre-FEC BER per lane on a log scale with the profile's threshold, the FEC histogram bins as a heat
//! map, the module's temperature with its alarms, per-lane Rx and Tx power and Tx bias, and Rx power
//! against temperature. `linkbench-client --html` draws its own soak (thresholds from its report);
//! `linkbench-compare A.jsonl B.jsonl --format html` overlays several (the DAC against the optical
//! module). A line that cannot be read (the half line a crash leaves) is listed, never dropped silently.

use super::html::escape;
use super::timeplot::{self, colour, HeatCell, Line, TimeChart};
use crate::diag::sampler::LinkSample;
use crate::model::series::ThresholdResult;
use crate::model::{SeriesLine, SoakSummary, SERIES_SCHEMA_VERSION};
use crate::profile::figures::{dbm, link_downs};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest series read (a 24 h soak of an 8-lane module at 1 s samples is about 230 MB).
const MAX_SERIES_BYTES: u64 = 1 << 30;

/// A series that cannot be drawn.
#[derive(Debug, Error)]
pub enum SeriesReadError {
    #[error("cannot read the series {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is {bytes} bytes, more than a series can be (1 GiB); plot a shorter part of it"
    )]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error(
        "{path} holds no series line (a linkbench-client --series file, JSON Lines, is expected)"
    )]
    Empty { path: PathBuf },
    #[error(
        "{path} is series version {version}, newer than this linkbench reads ({SERIES_SCHEMA_VERSION}); \
         upgrade linkbench"
    )]
    Newer { path: PathBuf, version: String },
}

/// One soak as the page draws it.
pub struct SoakRun {
    pub label: String,
    pub lines: Vec<SeriesLine>,
    /// Lines that could not be read, and why.
    pub skipped: Vec<String>,
    /// The report's summary (thresholds), when the page is drawn from a report.
    pub summary: Option<SoakSummary>,
}

/// Reads a series file; whole lines that do not parse are listed in `skipped`.
pub fn read_series(path: &Path) -> Result<SoakRun, SeriesReadError> {
    let io = |source| SeriesReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    if bytes > MAX_SERIES_BYTES {
        return Err(SeriesReadError::TooLarge {
            path: path.to_path_buf(),
            bytes,
        });
    }
    // Bytes, not text: a crash may have cut a character in half, and only that line is lost.
    let bytes = std::fs::read(path).map_err(io)?;
    let (mut lines, mut skipped) = (Vec::new(), Vec::new());
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        // The version first: a newer major's line may not parse as this one's.
        if let Some(version) = newer_major(raw) {
            return Err(SeriesReadError::Newer {
                path: path.to_path_buf(),
                version,
            });
        }
        match serde_json::from_slice::<SeriesLine>(raw) {
            Ok(line) => lines.push(line),
            Err(e) => skipped.push(format!("line {}: {e}", i + 1)),
        }
    }
    if lines.is_empty() {
        return Err(SeriesReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(SoakRun {
        label: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
        lines,
        skipped,
        summary: None,
    })
}

/// The line's `schema_version` when its major version is newer than this linkbench's.
fn newer_major(raw: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        schema_version: String,
    }
    let major = |v: &str| v.split('.').next()?.parse::<u32>().ok();
    let line: Versioned = serde_json::from_slice(raw).ok()?;
    let ours = major(SERIES_SCHEMA_VERSION)?;
    match major(&line.schema_version) {
        Some(m) if m <= ours => None,
        _ => Some(line.schema_version),
    }
}

/// Most samples a chart draws per run: a longer series is drawn every k-th sample (the page says so);
/// flaps and alarms are marked from every sample.
const MAX_DRAWN_SAMPLES: usize = 2000;

/// Every k-th sample of a run is drawn, so that at most [`MAX_DRAWN_SAMPLES`] are.
fn stride(run: &SoakRun) -> usize {
    run.lines.len().div_ceil(MAX_DRAWN_SAMPLES).max(1)
}

/// What every chart needs: the runs, the time axis, and how to name a series.
struct Ctx<'a> {
    runs: &'a [SoakRun],
    time_unit: &'static str,
    per_unit_s: f64,
}

impl Ctx<'_> {
    /// `client lane 3`, prefixed with the run's label when several runs share the page.
    fn name(&self, run: &SoakRun, what: &str) -> String {
        if self.runs.len() > 1 {
            format!("{} {what}", run.label)
        } else {
            what.to_string()
        }
    }

    fn x(&self, line: &SeriesLine) -> f64 {
        line.elapsed_s / self.per_unit_s
    }

    /// The lines of `run` that are drawn: all of them, or every k-th of a long series.
    fn drawn<'r>(&self, run: &'r SoakRun) -> impl Iterator<Item = &'r SeriesLine> {
        run.lines.iter().step_by(stride(run))
    }

    /// Every drawn side's sample of every run: (run index, run, side, line, sample).
    fn samples(&self) -> impl Iterator<Item = (usize, &SoakRun, &str, &SeriesLine, &LinkSample)> {
        self.sides(true)
    }

    /// Every side's sample: the drawn ones, or all of them (for flap and alarm markers).
    fn sides(
        &self,
        drawn_only: bool,
    ) -> impl Iterator<Item = (usize, &SoakRun, &str, &SeriesLine, &LinkSample)> {
        self.runs.iter().enumerate().flat_map(move |(i, run)| {
            let step = if drawn_only { stride(run) } else { 1 };
            run.lines.iter().step_by(step).flat_map(move |line| {
                [("client", &line.client), ("server", &line.server)]
                    .into_iter()
                    .filter_map(move |(side, s)| s.as_ref().map(|s| (i, run, side, line, s)))
            })
        })
    }

    /// The profile's threshold `name` of any run, as a labelled line; `scale` converts its unit.
    fn limit(&self, name: &str, scale: impl Fn(f64) -> f64) -> Vec<(String, f64)> {
        let found: Option<&ThresholdResult> = self
            .runs
            .iter()
            .filter_map(|r| r.summary.as_ref())
            .flat_map(|s| s.verdict.thresholds.iter())
            .find(|t| t.name == name);
        found
            .map(|t| (format!("{name} {} ({})", t.value, t.source), scale(t.value)))
            .into_iter()
            .collect()
    }
}

/// Per-lane lines of one figure: (run, side, lane) -> points.
fn lane_lines(ctx: &Ctx<'_>, figure: impl Fn(&LinkSample) -> Vec<(u8, f64)>) -> Vec<Line> {
    lane_points(ctx, |line, sample| {
        let x = ctx.x(line);
        figure(sample)
            .into_iter()
            .map(|(lane, y)| (lane, x, y))
            .collect()
    })
}

/// Per-lane points of any two figures: `points` gives a sample's (lane, x, y); one line per run, side and
/// lane.
fn lane_points(
    ctx: &Ctx<'_>,
    points: impl Fn(&SeriesLine, &LinkSample) -> Vec<(u8, f64, f64)>,
) -> Vec<Line> {
    let mut by_key: BTreeMap<(usize, String, u8), Vec<(f64, f64)>> = BTreeMap::new();
    for (i, _, side, line, sample) in ctx.samples() {
        for (lane, x, y) in points(line, sample) {
            by_key
                .entry((i, side.to_string(), lane))
                .or_default()
                .push((x, y));
        }
    }
    by_key
        .into_iter()
        .enumerate()
        .map(|(n, ((i, side, lane), points))| Line {
            name: ctx.name(&ctx.runs[i], &format!("{side} lane {lane}")),
            points,
            colour: colour(n),
            thin: false,
        })
        .collect()
}

/// Each lane's pre-FEC BER in the sample's interval: its corrected bits over its share of the line's
/// bits; without per-lane counters, the whole port's as lane 0.
fn lane_ber(sample: &LinkSample) -> Vec<(u8, f64)> {
    let verdict = &sample.interval.verdict;
    let (Some(fec), Some(line_bits)) = (&sample.interval.delta.fec, verdict.line_bits) else {
        return Vec::new();
    };
    let lanes: Vec<(u8, u64)> = fec
        .iter()
        .filter_map(|(k, &v)| Some((k.strip_prefix("corrected_bits_lane")?.parse().ok()?, v)))
        .collect();
    if lanes.is_empty() || line_bits <= 0.0 {
        return verdict.pre_fec_ber.map(|b| (0, b)).into_iter().collect();
    }
    let per_lane = line_bits / lanes.len() as f64;
    lanes
        .into_iter()
        .map(|(lane, bits)| (lane + 1, bits as f64 / per_lane))
        .collect()
}

fn throughput_chart(ctx: &Ctx<'_>) -> String {
    let mut lines: BTreeMap<(usize, String), Vec<(f64, f64)>> = BTreeMap::new();
    for (i, run) in ctx.runs.iter().enumerate() {
        for line in ctx.drawn(run) {
            for t in &line.throughput {
                let direction = match t.direction {
                    crate::model::Direction::ClientToServer => "client->server",
                    crate::model::Direction::ServerToClient => "server->client",
                };
                lines
                    .entry((i, direction.to_string()))
                    .or_default()
                    .push((ctx.x(line), t.bits_per_second / 1e9));
            }
        }
    }
    let events = ctx
        .sides(false)
        .filter(|(.., s)| link_downs(s) > 0)
        .map(|(_, run, side, line, _)| (ctx.name(run, &format!("{side} link down")), ctx.x(line)))
        .collect();
    timeplot::time_chart(&TimeChart {
        title: "throughput per direction (payload), link flaps marked",
        time_unit: ctx.time_unit,
        y_desc: "Gbit/s".into(),
        log_y: false,
        zero_based: true,
        lines: lines
            .into_iter()
            .enumerate()
            .map(|(n, ((i, direction), points))| Line {
                name: ctx.name(&ctx.runs[i], &direction),
                points,
                colour: colour(n),
                thin: false,
            })
            .collect(),
        limits: Vec::new(),
        events,
    })
}

fn probe_chart(ctx: &Ctx<'_>) -> String {
    let mut lines = Vec::new();
    for (i, run) in ctx.runs.iter().enumerate() {
        for (figure, thin) in [("p99", false), ("p50", true)] {
            let points: Vec<(f64, f64)> = ctx
                .drawn(run)
                .filter_map(|l| {
                    let p = l.probe.as_ref()?;
                    let ns = if thin { p.p50_ns } else { p.p99_ns };
                    Some((ctx.x(l), ns? as f64 / 1e3))
                })
                .collect();
            lines.push(Line {
                name: ctx.name(run, &format!("probe {figure}")),
                points,
                colour: colour(i),
                thin,
            });
        }
    }
    timeplot::time_chart(&TimeChart {
        title: "latency probe round trip under load, per sample",
        time_unit: ctx.time_unit,
        y_desc: "round trip (us)".into(),
        log_y: true,
        zero_based: false,
        lines,
        limits: ctx.limit("max_probe_p99_us", |v| v),
        events: Vec::new(),
    })
}

fn ber_chart(ctx: &Ctx<'_>) -> String {
    let mut lines = lane_ber_lines(ctx);
    // The module's own measure (CMIS VDM, current pre-FEC BER on a media input lane).
    let vdm = lane_lines(ctx, |s| {
        s.module
            .iter()
            .flat_map(|m| m.vdm.iter())
            .filter(|o| o.type_id == 15)
            .map(|o| (o.lane, o.value))
            .collect()
    });
    let first_colour = lines.len();
    lines.extend(vdm.into_iter().enumerate().map(|(n, l)| Line {
        name: format!("{} (module VDM, media)", l.name),
        colour: colour(first_colour + n),
        thin: true,
        ..l
    }));
    for l in &mut lines {
        // Without per-lane counters the whole port's BER is drawn as "lane 0".
        l.name = l.name.replace(" lane 0", " port (all lanes)");
        // A sample without a corrected bit has no place on a log scale.
        l.points.retain(|p| p.1 > 0.0);
    }
    timeplot::time_chart(&TimeChart {
        title: "pre-FEC BER per lane, per sample interval (zero not drawn)",
        time_unit: ctx.time_unit,
        y_desc: "bit error ratio".into(),
        log_y: true,
        zero_based: false,
        lines,
        limits: [
            ctx.limit("max_pre_fec_ber", |v| v),
            ctx.limit("max_vdm_pre_fec_ber", |v| v),
        ]
        .concat(),
        events: Vec::new(),
    })
}

fn lane_ber_lines(ctx: &Ctx<'_>) -> Vec<Line> {
    lane_lines(ctx, lane_ber)
}

/// One heat map per run and side that has FEC histogram bins.
fn fec_heat_maps(ctx: &Ctx<'_>) -> Vec<String> {
    let mut cells: BTreeMap<(usize, String), Vec<HeatCell>> = BTreeMap::new();
    for (i, _, side, line, sample) in ctx.samples() {
        let Some(fec) = &sample.interval.delta.fec else {
            continue;
        };
        // A sample's counts cover the interval that ends at it.
        let from = (line.elapsed_s - sample.interval.seconds).max(0.0) / ctx.per_unit_s;
        for (key, &count) in fec {
            let bin = key
                .strip_prefix("hist_")
                .and_then(|b| b.split('_').next()?.parse::<u32>().ok());
            if let Some(bin) = bin {
                let cell = (from, ctx.x(line), f64::from(bin), count);
                cells.entry((i, side.to_string())).or_default().push(cell);
            }
        }
    }
    cells
        .into_iter()
        .map(|((i, side), cells)| {
            let title = ctx.name(
                &ctx.runs[i],
                &format!("{side}: FEC codewords per histogram bin (symbol errors), per sample"),
            );
            let bins = "bin (symbol errors per codeword)";
            timeplot::heat_map(&title, ctx.time_unit, bins, &cells)
        })
        .collect()
}

fn temperature_chart(ctx: &Ctx<'_>) -> String {
    let lines = lane_lines(ctx, |s| {
        s.module
            .as_ref()
            .and_then(|m| m.temperature_c)
            .map(|t| (0, t))
            .into_iter()
            .collect()
    });
    let lines = lines
        .into_iter()
        .map(|l| Line {
            name: l.name.replace(" lane 0", " module"),
            ..l
        })
        .collect();
    let events = ctx
        .sides(false)
        .filter(|(.., s)| {
            s.module.as_ref().is_some_and(|m| {
                m.flags.iter().flatten().any(|f| f.is_alarm())
                    || m.crossed.iter().any(|c| c.level.ends_with("_alarm"))
            })
        })
        .map(|(_, run, side, line, _)| {
            (ctx.name(run, &format!("{side} module alarm")), ctx.x(line))
        })
        .collect();
    timeplot::time_chart(&TimeChart {
        title: "module temperature, alarms marked",
        time_unit: ctx.time_unit,
        y_desc: "temperature (C)".into(),
        log_y: false,
        zero_based: false,
        lines,
        limits: ctx.limit("max_temperature_c", |v| v),
        events,
    })
}

/// A per-lane monitor over time.
fn lane_monitor_chart(
    ctx: &Ctx<'_>,
    title: &str,
    y_desc: &str,
    value: fn(&crate::diag::module::LaneMonitors) -> Option<f64>,
    limits: Vec<(String, f64)>,
) -> String {
    let lines = lane_lines(ctx, |s| {
        s.module
            .iter()
            .flat_map(|m| m.lanes.iter())
            .filter_map(|l| Some((l.lane, value(l)?)))
            .collect()
    });
    timeplot::time_chart(&TimeChart {
        title,
        time_unit: ctx.time_unit,
        y_desc: y_desc.into(),
        log_y: false,
        zero_based: false,
        lines,
        limits,
        events: Vec::new(),
    })
}

fn rx_against_temperature(ctx: &Ctx<'_>) -> String {
    let groups = lane_points(ctx, |_, sample| {
        let Some(m) = &sample.module else {
            return Vec::new();
        };
        let Some(t) = m.temperature_c else {
            return Vec::new();
        };
        m.lanes
            .iter()
            .filter_map(|l| Some((l.lane, t, dbm(l.rx_power_mw?))))
            .collect()
    });
    timeplot::scatter(
        "Rx power against module temperature, per lane",
        "temperature (C)",
        "Rx power (dBm)",
        &groups,
    )
}

/// Every chart of the page with the sentence shown when it has nothing to draw.
fn charts(ctx: &Ctx<'_>) -> Vec<(String, &'static str)> {
    let mut out = vec![
        (throughput_chart(ctx), "No sample had a throughput figure (the soak ended in its warm-up)."),
        (probe_chart(ctx), "No latency probe ran (--probe-rate)."),
        (ber_chart(ctx), "No pre-FEC BER: no sample had FEC corrected bits with a line rate (or none was above zero)."),
    ];
    let maps = fec_heat_maps(ctx);
    if maps.is_empty() {
        out.push((
            String::new(),
            "No FEC histogram: the driver exposes no histogram bins.",
        ));
    }
    out.extend(maps.into_iter().map(|m| (m, "")));
    let rx = |v: f64| v;
    out.extend([
        (
            temperature_chart(ctx),
            "No module temperature: no sample had module monitors.",
        ),
        (
            lane_monitor_chart(
                ctx,
                "Rx optical power per lane",
                "Rx power (dBm)",
                |l| l.rx_power_mw.map(dbm),
                [
                    ctx.limit("min_rx_power_dbm", rx),
                    ctx.limit("max_rx_power_dbm", rx),
                ]
                .concat(),
            ),
            "No Rx power: no sample had per-lane module monitors.",
        ),
        (
            lane_monitor_chart(
                ctx,
                "Tx optical power per lane",
                "Tx power (dBm)",
                |l| l.tx_power_mw.map(dbm),
                Vec::new(),
            ),
            "No Tx power: no sample had per-lane Tx monitors.",
        ),
        (
            lane_monitor_chart(
                ctx,
                "Tx bias current per lane",
                "Tx bias (mA)",
                |l| l.tx_bias_ma,
                Vec::new(),
            ),
            "No Tx bias: no sample had per-lane bias monitors.",
        ),
        (
            rx_against_temperature(ctx),
            "No Rx power against temperature: no sample had both.",
        ),
    ]);
    out
}

/// The page for `runs` (one soak, or several overlaid).
pub fn page(runs: &[SoakRun]) -> String {
    let span = runs
        .iter()
        .flat_map(|r| r.lines.iter().map(|l| l.elapsed_s))
        .fold(0.0, f64::max);
    let (time_unit, per_unit_s) = timeplot::time_unit(span);
    let ctx = Ctx {
        runs,
        time_unit,
        per_unit_s,
    };
    let names: Vec<String> = runs.iter().map(|r| escape(&r.label)).collect();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>linkbench soak: {}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}} .plot{{display:inline-block;margin:0.5em}} \
         .missing{{color:#666}} .fail{{color:#b00;font-weight:bold}} .pass{{color:#070}}</style></head><body>\n\
         <h1>linkbench soak: {}</h1>\n",
        names.join(", "),
        names.join(", ")
    );
    for run in runs {
        run_header(&mut out, run);
    }
    for (svg, missing) in charts(&ctx) {
        if svg.is_empty() {
            if !missing.is_empty() {
                let _ = writeln!(out, "<p class=\"missing\">{}</p>", escape(missing));
            }
        } else {
            let _ = writeln!(out, "<div class=\"plot\">{svg}</div>");
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// A run's line of facts: samples, span, verdict, replay, and lines that could not be read.
fn run_header(out: &mut String, run: &SoakRun) {
    let last = run.lines.last().map_or(0.0, |l| l.elapsed_s);
    let _ = write!(
        out,
        "<p><b>{}</b>: {} samples over {:.1} s",
        escape(&run.label),
        run.lines.len(),
        last
    );
    if let Some(s) = &run.summary {
        let (class, word) = if s.verdict.pass {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = write!(
            out,
            "; verdict <span class=\"{class}\">{word}</span>: {}",
            escape(&crate::report::table::soak_verdict_words(s))
        );
        if let Some(r) = &s.replayed {
            let _ = write!(out, "; {}", escape(r));
        }
    }
    if run.lines.iter().any(|l| {
        [&l.client, &l.server]
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s.replayed_from.is_some()))
    }) {
        out.push_str("; <b>some link samples were replayed, not live</b>");
    }
    let step = stride(run);
    if step > 1 {
        let _ = write!(
            out,
            "; charts draw every {step}th sample (flaps and alarms from every sample)"
        );
    }
    out.push_str("</p>\n");
    for why in &run.skipped {
        let _ = writeln!(
            out,
            "<p class=\"fail\">{}: left out {}</p>",
            escape(&run.label),
            escape(why)
        );
    }
}
