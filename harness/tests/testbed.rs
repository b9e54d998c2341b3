//! The harness against a real cluster on this machine (harness/testbed/testbed.sh): four hosts as
//! network namespaces on a bridge, one slurmd and one sshd per host, h3's links shaped with tbf to
//! 100 Mbit/s. An all-pairs plan run through srun, pdsh and ssh must fail exactly h3's pairs and name it
//! the suspect; an unreachable host and a host that dies mid-run are reported while the rest goes on.
//! Needs root, iproute2, slurm-wlm, munge, pdsh and openssh-server (scripts/deps.sh).

mod common;

use common::{bin, repo};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One testbed at a time: they share namespace names and 10.77.0.0/24.
static TESTBED: Mutex<()> = Mutex::new(());

struct Testbed {
    work: tempfile::TempDir,
}

impl Testbed {
    fn up(slow_host: Option<&str>) -> Testbed {
        common::require_testbed(true);
        let work = tempfile::tempdir().unwrap();
        let mut c = Command::new("bash");
        c.arg(repo().join("harness/testbed/testbed.sh"))
            .arg("up")
            .env("W", work.path());
        if let Some(h) = slow_host {
            c.env("SLOW_HOST", h).env("SLOW_RATE", "100mbit");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "testbed up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Testbed { work }
    }

    fn shape(&self, host: &str) {
        let out = Command::new("bash")
            .arg(repo().join("harness/testbed/testbed.sh"))
            .args(["shape", host, "100mbit"])
            .env("W", self.work.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn slurm_conf(&self) -> PathBuf {
        self.work.path().join("slurm/etc/slurm.conf")
    }

    fn ssh_config(&self) -> PathBuf {
        self.work.path().join("ssh/ssh_config")
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("harness/testbed/testbed.sh"))
            .arg("down")
            .env("W", self.work.path())
            .output();
    }
}

/// Polls `ready` every 50 ms until it holds (true) or `within` has passed (false).
fn wait_until(within: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ready()
}

/// True when namespace `ns` holds an established TCP connection on local port `port` (a client has
/// connected to the server listening there).
fn established(ns: &str, port: u16) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "ss", "-Htn", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// A plan over h1..h4 (and `extra_hosts`) with the given launcher lines.
fn plan(dir: &Path, launcher: &str, extra_hosts: &str, suite: &str) -> PathBuf {
    let text = format!(
        r#"name = "acceptance"
[launcher]
{launcher}
server_bin = "{}"
client_bin = "{}"
timeout = "20s"
retries = 0
[hosts]
h1 = "10.77.0.1"
h2 = "10.77.0.2"
h3 = "10.77.0.3"
h4 = "10.77.0.4"
{extra_hosts}
{suite}
[expect]
min_bits_per_second = 4e8
"#,
        bin("linkbench-server").display(),
        bin("linkbench-client").display()
    );
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const ALL_PAIRS: &str = r#"[[suite]]
topology = "all-pairs"
tests = [{ test = "bw", size = "64K", duration = "1s", warmup = "0.2s" }]
"#;

/// Runs the harness, inside a namespace when given (srun and ssh must reach the bridge).
fn harness(netns: Option<&str>, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_linkbench-harness");
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, exe]);
            c
        }
        None => Command::new(exe),
    };
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().unwrap()
}

/// `linkbench-harness run PLAN --out OUT EXTRA...`, in a namespace when given.
fn run_plan(
    netns: Option<&str>,
    env: &[(&str, &Path)],
    plan: &Path,
    out: &Path,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "run",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    harness(netns, env, &args)
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Exactly h3's pairs fail, h3 is the suspect, and every output file is there.
fn assert_h3_is_the_suspect(out: &Output, dir: &Path) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(dir);
    let pairs = s["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6, "{text}");
    for p in pairs {
        let with_h3 = p["client"] == "h3" || p["server"] == "h3";
        let want = if with_h3 { "fail" } else { "pass" };
        assert_eq!(p["verdict"], want, "{p}\n{text}");
        let bps = p["bits_per_second"].as_f64().unwrap();
        if with_h3 {
            // 100 Mbit/s through tbf gives 0.957 of it in TCP goodput.
            assert!((0.08e9..0.1e9).contains(&bps), "{p}");
        }
        assert!(dir.join(p["report"].as_str().unwrap()).exists());
    }
    assert_eq!(s["suspects"], serde_json::json!(["h3"]), "{text}");
    assert!(text.contains("suspect h3"), "{text}");
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("tests=\"6\" failures=\"3\" errors=\"0\""),
        "{junit}"
    );
    let prom = std::fs::read_to_string(dir.join("linkbench.prom")).unwrap();
    assert_eq!(prom.matches("linkbench_pair_passed{").count(), 6);
    assert!(
        prom.contains("linkbench_host_failing_pairs{plan=\"acceptance\",host=\"h3\"} 3"),
        "{prom}"
    );
    let html = std::fs::read_to_string(dir.join("summary.html")).unwrap();
    assert!(html.contains("Suspect: h3"));
    let again = harness(None, &[], &["summary", dir.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stdout).contains("suspect h3"));
}

#[test]
fn all_pairs_through_srun_fail_exactly_the_shaped_host() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up(Some("h3"));
    let dir = tempfile::tempdir().unwrap();
    let p = plan(dir.path(), "kind = \"slurm\"", "", ALL_PAIRS);
    let out_dir = dir.path().join("out");
    let out = run_plan(
        Some("lbh-sw"),
        &[("SLURM_CONF", &bed.slurm_conf())],
        &p,
        &out_dir,
        &[],
    );
    assert_h3_is_the_suspect(&out, &out_dir);
}

#[test]
fn all_pairs_through_pdsh_fail_exactly_the_shaped_host_and_regress_against_the_baseline() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up(None);
    let dir = tempfile::tempdir().unwrap();
    // Four trials a side: the least with which the comparison can reach significance.
    let suite = ALL_PAIRS
        .replace("tests = [", "repeat = 4\ntests = [")
        .replace("\"1s\"", "\"0.5s\"");
    let p = plan(
        dir.path(),
        "kind = \"pdsh\"\npdsh_rcmd = \"exec\"\nwrap = [\"nsenter\", \"--net=/run/netns/lbh-{host}\"]",
        "",
        &suite,
    );
    let (night1, night2) = (dir.path().join("night1"), dir.path().join("night2"));
    let first = run_plan(None, &[], &p, &night1, &[]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    bed.shape("h3");
    let second = run_plan(
        None,
        &[],
        &p,
        &night2,
        &["--baseline", night1.to_str().unwrap()],
    );
    assert_h3_is_the_suspect(&second, &night2);
    for pair in summary(&night2)["pairs"].as_array().unwrap() {
        let with_h3 = pair["client"] == "h3" || pair["server"] == "h3";
        let b = &pair["baseline"];
        if with_h3 {
            assert_eq!(b["verdict"], "regression", "{pair}");
            assert!(b["change_percent"].as_f64().unwrap() < -80.0, "{pair}");
        } else {
            assert_ne!(b["verdict"], "regression", "{pair}");
        }
    }
}

#[test]
fn all_pairs_through_ssh_fail_exactly_the_shaped_host() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up(Some("h3"));
    let dir = tempfile::tempdir().unwrap();
    let launcher = format!(
        "kind = \"ssh\"\nssh_config = \"{}\"",
        bed.ssh_config().display()
    );
    let p = plan(dir.path(), &launcher, "", ALL_PAIRS);
    let out_dir = dir.path().join("out");
    let out = run_plan(Some("lbh-sw"), &[], &p, &out_dir, &[]);
    assert_h3_is_the_suspect(&out, &out_dir);
}

#[test]
fn an_unreachable_host_and_a_host_that_dies_are_reported_and_the_rest_goes_on() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up(None);
    let dir = tempfile::tempdir().unwrap();
    let launcher = format!(
        "kind = \"ssh\"\nssh_config = \"{}\"",
        bed.ssh_config().display()
    );
    // h9 is in the plan but nowhere on the network; h4 goes off the network during its first 4 s test.
    let suite = r#"[[suite]]
topology = "pairs"
pairs = [["h1", "h9"], ["h2", "h3"], ["h1", "h4"], ["h4", "h2"]]
tests = [{ test = "bw", size = "64K", duration = "4s", warmup = "0.2s" }]
"#;
    let p = plan(dir.path(), &launcher, "h9 = \"10.77.0.9\"", suite);
    let out_dir = dir.path().join("out");
    // Round 1 runs h1->h9 and h2->h3, round 2 h1->h4: h4 goes down once h1's client has connected to
    // the server on h4 (the harness's default port), whenever that is.
    let done = AtomicBool::new(false);
    let (out, mid_test) = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            let connected = wait_until(Duration::from_secs(120), || {
                done.load(Ordering::Relaxed) || established("lbh-h4", 18515)
            }) && !done.load(Ordering::Relaxed);
            if connected {
                let _ = Command::new("ip")
                    .args(["-n", "lbh-h4", "link", "set", "eth0", "down"])
                    .status();
            }
            connected
        });
        let out = run_plan(Some("lbh-sw"), &[], &p, &out_dir, &[]);
        done.store(true, Ordering::Relaxed);
        (out, killer.join().unwrap())
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        mid_test,
        "h1's client never connected to the server on h4, so h4 was not taken down mid-test: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    let s = summary(&out_dir);
    let verdict = |c: &str, sv: &str| {
        s["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["client"] == c && p["server"] == sv)
            .unwrap_or_else(|| panic!("no pair {c}->{sv}: {text}"))
            .clone()
    };
    let h9 = verdict("h1", "h9");
    assert_eq!(h9["verdict"], "error", "{h9}");
    assert!(h9["reason"].as_str().unwrap().contains("h9"), "{h9}");
    assert_eq!(verdict("h2", "h3")["verdict"], "pass", "{text}");
    let died = verdict("h1", "h4");
    assert_ne!(died["verdict"], "pass", "{died}");
    let after = verdict("h4", "h2");
    assert_eq!(after["verdict"], "error", "{after}");
    let unreachable: Vec<&str> = s["unreachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(unreachable.contains(&"h9"), "{unreachable:?}");
    assert!(text.contains("did not answer: "), "{text}");
}
