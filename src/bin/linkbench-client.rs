//! linkbench-client: parse arguments, run the plan, print the table, write the report.
//! Exit codes: 0 every trial complete; 1 the run failed or ended early (the report says why);
//! 2 bad input (a flag, or a request the server refused as over its limits); 130 interrupted (Ctrl-C;
//! the report is still written). `--json -` writes the report to standard output and the table to
//! standard error (for launchers that only carry output back: ssh, pdsh, srun).

use linkbench::cli::{parse_or_exit, ClientArgs};
use linkbench::client;
use linkbench::report::{write_report_atomically, Status};

fn main() {
    let args: ClientArgs = parse_or_exit("linkbench-client");
    let json = args.json.clone();
    let to_stdout = json.as_deref() == Some(std::path::Path::new("-"));
    if let Some(path) = json.as_ref().filter(|_| !to_stdout) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                eprintln!(
                    "linkbench-client: error: cannot write the report to {}: directory {} does not exist",
                    path.display(),
                    dir.display()
                );
                std::process::exit(2);
            }
        }
    }
    let config = match args.into_config(std::env::args().collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("linkbench-client: error: {e} (see --help)");
            std::process::exit(2);
        }
    };
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
    if to_stdout {
        match serde_json::to_string(&outcome.report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("linkbench-client: error: cannot encode the report: {e}");
                code = code.max(1);
            }
        }
    } else if let Some(path) = &json {
        match write_report_atomically(&outcome.report, path) {
            Ok(()) => eprintln!(
                "linkbench-client: report written to {} ({})",
                path.display(),
                match outcome.report.status {
                    Status::Complete => "complete",
                    Status::Incomplete => "incomplete",
                }
            ),
            Err(e) => {
                eprintln!("linkbench-client: error: {e}");
                code = code.max(1);
            }
        }
    }
    std::process::exit(code);
}
