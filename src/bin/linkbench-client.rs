//! linkbench-client: parse arguments, run the plan, print the table, write the report (and a soak's
//! page with `--html`).
//! Exit codes: 0 every trial complete; 1 the run failed or ended early (the report says why), or the
//! report could not be written; 2 bad input (a flag, a `--json` destination that cannot be written,
//! found before anything runs, or a request the server refused as over its limits); 130 interrupted
//! (Ctrl-C; the report is still written). `--json -` writes the report to standard output and the table
//! to standard error (for launchers that only carry output back: ssh, pdsh, srun).

use linkbench::cli::{parse_or_exit, ClientArgs};
use linkbench::client;
use linkbench::compare::soak_html;
use linkbench::report::{self, Report, Status};
use std::path::Path;

/// Exits 2 unless the report's destination can be written (checked by creating a file, not by reading
/// permission bits), so a long run is not lost at its end.
fn check_destination(path: &Path) {
    if let Err(e) = report::write::check_writable(path) {
        eprintln!("linkbench-client: error: {e}");
        std::process::exit(2);
    }
}

/// Writes the report where `--json` says; returns the exit code that failing to do so adds.
fn write_report(report: &Report, path: &Path, to_stdout: bool) -> i32 {
    let encoded = if to_stdout {
        serde_json::to_string(report).map(|t| t + "\n")
    } else {
        serde_json::to_string_pretty(report)
    };
    let text = match encoded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("linkbench-client: error: cannot encode the report: {e}");
            return 1;
        }
    };
    if text.len() as u64 > report::MAX_REPORT_BYTES {
        eprintln!(
            "linkbench-client: warning: the report is {} MiB, more than linkbench-compare reads ({} MiB); \
             split such runs into several",
            text.len() >> 20,
            report::MAX_REPORT_BYTES >> 20
        );
    }
    let written = if to_stdout {
        linkbench::cli::print_stdout(&text, "write the report to a file with --json FILE")
            .map_err(|e| e.to_string())
    } else {
        report::write::write_bytes_atomically(text.as_bytes(), path).map_err(|e| e.to_string())
    };
    match written {
        Ok(()) if to_stdout => 0,
        Ok(()) => {
            let status = match report.status {
                Status::Complete => "complete",
                Status::Incomplete => "incomplete",
            };
            eprintln!(
                "linkbench-client: report written to {} ({status})",
                path.display()
            );
            0
        }
        Err(e) => {
            eprintln!("linkbench-client: error: {e}");
            1
        }
    }
}

/// Draws the soak's series (read back from its file) with its report's thresholds; returns the exit
/// code that failing to do so adds.
fn write_soak_page(report: &Report, path: &Path) -> i32 {
    let mut runs = Vec::new();
    for soak in report.results.iter().filter_map(|r| r.soak.as_ref()) {
        match soak_html::read_series(Path::new(&soak.series)) {
            Ok(mut run) => {
                run.summary = Some(soak.clone());
                runs.push(run);
            }
            Err(e) => {
                eprintln!("linkbench-client: error: --html: {e}");
                return 1;
            }
        }
    }
    if runs.is_empty() {
        eprintln!("linkbench-client: error: --html: the soak wrote no series line to draw");
        return 1;
    }
    match report::write::write_bytes_atomically(soak_html::page(&runs).as_bytes(), path) {
        Ok(()) => {
            eprintln!("linkbench-client: soak page written to {}", path.display());
            0
        }
        Err(e) => {
            eprintln!("linkbench-client: error: --html: {e}");
            1
        }
    }
}

fn main() {
    let args: ClientArgs = parse_or_exit("linkbench-client");
    let json = args.json.clone();
    let to_stdout = json.as_deref() == Some(Path::new("-"));
    if let Some(path) = json.as_ref().filter(|_| !to_stdout) {
        check_destination(path);
    }
    let html = args.html.clone();
    if let Some(path) = &html {
        check_destination(path);
    }
    let config = match args.into_config(std::env::args().collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("linkbench-client: error: {e} (see --help)");
            std::process::exit(2);
        }
    };
    // A series that exists is refused before anything runs (the soak creates it new as it starts).
    if let Some(soak) = &config.soak {
        if let Err(e) = client::soak::check_new(&soak.series) {
            eprintln!("linkbench-client: error: {e}");
            std::process::exit(2);
        }
    }
    // First Ctrl-C (or SIGTERM): end the running trial on both sides and write the report; second: quit.
    let _ = ctrlc::set_handler(|| {
        if client::interrupt() {
            eprintln!("linkbench-client: interrupted again; exiting without waiting");
            std::process::exit(130);
        }
        eprintln!("linkbench-client: stopping: ending the trial and writing the report (Ctrl-C again to quit)");
    });
    let outcome = if to_stdout {
        client::run(&config, &mut std::io::stderr())
    } else {
        client::run(&config, &mut std::io::stdout())
    };
    for w in &outcome.report.warnings {
        eprintln!("linkbench-client: warning: {w}");
    }
    let mut code = match (&outcome.error, outcome.report.status) {
        (Some(client::ClientError::Interrupted), _) => 130,
        (Some(e), _) if e.is_bad_input() => 2,
        (Some(_), _) | (None, Status::Incomplete) => 1,
        (None, Status::Complete) => 0,
    };
    if let Some(e) = &outcome.error {
        eprintln!("linkbench-client: error: {e}");
    }
    // A soak that ran but failed its thresholds fails the run (exit 1), saying which.
    for soak in outcome
        .report
        .results
        .iter()
        .filter_map(|r| r.soak.as_ref())
    {
        if !soak.verdict.pass {
            eprintln!(
                "linkbench-client: soak verdict: {}",
                linkbench::report::table::soak_verdict_words(soak)
            );
            code = code.max(1);
        }
    }
    if let Some(path) = &json {
        code = code.max(write_report(&outcome.report, path, to_stdout));
    }
    if let Some(path) = &html {
        code = code.max(write_soak_page(&outcome.report, path));
    }
    std::process::exit(code);
}
