//! Helpers shared by the black-box tests: a real linkbench-server on a free loopback port, killed when
//! the test ends, and the report schema.

#![allow(dead_code)]

pub mod raw;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A running linkbench-server; killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    pub log: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `linkbench-server --bind 127.0.0.1:0 ARGS` and waits for its "listening on" line.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_on("127.0.0.1:0", args)
    }

    /// Starts `linkbench-server --bind BIND ARGS` and waits for its "listening on" line. Bind port 0:
    /// the kernel picks a free port and the server prints it (a port freed by another process may be
    /// taken again before the server binds it).
    pub fn start_on(bind: &str, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_linkbench-server"))
            .args(["--bind", bind])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start linkbench-server");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                return ServerProcess {
                    child,
                    addr: addr.trim().to_string(),
                    log: rx,
                };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("linkbench-server did not print its address within 20 s");
    }

    /// Lines the server logged so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Waits until the server logs a line containing `needle` (an event: "session started", a
    /// refusal); returns every line read meanwhile, the match last. Panics after `within`, a "did not
    /// hang" bound, with the lines read.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    lines.push(line);
                    if found {
                        return lines;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the server did not log {needle:?} within {within:?}: {lines:#?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the server's log ended before it logged {needle:?}: {lines:#?}")
                }
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a child process writes to a pipe (a client's live lines on stdout), read on their own
/// thread so that the child never blocks on a full pipe. Tests wait for the line that marks an event
/// (the trial is in its measured phase) instead of sleeping for a guessed time.
pub struct Lines {
    rx: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Lines {
    pub fn new(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end even when nobody waits any more, so the child never blocks on its output.
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// The stdout of a child spawned with `Stdio::piped()` for it.
    pub fn stdout_of(child: &mut Child) -> Lines {
        Lines::new(child.stdout.take().expect("stdout is piped"))
    }

    /// Waits for a line for which `event` holds and returns it. Panics naming `what`, with every line
    /// read, when the pipe closes first (the child ended) or after `within`, a "did not hang" bound.
    pub fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        event: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if event(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{what}: not seen within {within:?}; lines so far: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{what}: the output ended first; lines: {:#?}", self.seen)
                }
            }
        }
    }

    /// Waits for a client's live line of an interval in which data moved: the trial is in its
    /// measured phase and has measured something.
    pub fn wait_for_traffic(&mut self, within: Duration) -> String {
        self.wait_for(
            "a live line of an interval that moved data",
            within,
            live_line_moved_data,
        )
    }
}

/// Whether `line` is a client's live line (`  [recv]   1.00-2.00   s  9.876 Gbit/s  0.0094 Mmsg/s`,
/// `  [lat]   1.00-2.00   s  12345 round trips  mean  80.00 us`) for an interval in which data moved.
pub fn live_line_moved_data(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    if !words.first().is_some_and(|w| w.starts_with('[')) {
        return false;
    }
    words.windows(2).any(|w| {
        matches!(w[1], "Gbit/s" | "Mmsg/s" | "round") && w[0].parse::<f64>().is_ok_and(|v| v > 0.0)
    })
}

/// Resident memory a server may use after an attack.
pub const RSS_LIMIT_KIB: u64 = 200 * 1024;

/// A line of `/proc/PID/status` as a number (`VmRSS` in KiB, `Threads`).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// The server still runs a real (short) test, and is small.
pub fn still_serves(server: &mut ServerProcess, extra: &[&str]) {
    assert!(server.is_running(), "the server process died");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let output = client(&server.addr)
            .args(["--iterations", "200", "--warmup", "0", "--size", "4K"])
            .args(extra)
            .output()
            .unwrap();
        if output.status.success() {
            break;
        }
        let err = String::from_utf8_lossy(&output.stderr).to_string();
        // Transient while the attack winds down: the previous session ending ("busy"), or connections
        // still being shed because the flood filled the admission slots (--max-connections).
        let transient = err.contains("busy") || err.contains("shedding load");
        assert!(
            transient && std::time::Instant::now() < deadline,
            "a real test failed after the attack: {err}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rss = proc_status(server.child.id(), "VmRSS");
    assert!(
        rss < RSS_LIMIT_KIB,
        "server resident memory {rss} KiB is over {RSS_LIMIT_KIB} KiB"
    );
}

/// Runs a short client against `addr` and checks that the server told it "busy" (exit 1, the word in
/// its error): every session slot was held.
pub fn assert_told_busy(addr: &str) {
    let output = client(addr).args(["--iterations", "10"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("busy"), "{err}");
}

/// A client command against `addr` with fast test timings unless overridden.
pub fn client(addr: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_linkbench-client"));
    c.arg(addr);
    c
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads a report and validates it against the committed schema.
pub fn read_valid_report(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let report: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    let schema_text =
        std::fs::read_to_string(repo_root().join("results-schema/report.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema: {errors:#?}"
    );
    report
}

/// Lines of stderr that are not empty.
pub fn stderr_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Two network namespaces joined by a veth pair, both directions shaped with tbf to `rate_mbit`; a
/// linkbench-server runs in the second. Everything is removed on drop. Needs root and iproute2.
pub struct ShapedLink {
    pub client_ns: String,
    pub server_ns: String,
    server: Option<std::process::Child>,
    pub server_addr: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2 is installed (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "ip {args:?}: {} (these tests need root)",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl ShapedLink {
    /// `id` keeps concurrent tests apart (0..=250).
    pub fn new(id: u8, rate_mbit: u32) -> ShapedLink {
        let tag = format!("lbt{}-{id}", std::process::id() % 100_000);
        let (c, s) = (format!("{tag}c"), format!("{tag}s"));
        ip(&["netns", "add", &c]);
        ip(&["netns", "add", &s]);
        // Built first, so that a failure below still removes the namespaces.
        let mut link = ShapedLink {
            client_ns: c.clone(),
            server_ns: s.clone(),
            server: None,
            server_addr: String::new(),
        };
        ip(&[
            "-n", &c, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", &s,
        ]);
        let net = format!("10.251.{id}");
        for (ns, dev, host) in [(&c, "veth0", 1), (&s, "veth1", 2)] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{net}.{host}/30"),
                "dev",
                dev,
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            // The burst must be at least rate/HZ(250) or tbf undershoots (shared/reference/testbed).
            let burst = format!(
                "{}kb",
                (rate_mbit as u64 * 1_000_000 / 8 / 250 / 1000).max(64) * 2
            );
            let out = Command::new("ip")
                .args([
                    "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                ])
                .arg(format!("{rate_mbit}mbit"))
                .args(["burst", &burst, "latency", "50ms"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "tc: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &s,
                env!("CARGO_BIN_EXE_linkbench-server"),
                "--bind",
                &format!("{net}.2:0"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(a) = line.split("listening on ").nth(1) {
                        break a.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("the server in {s} did not start");
                }
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        link.server = Some(child);
        link.server_addr = addr;
        link
    }

    /// Kills this link's server (SIGKILL), as a crash or a power cut would end it.
    pub fn kill_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A linkbench-client command run inside the client namespace against this link's server.
    pub fn client(&self) -> Command {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.client_ns,
            env!("CARGO_BIN_EXE_linkbench-client"),
            &self.server_addr,
        ]);
        c
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.client_ns, &self.server_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Renders `page` in headless Chromium (Debian's package, scripts/deps.sh) to a PNG screenshot at `shot`
/// and returns its bytes; fails the test when Chromium cannot render it.
pub fn chromium_screenshot(page: &Path, shot: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(shot);
    let profile = tempfile::tempdir().unwrap();
    // A watchdog: a hung headless Chromium must not hang the test run.
    let chromium = Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed (scripts/deps.sh installs Debian's chromium)");
    assert!(
        chromium.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&chromium.stderr)
    );
    let png = std::fs::read(shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    png
}

/// Asserts a page refers to nothing outside itself (no scripts, stylesheets or images fetched; the SVG
/// namespace URI is a name, not a fetch).
pub fn assert_self_contained(html: &str) {
    for external in [
        "<script",
        "<link",
        "src=\"",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(
            !html.contains(external),
            "the page refers to something external: {external}"
        );
    }
}
