//! Hostile files and destinations (security review, issue 12): a symlink planted at the report's
//! temporary name, device nodes given as `--json`/`--output`, a candidate whose trials all failed,
//! `/dev/zero` and FIFOs given where a file is read, standard output on a full device, a `--json`
//! directory that cannot be written, and a plan too large to expand. Every binary is run for real; every
//! child is waited for with a generous bound, so a regression fails instead of hanging, and only the
//! processes started here are ever killed.

mod common;

use common::{client, stderr_lines, ServerProcess};
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long any child may take before the test calls it hung (far beyond what each needs).
const HANG: Duration = Duration::from_secs(30);

/// Waits for a spawned child (stdout and stderr piped) for at most `limit`; kills it and fails past that.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(child.stdout.take().map(|s| Box::new(s) as _));
    let err = pipe(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs a command to its end within [`HANG`], with no input and its output captured.
fn run(cmd: &mut Command, what: &str) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, HANG, what)
}

/// Exactly one stderr line that says "error" (warnings and, with `--json -`, the table may be there
/// too), mentioning every needle, no panic, and the exit code.
fn one_error_line(output: &Output, code: i32, needles: &[&str]) -> String {
    let lines = stderr_lines(output);
    assert!(
        !lines.iter().any(|l| l.contains("panicked")),
        "no panic: {lines:?}"
    );
    let errors: Vec<&String> = lines.iter().filter(|l| l.contains("error")).collect();
    assert_eq!(output.status.code(), Some(code), "exit code; {lines:?}");
    assert_eq!(errors.len(), 1, "one error line: {lines:?}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "{:?} should name {needle}",
            errors[0]
        );
    }
    errors[0].clone()
}

fn compare_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linkbench-compare"))
}

fn inspect_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linkbench-inspect"))
}

fn fixture(name: &str) -> PathBuf {
    common::repo_root().join("tests/fixtures").join(name)
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn mknod_char(path: &Path, major: u32, minor: u32) {
    let ok = Command::new("mknod")
        .arg(path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "mknod {}", path.display());
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_char_device()
}

// (7) The temporary report file cannot be redirected with a planted symlink.
#[test]
fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let report = dir.path().join("r.json");
    let child = client(&server.addr)
        .args(["--duration", "2", "--warmup", "0", "--quiet", "--json"])
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The name the original code used, for the PID this client really has; planted long before the
    // 2 s test ends and the report is written.
    let planted = dir.path().join(format!(".r.json.tmp.{}", child.id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let output = wait_bounded(child, HANG, "linkbench-client");
    assert_eq!(output.status.code(), Some(0), "{:?}", stderr_lines(&output));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "the file behind the planted link is untouched"
    );
    let meta = std::fs::symlink_metadata(&report).unwrap();
    assert!(meta.is_file(), "the report is a regular file where asked");
    let written = common::read_valid_report(&report);
    assert_eq!(written["status"], "complete");
}

// (7) A device given as the destination is written in place, never replaced by a regular file.
#[test]
fn devices_given_as_destinations_stay_devices() {
    // CI runs the tests as root: without root this test cannot check anything, so it fails and says
    // so rather than passing without having run.
    assert!(
        is_root(),
        "NOT RUN: this test makes character devices with mknod, which needs root; run it as root"
    );
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (null, full) = (dir.path().join("null"), dir.path().join("full"));
    mknod_char(&null, 1, 3);
    mknod_char(&full, 1, 7);

    let quick = ["--iterations", "200", "--warmup", "0", "--quiet", "--json"];
    let ok = run(
        client(&server.addr).args(quick).arg(&null),
        "client --json null",
    );
    assert_eq!(ok.status.code(), Some(0), "{:?}", stderr_lines(&ok));
    assert!(
        is_char_device(&null),
        "--json NULL-DEVICE is still a device"
    );

    let failed = run(
        client(&server.addr).args(quick).arg(&full),
        "client --json full",
    );
    one_error_line(&failed, 1, &["full", "No space left"]);
    assert!(
        is_char_device(&full),
        "--json FULL-DEVICE is still a device"
    );

    let base = fixture("compare/baseline.json");
    let out = run(
        compare_bin()
            .arg(&base)
            .arg(&base)
            .arg("--output")
            .arg(&null),
        "compare --output null",
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    assert!(
        is_char_device(&null),
        "--output NULL-DEVICE is still a device"
    );
}

/// The table, Markdown and HTML outputs of a comparison (the page through `--output`).
fn compare_outputs(base: &Path, cand: &Path, dir: &Path) -> [(String, Output); 3] {
    let html = dir.join("page.html");
    let out = |fmt: &str| {
        let mut cmd = compare_bin();
        cmd.arg(base).arg(cand).args(["--format", fmt]);
        if fmt == "html" {
            cmd.arg("--output").arg(&html);
        }
        run(&mut cmd, "linkbench-compare")
    };
    let (table, markdown, page) = (out("table"), out("markdown"), out("html"));
    let page_text = std::fs::read_to_string(&html).unwrap_or_default();
    [
        (String::from_utf8_lossy(&table.stdout).into(), table),
        (String::from_utf8_lossy(&markdown.stdout).into(), markdown),
        (page_text, page),
    ]
}

// (8) A candidate whose every trial broke is a failure, named in every output, never "no regression".
#[test]
fn a_candidate_whose_every_trial_is_incomplete_fails_by_name() {
    // A real failed run: the one 16 KiB trial's server is killed half-way. The baseline is the
    // committed fixture (real 16 KiB..64 KiB measurements, five trials each).
    let mut server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cand = dir.path().join("cand.json");
    let mut child = client(&server.addr)
        .args(["--size", "16K", "--duration", "6", "--warmup", "0"])
        .args(["--stall-timeout", "2", "--json"])
        .arg(&cand)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed in the measured phase, at the client's first live line (about 2 s in).
    common::Lines::stdout_of(&mut child).wait_for_traffic(Duration::from_secs(60));
    server.child.kill().unwrap();
    let ran = wait_bounded(child, HANG, "the client of a killed server");
    assert_eq!(ran.status.code(), Some(1), "{:?}", stderr_lines(&ran));
    let report = common::read_valid_report(&cand);
    assert_eq!(report["status"], "incomplete");
    assert!(report["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["complete"] == false));

    let base = fixture("compare/baseline.json");
    let named = cand.display().to_string();
    for (text, output) in compare_outputs(&base, &cand, dir.path()) {
        one_error_line(&output, 1, &[&named, "did not complete"]);
        assert!(text.contains(&named), "names the candidate: {text}");
        assert!(
            text.contains("tcp stream bw 16K x1 trial 0 did not complete"),
            "names the trial: {text}"
        );
        assert!(!text.contains("verdict: no regression"), "{text}");
    }
    let json = run(
        compare_bin()
            .arg(&base)
            .arg(&cand)
            .args(["--format", "json"]),
        "compare --format json",
    );
    one_error_line(&json, 1, &[&named, "did not complete"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["failed"], true);
    let first = &v["candidates"][0]["incomplete"][0];
    assert_eq!(first["report"], named.as_str());
    assert_eq!(first["result"], "tcp stream bw 16K x1");
    assert_eq!(first["trial"], 0);
}

/// A committed fixture report with `mark` applied, written into `dir`.
fn marked(dir: &Path, name: &str, source: &str, mark: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(fixture(source)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    mark(&mut v);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    path
}

// (8) The fixtures marked as a failed run: an incomplete candidate fails (exit 1, named), incomplete
// baseline trials are listed but fail nothing, and a baseline without one complete trial is bad input.
#[test]
fn incomplete_trials_in_marked_fixtures_are_named_on_each_side() {
    let dir = tempfile::tempdir().unwrap();
    let all_incomplete = |v: &mut serde_json::Value| {
        v["status"] = "incomplete".into();
        v["errors"] = serde_json::json!([{"message": "the server stopped answering", "trial": null, "message_size": null}]);
        for r in v["results"].as_array_mut().unwrap() {
            r["complete"] = false.into();
        }
    };
    let base = fixture("compare/baseline.json");
    let cand = marked(
        dir.path(),
        "cand.json",
        "compare/candidate.json",
        all_incomplete,
    );
    let out = run(compare_bin().arg(&base).arg(&cand), "compare");
    one_error_line(&out, 1, &["cand.json", "20 trial(s) did not complete"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("INCOMPLETE") && text.contains("the server stopped answering"),
        "{text}"
    );

    // One baseline trial marked incomplete: listed, left out, not a failure of an equal candidate.
    let one_off = marked(dir.path(), "base1.json", "compare/baseline.json", |v| {
        v["status"] = "incomplete".into();
        v["results"][0]["complete"] = false.into();
    });
    let out = run(compare_bin().arg(&one_off).arg(&base), "compare");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 incomplete trial(s) left out of the statistics"),
        "{text}"
    );

    let dead = marked(
        dir.path(),
        "dead.json",
        "compare/baseline.json",
        all_incomplete,
    );
    let out = run(compare_bin().arg(&dead).arg(&base), "compare");
    one_error_line(&out, 2, &["dead.json", "no complete trial"]);
}

/// Runs `bin ARGS` under a 4 GiB address-space limit, so that a regression that reads `/dev/zero`
/// into memory aborts instead of exhausting the machine.
fn run_limited(bin: &str, args: &[&str], what: &str) -> Output {
    run(
        Command::new("sh")
            .args(["-c", "ulimit -v 4194304; exec \"$@\"", "sh", bin])
            .args(args),
        what,
    )
}

// (10) /dev/zero and a FIFO where a report, an EEPROM dump or a key file is read: one line, exit 2.
#[test]
fn dev_zero_and_fifos_are_refused_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let base = fixture("compare/baseline.json");
    let base = base.to_str().unwrap();
    for hostile in ["/dev/zero", fifo.to_str().unwrap()] {
        let cases: [(&str, Vec<&str>); 5] = [
            (env!("CARGO_BIN_EXE_linkbench-compare"), vec![base, hostile]),
            (env!("CARGO_BIN_EXE_linkbench-compare"), vec![hostile, base]),
            (
                env!("CARGO_BIN_EXE_linkbench-inspect"),
                vec!["--eeprom", hostile],
            ),
            (
                env!("CARGO_BIN_EXE_linkbench-client"),
                vec!["127.0.0.1:9", "--psk-file", hostile],
            ),
            (
                env!("CARGO_BIN_EXE_linkbench-server"),
                vec!["--bind", "127.0.0.1:0", "--psk-file", hostile],
            ),
        ];
        for (bin, args) in cases {
            let what = format!("{bin} {args:?}");
            let out = run_limited(bin, &args, &what);
            let line = one_error_line(&out, 2, &[hostile, "not a regular file"]);
            assert_eq!(stderr_lines(&out).len(), 1, "{what}: {line}");
        }
    }
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

fn run_to_full(cmd: &mut Command, what: &str) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(dev_full())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, HANG, what)
}

// (11) Standard output on a full device: one error line and exit 1, never a panic.
#[test]
fn stdout_on_a_full_device_is_one_error_line() {
    let server = ServerProcess::start(&[]);
    let out = run_to_full(
        client(&server.addr).args(["--iterations", "200", "--warmup", "0", "--json", "-"]),
        "client --json - > /dev/full",
    );
    one_error_line(&out, 1, &["standard output", "No space left"]);

    let base = fixture("compare/baseline.json");
    let out = run_to_full(compare_bin().arg(&base).arg(&base), "compare > /dev/full");
    one_error_line(&out, 1, &["standard output", "No space left"]);
    assert_eq!(stderr_lines(&out).len(), 1);

    let out = run_to_full(
        inspect_bin()
            .arg("--eeprom")
            .arg(fixture("eeprom/sfp-10g-sr.bin")),
        "inspect > /dev/full",
    );
    one_error_line(&out, 1, &["standard output", "No space left"]);
    assert_eq!(stderr_lines(&out).len(), 1);
}

/// A read-only tmpfs mounted on a fresh directory, unmounted on drop.
struct ReadOnlyMount {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl ReadOnlyMount {
    fn new() -> Result<ReadOnlyMount, String> {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("ro");
        std::fs::create_dir(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(ReadOnlyMount {
            path,
            _parent: parent,
        })
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

// (13) A --json directory that cannot be written (even by root) fails before any test runs.
#[test]
fn a_json_directory_that_cannot_be_written_fails_at_start() {
    // CI runs the tests as root, where mount works: without it this test cannot check anything, so it
    // fails and says so rather than passing without having run.
    let mount = ReadOnlyMount::new().unwrap_or_else(|why| {
        panic!("NOT RUN: this test needs to mount a read-only tmpfs (root): {why}")
    });
    let mut server = ServerProcess::start(&["--once"]);
    let out = run(
        client(&server.addr)
            .args(["--duration", "60", "--warmup", "0", "--json"])
            .arg(mount.path.join("r.json")),
        "client --json into a read-only directory",
    );
    one_error_line(
        &out,
        2,
        &[mount.path.to_str().unwrap(), "Read-only file system"],
    );
    // A --once server exits after its one session: still running means no session happened.
    assert!(server.is_running(), "the server saw no session");
    let log = server.drain_log();
    assert!(
        !log.iter().any(|l| l.contains("session started")),
        "{log:?}"
    );
}

// (15a) A plan too large to expand is refused at parsing, not by aborting on an allocation.
#[test]
fn a_huge_repeat_is_refused_at_parsing() {
    for (args, needle) in [
        (
            &["--repeat", "4294967295", "--sweep", "2:64M"][..],
            "from 1 to 10000",
        ),
        (
            &["--repeat", "1000", "--sweep", "2:64M"][..],
            "26000 trials",
        ),
    ] {
        let out = run(client("127.0.0.1:9").args(args), "client --repeat");
        one_error_line(&out, 2, &[needle]);
        assert_eq!(stderr_lines(&out).len(), 1);
    }
}
