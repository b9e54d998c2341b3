//! Charts over time for the soak page, drawn with plotters into inline SVG: lines (linear or log y),
//! with threshold lines across and event markers (flaps, alarms) down; a heat map of counts per bin and
//! time; a scatter of one figure against another. Every axis says its unit; a chart with nothing to
//! draw is an empty string, and the page says why instead.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

const SIZE: (u32, u32) = (760, 360);

/// Distinct colours for series (Tableau 10), cycled.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of series `i`.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One line of a chart.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
    /// Drawn dashed-looking (thin) instead of thick: a second figure of the same source (p50 beside p99).
    pub thin: bool,
}

/// A chart of lines against time.
pub struct TimeChart<'a> {
    pub title: &'a str,
    /// The time axis' unit: `s`, `min` or `h`.
    pub time_unit: &'a str,
    pub y_desc: String,
    pub log_y: bool,
    /// The linear y axis starts at zero (a rate), rather than hugging the data (a temperature).
    pub zero_based: bool,
    pub lines: Vec<Line>,
    /// Horizontal lines: (label, y), e.g. a profile's threshold.
    pub limits: Vec<(String, f64)>,
    /// Vertical markers: (label, x), e.g. a flap.
    pub events: Vec<(String, f64)>,
}

/// The time unit that suits a soak of `seconds`, and its length in seconds.
pub fn time_unit(seconds: f64) -> (&'static str, f64) {
    if seconds >= 3.0 * 3600.0 {
        ("h", 3600.0)
    } else if seconds >= 180.0 {
        ("min", 60.0)
    } else {
        ("s", 1.0)
    }
}

/// The y range of `values` (with the limits), padded; for a log axis only positive values count.
fn y_range(values: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return None;
    }
    Some(if log {
        (lo / 2.0, hi * 2.0)
    } else {
        let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.05).max(1e-9);
        (lo - pad, hi + pad)
    })
}

/// Draws the chart; empty when no line has a point.
pub fn time_chart(chart: &TimeChart<'_>) -> String {
    let xs = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0));
    let x_max = xs.fold(0.0, f64::max).max(1e-9);
    let ys = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(chart.limits.iter().map(|l| l.1));
    let Some((y_lo, y_hi)) = y_range(ys, chart.log_y) else {
        return String::new();
    };
    let y_lo = if chart.zero_based && !chart.log_y {
        y_lo.min(0.0)
    } else {
        y_lo
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let x_desc = format!("time since the soak started ({})", chart.time_unit);
        if chart.log_y {
            let Ok(mut c) = builder(&root, chart.title)
                .build_cartesian_2d(0f64..x_max * 1.02, (y_lo..y_hi).log_scale())
            else {
                return String::new();
            };
            let _ = c
                .configure_mesh()
                .x_desc(&x_desc)
                .y_desc(&chart.y_desc)
                .y_label_formatter(&|v| log_label(*v))
                .draw();
            draw_lines(&mut c, chart, (y_lo, y_hi));
        } else {
            let Ok(mut c) =
                builder(&root, chart.title).build_cartesian_2d(0f64..x_max * 1.02, y_lo..y_hi)
            else {
                return String::new();
            };
            let _ = c
                .configure_mesh()
                .x_desc(&x_desc)
                .y_desc(&chart.y_desc)
                .draw();
            draw_lines(&mut c, chart, (y_lo, y_hi));
        }
        let _ = root.present();
    }
    svg
}

/// A log axis' label: plain between 0.01 and a million (microseconds), else scientific (a BER).
fn log_label(v: f64) -> String {
    if (0.01..1e6).contains(&v) {
        crate::report::table::three_significant(v)
    } else {
        format!("{v:.0e}")
    }
}

/// A chart's frame: its title, margins and label areas.
fn builder<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80);
    b
}

/// The lines, the limits across and the events down, and the legend.
fn draw_lines<'a, 'b: 'a, Y>(
    c: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>,
    chart: &TimeChart<'_>,
    (y_lo, y_hi): (f64, f64),
) where
    Y: Ranged<ValueType = f64>,
{
    for line in &chart.lines {
        let colour = line.colour;
        let width = if line.thin { 1 } else { 2 };
        if let Ok(s) = c.draw_series(LineSeries::new(
            line.points.iter().copied(),
            colour.stroke_width(width),
        )) {
            s.label(line.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width))
            });
        }
    }
    let x_max = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(0.0, f64::max);
    for (label, y) in &chart.limits {
        let limit = RGBColor(120, 0, 0);
        if let Ok(s) = c.draw_series(LineSeries::new(
            vec![(0.0, *y), (x_max, *y)],
            limit.stroke_width(1),
        )) {
            s.label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], limit));
        }
    }
    for (i, (label, x)) in chart.events.iter().enumerate() {
        let event = RGBColor(0, 0, 0);
        let drawn = c.draw_series(LineSeries::new(
            vec![(*x, y_lo), (*x, y_hi)],
            event.stroke_width(1),
        ));
        // One legend entry for all events of the chart.
        if let (0, Ok(s)) = (i, drawn) {
            s.label(label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], event)
            });
        }
    }
    let _ = c
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw();
}

/// A heat map's cell: (interval start, interval end, bin, count).
pub type HeatCell = (f64, f64, f64, u64);

/// A heat map: one cell per (sample interval, bin), coloured by `log10(count + 1)` of the largest count.
pub fn heat_map(title: &str, time_unit: &str, bin_desc: &str, cells: &[HeatCell]) -> String {
    let max = cells.iter().map(|c| c.3).max().unwrap_or(0);
    if cells.is_empty() {
        return String::new();
    }
    let x_max = cells.iter().map(|c| c.1).fold(0.0, f64::max).max(1e-9);
    let y_max = cells.iter().map(|c| c.2).fold(0.0, f64::max) + 1.0;
    let scale = ((max + 1) as f64).log10().max(1e-9);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut c) = builder(&root, title).build_cartesian_2d(0f64..x_max, 0f64..y_max) else {
            return String::new();
        };
        let _ = c
            .configure_mesh()
            .x_desc(format!("time since the soak started ({time_unit})"))
            .y_desc(bin_desc)
            .y_label_formatter(&|v| format!("{}", v.floor()))
            .draw();
        let _ = c.draw_series(cells.iter().map(|&(from, to, bin, count)| {
            let heat = ((count + 1) as f64).log10() / scale;
            let shade = (255.0 * (1.0 - heat)).round() as u8;
            let fill = if count == 0 {
                RGBColor(245, 245, 245)
            } else {
                RGBColor(255, shade, shade / 2)
            };
            Rectangle::new([(from, bin), (to, bin + 1.0)], fill.filled())
        }));
        let _ = root.present();
    }
    svg
}

/// One figure against another, a colour per group.
pub fn scatter(title: &str, x_desc: &str, y_desc: &str, groups: &[Line]) -> String {
    let points: Vec<(f64, f64)> = groups.iter().flat_map(|g| g.points.clone()).collect();
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (
        y_range(points.iter().map(|p| p.0), false),
        y_range(points.iter().map(|p| p.1), false),
    ) else {
        return String::new();
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        else {
            return String::new();
        };
        let _ = c.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw();
        for g in groups {
            let colour = g.colour;
            if let Ok(s) =
                c.draw_series(g.points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            {
                s.label(g.name.clone())
                    .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.filled()));
            }
        }
        let _ = c
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw();
        let _ = root.present();
    }
    svg
}
