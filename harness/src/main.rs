//! linkbench-harness: `run PLAN --out DIR [--baseline DIR]`, `check PLAN`, `summary DIR`.
//! Exit codes: 0 every pair passed (and no comparison regressed), 1 some pair failed or ended in an
//! error (or standard output could not be written; the files in DIR are written first), 2 bad input (a plan that cannot be read or is invalid, an output directory that cannot be made).

use clap::{Parser, Subcommand};
use linkbench_harness::{baseline, export, model::Summary, plan::Plan, runner, schedule};
use std::path::PathBuf;

/// linkbench-harness: run linkbench over many host pairs.
#[derive(Debug, Parser)]
#[command(name = "linkbench-harness", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a plan and write reports, summary.json, summary.html, junit.xml and linkbench.prom to DIR.
    Run {
        plan: PathBuf,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// An earlier run's output directory: compare each pair with it (nightly regression).
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
    },
    /// Validate a plan and print its schedule and estimated time.
    Check { plan: PathBuf },
    /// Print the summary of an earlier run.
    Summary { dir: PathBuf },
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("linkbench-harness: error: {message}");
    std::process::exit(2);
}

/// Prints to standard output; a full disk or closed pipe is one error line and exit 1, never a panic.
fn print_or_exit(text: &str) {
    if let Err(e) = linkbench::cli::print_stdout(text, "redirect it to a file with room") {
        eprintln!("linkbench-harness: error: {e}");
        std::process::exit(1);
    }
}

fn main() {
    let args: Args = linkbench::cli::parse_or_exit("linkbench-harness");
    match args.command {
        Cmd::Check { plan } => {
            let plan = Plan::load(&plan).unwrap_or_else(|e| fail(e));
            print_or_exit(&schedule::describe(&plan, &schedule::schedule(&plan)));
        }
        Cmd::Summary { dir } => {
            let s = Summary::read(&dir).unwrap_or_else(|e| fail(e));
            print_or_exit(&export::table::render(&s));
            std::process::exit(if s.all_passed() { 0 } else { 1 });
        }
        Cmd::Run {
            plan,
            out,
            baseline: base,
        } => {
            let plan = Plan::load(&plan).unwrap_or_else(|e| fail(e));
            if let Some(b) = &base {
                Summary::read(b).unwrap_or_else(|e| fail(format!("--baseline: {e}")));
            }
            std::fs::create_dir_all(&out).unwrap_or_else(|e| {
                fail(format!(
                    "cannot create the output directory {}: {e}",
                    out.display()
                ))
            });
            let sched = schedule::schedule(&plan);
            eprint!("{}", schedule::describe(&plan, &sched));
            let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let mut outcomes = runner::run(&plan, &sched, &out);
            if let Some(b) = &base {
                if let Err(e) = baseline::against_baseline(&mut outcomes, &out, b) {
                    eprintln!("linkbench-harness: warning: baseline comparison skipped: {e}");
                }
            }
            let comparisons = plan
                .compare
                .iter()
                .map(|c| baseline::suites(&outcomes, &out, &c.baseline, &c.candidate))
                .collect();
            let summary = Summary::new(
                &plan.name,
                &format!("{:?}", plan.launcher.kind),
                started,
                outcomes,
                comparisons,
            );
            if let Err(e) = export::write_all(&summary, &out) {
                eprintln!(
                    "linkbench-harness: error: cannot write the summary to {}: {e}",
                    out.display()
                );
                std::process::exit(1);
            }
            print_or_exit(&export::table::render(&summary));
            eprintln!(
                "linkbench-harness: summary, HTML, JUnit and Prometheus files in {}",
                out.display()
            );
            std::process::exit(if summary.all_passed() { 0 } else { 1 });
        }
    }
}
