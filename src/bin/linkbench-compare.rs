//! linkbench-compare: compare reports, print the verdicts (table, Markdown, JSON or an HTML page with
//! plots), exit 0 (no regression), 1 (a regression, a link failure, a candidate trial that did not
//! complete, or output that could not be written) or 2 (bad input: a file that cannot be read or parsed,
//! is not a regular file or is larger than a report can be, an unknown schema major version, nothing to
//! compare, a baseline without one complete trial).

use clap::Parser;
use linkbench::cli::parse_or_exit;
use linkbench::compare::{self, load, render, Bands};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Markdown,
    Json,
    /// One self-contained page with SVG plots (use with --output).
    Html,
}

/// linkbench-compare: does a candidate (tonight's run, the optical module) differ from the baseline?
#[derive(Debug, Parser)]
#[command(name = "linkbench-compare", version, about, long_about = None)]
struct Args {
    /// The baseline: a report file, or a directory of reports whose trials are pooled.
    baseline: PathBuf,
    /// One or more candidates, each a report file or a directory of reports. Soak series (`.jsonl`,
    /// from `linkbench-client --series`) instead: every one is drawn on one page (`--format html`); a
    /// single series needs no candidate.
    candidates: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output here instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Noise band, METRIC=PERCENT (repeatable): bandwidth=2, latency=5, cpu=10 (the defaults), latency_p99_ns=10, ...
    #[arg(long = "threshold", value_name = "METRIC=PCT")]
    thresholds: Vec<String>,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("linkbench-compare: error: {message}");
    std::process::exit(2);
}

/// Soak series (`.jsonl`) are drawn, not tested: one page with every series overlaid.
fn draw_series(args: &Args) -> ! {
    if !matches!(args.format, Format::Html) {
        fail(
            "series files (.jsonl) are drawn on one page: add --format html --output FILE (compare the \
             soaks' reports for statistics)",
        );
    }
    let runs: Vec<_> = std::iter::once(&args.baseline)
        .chain(&args.candidates)
        .map(|p| compare::soak_html::read_series(p).unwrap_or_else(|e| fail(e)))
        .collect();
    let text = compare::soak_html::page(&runs);
    let written = match &args.output {
        Some(path) => linkbench::report::write::write_bytes_atomically(text.as_bytes(), path)
            .map_err(|e| e.to_string()),
        None => linkbench::cli::print_stdout(&text, "write it to a file with --output FILE")
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = written {
        eprintln!("linkbench-compare: error: {e}");
        std::process::exit(1);
    }
    std::process::exit(0);
}

fn is_series(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "jsonl")
}

fn main() {
    let args: Args = parse_or_exit("linkbench-compare");
    let series = std::iter::once(&args.baseline)
        .chain(&args.candidates)
        .filter(|p| is_series(p))
        .count();
    match series {
        0 if args.candidates.is_empty() => fail(
            "give a candidate after the baseline: linkbench-compare BASELINE CANDIDATE... (or soak series, \
             .jsonl, to draw)",
        ),
        0 => {}
        n if n == args.candidates.len() + 1 => draw_series(&args),
        _ => fail("give either reports or soak series (.jsonl), not both"),
    }
    let mut bands = Bands::default();
    for t in &args.thresholds {
        bands.set(t).unwrap_or_else(|e| fail(e));
    }
    let baseline = load::read_side(&args.baseline).unwrap_or_else(|e| fail(e));
    let candidates: Vec<_> = args
        .candidates
        .iter()
        .map(|c| load::read_side(c).unwrap_or_else(|e| fail(e)))
        .collect();
    let comparison = compare::compare(&baseline, &candidates, &bands).unwrap_or_else(|e| fail(e));
    let text = match args.format {
        Format::Table => render::table(
            &comparison,
            args.output.is_none() && std::io::stdout().is_terminal(),
        ),
        Format::Markdown => render::markdown(&comparison),
        Format::Json => render::json(&comparison),
        Format::Html => compare::html::page(&comparison, &baseline, &candidates),
    };
    let written = match &args.output {
        Some(path) => {
            linkbench::report::write::write_bytes_atomically(text.trim_end().as_bytes(), path)
                .map_err(|e| e.to_string())
        }
        None => linkbench::cli::print_stdout(&text, "write it to a file with --output FILE")
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = written {
        eprintln!("linkbench-compare: error: {e}");
        std::process::exit(1);
    }
    // Said on stderr too, so a CI log shows it whatever --format and --output are.
    for c in comparison.candidates.iter() {
        if let Some(first) = c.incomplete.first() {
            eprintln!(
                "linkbench-compare: error: candidate {}: {} trial(s) did not complete (first: {first}); \
                 a run that did not complete cannot pass",
                c.candidate,
                c.incomplete.len()
            );
        }
    }
    std::process::exit(if comparison.failed { 1 } else { 0 });
}
