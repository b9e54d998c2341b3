//! Runs the schedule: for each pair and test, linkbench-server on the server host (bounded by
//! `timeout`, one session), then linkbench-client on the client host with its report on standard output;
//! judges the report against `[expect]` and the link rules. A host that does not answer makes its pairs
//! errors after their timeout and retries; the rest of the plan goes on.

use crate::judge::judge;
use crate::launcher;
use crate::model::{PairOutcome, Verdict};
use crate::plan::{Plan, Suite, TestSpec};
use crate::schedule::{Pair, Schedule};
use linkbench::report::model::Report;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A name as one path component: ASCII letters, digits, `-` and `.` kept, anything else `_`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Lines of a child's stream, delivered through a channel by a reader thread.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Ends a launcher process politely first: SIGTERM lets srun cancel its job step and ssh close its
/// session; SIGKILL after 3 s. (The remote command is bounded by `timeout` in any case.)
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    if !exited_within(child, Duration::from_secs(3)) {
        kill(child);
    }
}

/// Waits up to `within` for `child` to exit; true when it did.
fn exited_within(child: &mut Child, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends a pair's server once its client is done. A `--once` server exits by itself when its session is
/// over, and its launcher with it; waiting for that (up to 5 s) before stopping the launcher means the
/// port is free when the pair's next test binds it. Stopping the launcher at once could leave the server
/// still closing its listener, and the next server's bind on the same port then failed.
fn end_server(server: &mut Child) {
    if !exited_within(server, Duration::from_secs(5)) {
        stop(server);
    }
}

/// The line of a remote command's output that says most about why it failed: the last that names an
/// error (the launcher's own last words, such as pdsh's "exited with exit code 1", come after it), else
/// the last line.
fn telling_line(lines: &[String]) -> Option<&str> {
    lines
        .iter()
        .rev()
        .find(|x| x.contains("error"))
        .or(lines.last())
        .map(String::as_str)
}

/// The data-path endpoint of a pair's server: the server binds to it and the client connects to it.
fn endpoint(plan: &Plan, pair: &Pair, port: u16) -> String {
    let saddr = plan.address(&pair.server);
    if saddr.contains(':') {
        format!("[{saddr}]:{port}")
    } else {
        format!("{saddr}:{port}")
    }
}

/// Starts linkbench-server on the pair's server host and waits for its "listening" line.
fn start_server(plan: &Plan, pair: &Pair, endpoint: &str, budget: f64) -> Result<Child, String> {
    let l = &plan.launcher;
    let snode = plan.node(&pair.server);
    let server_argv: Vec<String> = vec![
        "timeout".into(),
        format!("{:.0}", budget.ceil() + 10.0),
        l.server_bin.clone(),
        "--bind".into(),
        endpoint.to_string(),
        "--once".into(),
    ];
    let mut server = launcher::command(l, &snode, &server_argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the launcher for {}: {e}", pair.server))?;
    let server_log = lines_of(server.stderr.take().expect("piped"));
    let start_deadline = Instant::now() + Duration::from_secs(20).min(plan.timeout());
    let mut seen = Vec::new();
    loop {
        match server_log.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if line.contains("listening on") {
                    return Ok(server);
                }
                seen.push(launcher::strip_prefix(l, &snode, &line).to_string());
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = server.wait();
                return Err(format!(
                    "server host {} did not answer: {}",
                    pair.server,
                    telling_line(&seen).unwrap_or("the launcher exited without output")
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() > start_deadline {
            stop(&mut server);
            return Err(format!(
                "server host {} did not start linkbench-server within {:.0} s{}",
                pair.server,
                Duration::from_secs(20).min(plan.timeout()).as_secs_f64(),
                telling_line(&seen)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            ));
        }
    }
}

/// linkbench-client's command line for one test. Labels go as `--label=KEY=VALUE`, one word whatever
/// the value holds (a value may start with `-`).
fn client_argv(
    plan: &Plan,
    suite: &Suite,
    pair: &Pair,
    test: &TestSpec,
    endpoint: String,
    budget: f64,
    series: Option<&Path>,
) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "timeout".into(),
        format!("{:.0}", budget.ceil() + 5.0),
        plan.launcher.client_bin.clone(),
        endpoint,
    ];
    match series {
        Some(path) => {
            argv.extend(test.soak_traffic_args());
            argv.extend(suite.soak_args(&path.display().to_string()));
        }
        None => argv.extend(test.client_args(suite.repeat)),
    }
    if let Some(rate) = suite.probe_rate {
        argv.extend(["--probe-rate".into(), rate.to_string()]);
    }
    argv.extend([
        "--json".into(),
        "-".into(),
        "--connect-timeout".into(),
        "10s".into(),
    ]);
    let mut labels = vec![
        format!("harness.plan={}", plan.name),
        format!("harness.suite={}", suite.name.clone().unwrap_or_default()),
        format!("harness.client={}", pair.client),
        format!("harness.server={}", pair.server),
    ];
    labels.extend(suite.labels.iter().map(|(k, v)| format!("{k}={v}")));
    argv.extend(labels.into_iter().map(|lab| format!("--label={lab}")));
    argv
}

/// One attempt at one test between a pair.
fn attempt(
    plan: &Plan,
    suite: &Suite,
    pair: &Pair,
    test: &TestSpec,
    port: u16,
    series: Option<&Path>,
) -> Result<Report, String> {
    let l = &plan.launcher;
    let traffic_s = match suite.soak_seconds() {
        Some(soak) => soak + test.seconds(),
        None => test.seconds() * suite.repeat as f64,
    };
    let budget = traffic_s + plan.timeout().as_secs_f64();
    let cnode = plan.node(&pair.client);
    let endpoint = endpoint(plan, pair, port);
    let mut server = start_server(plan, pair, &endpoint, budget)?;
    let client_argv = client_argv(plan, suite, pair, test, endpoint, budget, series);
    let mut client = match launcher::command(l, &cnode, &client_argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            stop(&mut server);
            return Err(format!(
                "cannot start the launcher for {}: {e}",
                pair.client
            ));
        }
    };
    let out = lines_of(client.stdout.take().expect("piped"));
    let err = lines_of(client.stderr.take().expect("piped"));
    let deadline = Instant::now() + Duration::from_secs_f64(budget + 15.0);
    let status = loop {
        if let Some(s) = client.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if Instant::now() > deadline {
            stop(&mut client);
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    end_server(&mut server);
    let stdout: Vec<String> = out.try_iter().collect();
    let stderr: Vec<String> = err
        .try_iter()
        .map(|x| launcher::strip_prefix(l, &cnode, &x).to_string())
        .filter(|x| !x.trim().is_empty())
        .collect();
    let json = stdout
        .iter()
        .map(|x| launcher::strip_prefix(l, &cnode, x))
        .find(|x| x.starts_with('{'));
    let last_err = || telling_line(&stderr).unwrap_or("no output").to_string();
    match (json, status) {
        (Some(text), _) => serde_json::from_str::<Report>(text).map_err(|e| {
            format!(
                "client host {} wrote a report that does not parse: {e}",
                pair.client
            )
        }),
        (None, None) => Err(format!(
            "client host {} did not finish within {:.0} s: {}",
            pair.client,
            budget + 15.0,
            last_err()
        )),
        (None, Some(_)) => Err(format!(
            "client host {} wrote no report: {}",
            pair.client,
            last_err()
        )),
    }
}

/// The report's path relative to the output directory: `reports/SUITE/CLIENT--SERVER--TEST.json`, each
/// name [`sanitize`]d.
fn report_path(suite: &str, pair: &Pair, test: &str) -> String {
    format!(
        "reports/{}/{}--{}--{}.json",
        sanitize(suite),
        sanitize(&pair.client),
        sanitize(&pair.server),
        sanitize(test)
    )
}

/// Where a soak's series goes: `DIR/series/SUITE/CLIENT--SERVER.jsonl` (`.attemptN.jsonl` for a retry),
/// absolute, as the client host sees it: the hosts must share the output directory's file system
/// (local and namespace hosts do; on a cluster, a shared home or scratch).
fn series_path(dir: &Path, suite: &str, pair: &Pair, attempt: u32) -> std::path::PathBuf {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let retry = if attempt > 1 {
        format!(".attempt{attempt}")
    } else {
        String::new()
    };
    let folder = dir.join("series").join(sanitize(suite));
    folder.join(format!(
        "{}--{}{retry}.jsonl",
        sanitize(&pair.client),
        sanitize(&pair.server)
    ))
}

/// Judges `report` into `o` and writes it as `dir/rel` (a report that cannot be written makes the
/// outcome an error).
fn record(plan: &Plan, report: &Report, o: &mut PairOutcome, dir: &Path, rel: String) {
    let j = judge(plan, report);
    let path = dir.join(&rel);
    let written = path
        .parent()
        .map(std::fs::create_dir_all)
        .transpose()
        .map_err(|e| e.to_string())
        .and_then(|_| {
            linkbench::report::write_report_atomically(report, &path).map_err(|e| e.to_string())
        });
    o.verdict = j.verdict;
    o.reason = j.reason;
    o.bits_per_second = j.bits_per_second;
    o.latency_p99_ns = j.latency_p99_ns;
    o.cpu = j.cpu;
    o.modules = j.modules;
    match written {
        Ok(()) => o.report = Some(rel),
        Err(e) => {
            o.verdict = Verdict::Error;
            o.reason = format!("cannot write the report: {e}");
        }
    }
}

/// The progress line for one outcome (standard error).
fn progress_line(o: &PairOutcome) -> String {
    format!(
        "linkbench-harness: {} {}->{} {}: {}{}{}",
        o.suite,
        o.client,
        o.server,
        o.test,
        o.verdict.shout(),
        o.bits_per_second
            .map(|b| format!(" {:.3} Gbit/s", b / 1e9))
            .unwrap_or_default(),
        if o.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", o.reason)
        }
    )
}

/// Every test of one pair, with retries; reports written under `dir/reports/SUITE/`.
pub fn run_pair(
    plan: &Plan,
    suite: &Suite,
    pair: &Pair,
    port: u16,
    dir: &Path,
) -> Vec<PairOutcome> {
    let suite_name = suite.name.clone().unwrap_or_default();
    let mut outcomes = Vec::new();
    for test in &suite.tests {
        let started = Instant::now();
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            // A soak's series: one file per attempt (a series is never overwritten).
            let series = suite
                .soak
                .as_ref()
                .map(|_| series_path(dir, &suite_name, pair, attempts));
            // A folder that cannot be made fails the client's own check of its series, in one line.
            if let Some(folder) = series.as_deref().and_then(Path::parent) {
                let _ = std::fs::create_dir_all(folder);
            }
            match attempt(plan, suite, pair, test, port, series.as_deref()) {
                Ok(report) => break Ok(report),
                Err(e) if attempts > plan.launcher.retries => break Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        };
        let mut o = PairOutcome {
            suite: suite_name.clone(),
            client: pair.client.clone(),
            server: pair.server.clone(),
            test: test.label(),
            bits_per_second: None,
            latency_p99_ns: None,
            cpu: None,
            verdict: Verdict::Error,
            reason: String::new(),
            report: None,
            attempts,
            modules: Vec::new(),
            seconds: 0.0,
            baseline: None,
        };
        match result {
            Ok(report) => {
                let rel = report_path(&suite_name, pair, &test.label());
                record(plan, &report, &mut o, dir, rel);
            }
            Err(e) => o.reason = e,
        }
        o.seconds = started.elapsed().as_secs_f64();
        eprintln!("{}", progress_line(&o));
        outcomes.push(o);
    }
    outcomes
}

/// Runs the whole schedule; pairs of a round in parallel threads.
pub fn run(plan: &Plan, sched: &Schedule, dir: &Path) -> Vec<PairOutcome> {
    let mut all = Vec::new();
    for (suite, ss) in plan.suites.iter().zip(&sched.suites) {
        for (i, round) in ss.rounds().enumerate() {
            eprintln!(
                "linkbench-harness: suite {} round {}/{}: {} pairs",
                ss.suite,
                i + 1,
                ss.round_count(),
                round.len()
            );
            let results: Vec<Vec<PairOutcome>> = std::thread::scope(|scope| {
                let handles: Vec<_> = round
                    .iter()
                    .enumerate()
                    .map(|(k, pair)| {
                        let port = plan.launcher.port.saturating_add(k as u16);
                        scope.spawn(move || run_pair(plan, suite, pair, port, dir))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            all.extend(results.into_iter().flatten());
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
name = "acceptance 'rack 7'"
[launcher]
kind = "local"
client_bin = "/opt/lb/linkbench-client"
[hosts]
h1 = "10.77.0.1"
h2 = { node = "n2", address = "[fd00::2]" }
[[suite]]
name = "dac"
topology = "pairs"
pairs = [["h1", "h2"], ["h2", "h1"]]
tests = [{ test = "lat", size = "64", duration = "2s", warmup = "0.5s", streams = 2 }]
repeat = 3
labels = { link = "dac 1m", cmd = "-n $(x)" }
"#;

    fn plan() -> Plan {
        Plan::parse(PLAN, "p.toml").unwrap()
    }

    fn pair(client: &str, server: &str) -> Pair {
        Pair {
            client: client.into(),
            server: server.into(),
        }
    }

    #[test]
    fn a_failed_server_is_named_by_its_error_not_by_the_launchers_last_words() {
        let lines = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let pdsh = lines(&[
            "linkbench-server: error: cannot listen on 10.77.0.4:18700: Address in use (os error 98) (is another server using the port? pick one with --bind)",
            "pdsh@vm: h4: nsenter exited with exit code 1",
        ]);
        assert!(telling_line(&pdsh).unwrap().contains("cannot listen"));
        let plain = lines(&["ssh: connect to host h9 port 22: No route to host"]);
        assert_eq!(telling_line(&plain), Some(plain[0].as_str()));
        assert_eq!(telling_line(&[]), None);
    }

    #[test]
    fn a_soak_suite_runs_one_soak_with_its_series_not_a_duration_or_repeats() {
        let text = PLAN
            .replace(
                "repeat = 3\n",
                "soak = \"2h\"\nprofile = \"/etc/qual.toml\"\nprobe_rate = 100\n",
            )
            .replace(
                "test = \"lat\", size = \"64\"",
                "test = \"bw\", size = \"64K\"",
            );
        let p = Plan::parse(&text, "p.toml").unwrap();
        let suite = &p.suites[0];
        let series = Path::new("/out/series/dac/h1--h2.jsonl");
        let argv = client_argv(
            &p,
            suite,
            &pair("h1", "h2"),
            &suite.tests[0],
            "x:1".into(),
            9.0,
            Some(series),
        );
        let joined = argv.join(" ");
        for want in [
            "--soak 2h --sample-interval 10s --series /out/series/dac/h1--h2.jsonl --profile /etc/qual.toml",
            "--probe-rate 100",
            "--test bw",
        ] {
            assert!(joined.contains(want), "{joined}");
        }
        assert!(
            !joined.contains("--duration") && !joined.contains("--repeat"),
            "{joined}"
        );
        assert_eq!(
            series_path(Path::new("/out"), "dac", &pair("h1", "h2"), 2),
            Path::new("/out/series/dac/h1--h2.attempt2.jsonl")
        );
    }

    #[test]
    fn names_become_single_path_components() {
        assert_eq!(sanitize("tcp bw 64K x1"), "tcp_bw_64K_x1");
        assert_eq!(sanitize("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(sanitize("n1.example-2"), "n1.example-2");
        assert_eq!(sanitize("fd00::1 é;$(x)"), "fd00__1_____x_");
        assert_eq!(sanitize(""), "");
        assert_eq!(
            report_path("dac/x", &pair("h1", "fd00::2"), "rdma write bw 64K x1"),
            "reports/dac_x/h1--fd00__2--rdma_write_bw_64K_x1.json"
        );
    }

    #[test]
    fn the_endpoint_is_the_servers_data_address_with_ipv6_bracketed() {
        let p = plan();
        assert_eq!(endpoint(&p, &pair("h2", "h1"), 18515), "10.77.0.1:18515");
        assert_eq!(endpoint(&p, &pair("h1", "h2"), 18516), "[fd00::2]:18516");
    }

    #[test]
    fn the_client_command_line_carries_the_test_time_bound_and_labels() {
        let p = plan();
        let suite = &p.suites[0];
        let argv = client_argv(
            &p,
            suite,
            &pair("h1", "h2"),
            &suite.tests[0],
            "[fd00::2]:1".into(),
            7.2,
            None,
        );
        let want: Vec<String> = [
            "timeout",
            "13",
            "/opt/lb/linkbench-client",
            "[fd00::2]:1",
            "--transport",
            "tcp",
            "--test",
            "lat",
            "--duration",
            "2s",
            "--warmup",
            "0.5s",
            "--streams",
            "2",
            "--repeat",
            "3",
            "--size",
            "64",
            "--json",
            "-",
            "--connect-timeout",
            "10s",
            "--label=harness.plan=acceptance 'rack 7'",
            "--label=harness.suite=dac",
            "--label=harness.client=h1",
            "--label=harness.server=h2",
            "--label=cmd=-n $(x)",
            "--label=link=dac 1m",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(argv, want);
    }

    #[test]
    fn the_progress_line_names_the_pair_its_verdict_and_why() {
        let mut o = PairOutcome {
            suite: "dac".into(),
            client: "h1".into(),
            server: "h2".into(),
            test: "tcp bw 64K x1".into(),
            bits_per_second: Some(9.4e9),
            latency_p99_ns: None,
            cpu: None,
            verdict: Verdict::Pass,
            reason: String::new(),
            report: None,
            attempts: 1,
            modules: Vec::new(),
            seconds: 1.0,
            baseline: None,
        };
        assert_eq!(
            progress_line(&o),
            "linkbench-harness: dac h1->h2 tcp bw 64K x1: pass 9.400 Gbit/s"
        );
        o.verdict = Verdict::Error;
        o.bits_per_second = None;
        o.reason = "server host h2 did not answer".into();
        assert_eq!(
            progress_line(&o),
            "linkbench-harness: dac h1->h2 tcp bw 64K x1: ERROR (server host h2 did not answer)"
        );
    }

    #[test]
    fn a_report_is_judged_and_written_or_the_outcome_is_an_error() {
        let report: Report = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../results-schema/examples/loopback-tcp-bw.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let p = plan();
        let blank = || PairOutcome {
            suite: "dac".into(),
            client: "h1".into(),
            server: "h2".into(),
            test: "t".into(),
            bits_per_second: None,
            latency_p99_ns: None,
            cpu: None,
            verdict: Verdict::Error,
            reason: String::new(),
            report: None,
            attempts: 1,
            modules: Vec::new(),
            seconds: 0.0,
            baseline: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut o = blank();
        record(&p, &report, &mut o, dir.path(), "reports/dac/a.json".into());
        assert_eq!((o.verdict, o.reason.as_str()), (Verdict::Pass, ""));
        assert_eq!(o.report.as_deref(), Some("reports/dac/a.json"));
        assert!(o.bits_per_second.unwrap() > 1e9);
        let back: Report = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("reports/dac/a.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(back.results.len(), report.results.len());
        // A file where the directory should be: the report cannot be written.
        std::fs::write(dir.path().join("blocked"), "").unwrap();
        let mut o = blank();
        record(&p, &report, &mut o, dir.path(), "blocked/a.json".into());
        assert_eq!(o.verdict, Verdict::Error);
        assert!(
            o.reason.starts_with("cannot write the report: "),
            "{}",
            o.reason
        );
        assert_eq!(o.report, None);
        assert!(o.bits_per_second.is_some(), "the figures are kept");
    }
}
