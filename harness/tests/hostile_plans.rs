//! Plans written by someone else (issue 12, finding 6): a plan's name, suite names and labels may hold
//! anything and must reach the hosts as the same single words, never as shell code; host names, node
//! names and addresses must be names or addresses, and a node can never become an ssh option.
//!
//! Real programs throughout: pdsh with `-R ssh` (through a stand-in `ssh` that runs the command line with
//! `sh -c`, as sshd runs it with the login shell) and `-R exec`, ssh itself, `linkbench-harness check`
//! and `run`, and, on the testbed (root: network namespaces and one sshd per host), whole runs through
//! `pdsh -R ssh` with a real sshd. Marker files say whether anything ran that should not have.

mod common;

use common::{bin, repo};
use linkbench_harness::{launcher, plan::Plan};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// Words with shell code in them, each of which would create `dir/m1`.. `dir/m3` if a shell ran it.
fn code_words(dir: &Path) -> Vec<String> {
    let m = |i: u32| dir.join(format!("m{i}")).display().to_string();
    vec![
        format!("harness.plan=x;touch {};", m(1)),
        format!("$(touch {})", m(2)),
        format!("`touch {}`", m(3)),
    ]
}

/// Words a shell would split or choke on, pdsh would expand, or a program would take for an option.
fn awkward_words() -> Vec<String> {
    [
        "link=dac 1m",
        "  two  spaces ",
        "it's \"quoted\"",
        "50%h %u %n %% 100%",
        "",
        "-n",
    ]
    .map(String::from)
    .to_vec()
}

fn assert_no_markers(dir: &Path) {
    for i in 1..=3 {
        let m = dir.join(format!("m{i}"));
        assert!(
            !m.exists(),
            "{} was created: a word ran as code",
            m.display()
        );
    }
}

fn launcher_of(kind_lines: &str) -> linkbench_harness::plan::Launcher {
    let text = format!(
        "name='x'\n[launcher]\n{kind_lines}\n[hosts]\na='10.0.0.1'\nb='10.0.0.2'\n[[suite]]\ntopology='all-pairs'\ntests=[{{}}]\n"
    );
    Plan::parse(&text, "x.toml").unwrap().launcher
}

/// `printf '<%s>\n' WORDS` on `node` through `launcher`; the words as they arrived, one per line.
fn words_through(
    l: &linkbench_harness::plan::Launcher,
    node: &str,
    words: &[String],
    path: Option<&Path>,
) -> Vec<String> {
    let mut argv = vec!["printf".to_string(), "<%s>\n".into()];
    argv.extend(words.iter().cloned());
    let mut c = launcher::command(l, node, &argv);
    if let Some(p) = path {
        c.env(
            "PATH",
            format!("{}:{}", p.display(), std::env::var("PATH").unwrap()),
        );
    }
    let out = c.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .map(|line| launcher::strip_prefix(l, node, line).to_string())
        .map(|w| w.trim_start_matches('<').trim_end_matches('>').to_string())
        .collect()
}

#[test]
fn pdsh_over_ssh_hands_every_word_to_the_remote_shell_intact() {
    let dir = tempfile::tempdir().unwrap();
    // What sshd does with the command line pdsh's ssh rcmd hands to `ssh ... HOST LINE`.
    let fake = dir.path().join("bin");
    std::fs::create_dir(&fake).unwrap();
    let ssh = fake.join("ssh");
    std::fs::write(
        &ssh,
        "#!/bin/sh\nfor line; do :; done\nexec sh -c \"$line\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let l = launcher_of("kind='pdsh'\npdsh_rcmd='ssh'");
    let words = code_words(dir.path());
    let got = words_through(&l, "h1", &words, Some(&fake));
    assert_no_markers(dir.path());
    assert_eq!(got, words);
    let words = awkward_words();
    assert_eq!(words_through(&l, "h1", &words, Some(&fake)), words);
}

#[test]
fn pdsh_exec_hands_every_word_over_intact() {
    let dir = tempfile::tempdir().unwrap();
    let l = launcher_of("kind='pdsh'\npdsh_rcmd='exec'");
    let mut words = code_words(dir.path());
    words.extend(awkward_words());
    // A dotted name too: pdsh prefixes its lines with the first part only (`n1: `).
    let got = words_through(&l, "n1.cluster.example", &words, None);
    assert_no_markers(dir.path());
    assert_eq!(got, words);
}

#[test]
fn ssh_reads_the_node_as_the_destination_never_as_an_option() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("m1");
    let node = format!("-oProxyCommand=touch {}", marker.display());
    let l = launcher_of("kind='ssh'\nssh_config='/dev/null'");
    let mut c = launcher::command(&l, &node, &["true".to_string()]);
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Real ssh: it must refuse or fail to reach such a host, never run the ProxyCommand.
    let out = c.stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    assert!(
        !marker.exists(),
        "ssh ran the node as -oProxyCommand: {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = args.iter().position(|a| *a == node).unwrap();
    assert_eq!(
        args.iter().position(|a| a == "--"),
        Some(at - 1),
        "the node must follow the first `--`: {args:?}"
    );
}

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linkbench-harness"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_and_run_refuse_hosts_that_are_not_names_or_addresses_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m1").display().to_string();
    let cases = [
        format!("h1 = {{ node = \"-oProxyCommand=touch {m}\", address = \"10.0.0.1\" }}"),
        format!("h1 = \"10.0.0.1;touch {m}\""),
        format!("h1 = \"$(touch {m})\""),
        format!("h1 = \"`touch {m}`\""),
        format!("h1 = {{ node = \"h1 ;touch {m}\", address = \"10.0.0.1\" }}"),
        "\"h1 x\" = \"10.0.0.1\"".to_string(),
        "h1 = \"\"".to_string(),
        "h1 = \"h[1-4]\"".to_string(),
        "h1 = \"10.0.0.1,10.0.0.2\"".to_string(),
        "h1 = \"root@10.0.0.1\"".to_string(),
        "h1 = \"10.0.0.1:18515\"".to_string(),
        "h1 = \"^/etc/hosts\"".to_string(),
        "h1 = \"10.0.0.1\\nh3\"".to_string(),
    ];
    for (i, host) in cases.iter().enumerate() {
        let plan = dir.path().join(format!("p{i}.toml"));
        std::fs::write(
            &plan,
            format!("name='x'\n[launcher]\nkind='ssh'\n[hosts]\n{host}\nh2 = \"10.0.0.2\"\n[[suite]]\ntopology='all-pairs'\ntests=[{{}}]\n"),
        )
        .unwrap();
        let out_dir = dir.path().join("out");
        for args in [
            vec!["check", plan.to_str().unwrap()],
            vec![
                "run",
                plan.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
            ],
        ] {
            let out = harness(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{host}: {args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{host}: one line: {err}");
            assert!(
                err.contains("host 'h1") && err.contains("use a host name"),
                "{host}: names the host and the rule: {err}"
            );
            assert!(!out_dir.exists(), "nothing is written for a bad plan");
        }
    }
    assert!(!Path::new(&m).exists());
}

/// One testbed at a time. The prefix is this file's own, so that the testbed tests elsewhere (prefix
/// lbh) can run at the same time.
static TESTBED: Mutex<()> = Mutex::new(());
const PREFIX: &str = "lbhq";

/// Two hosts with an sshd each, no Slurm; down again when dropped.
struct Testbed {
    work: tempfile::TempDir,
}

impl Testbed {
    fn up() -> Testbed {
        common::require_testbed(false);
        let work = tempfile::tempdir().unwrap();
        let out = self::testbed(work.path(), "up");
        assert!(
            out.status.success(),
            "testbed up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Testbed { work }
    }

    fn ssh_config(&self) -> PathBuf {
        self.work.path().join("ssh/ssh_config")
    }
}

fn testbed(work: &Path, what: &str) -> Output {
    Command::new("bash")
        .arg(repo().join("harness/testbed/testbed.sh"))
        .arg(what)
        .env("W", work)
        .env("N", "2")
        .env("PREFIX", PREFIX)
        .env("SLURM", "0")
        .output()
        .unwrap()
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = testbed(self.work.path(), "down");
    }
}

/// Runs a plan h1 -> h2 through pdsh -R ssh (real sshd on the hosts) from the bridge's namespace;
/// returns the harness's output and the pair's report.
fn run_through_pdsh_ssh(
    bed: &Testbed,
    dir: &Path,
    name: &str,
    suite_name: &str,
    labels: &str,
) -> (Output, serde_json::Value) {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = {name:?}
[launcher]
kind = "pdsh"
pdsh_rcmd = "ssh"
server_bin = "{}"
client_bin = "{}"
timeout = "20s"
retries = 0
[hosts]
h1 = "10.77.0.1"
h2 = "10.77.0.2"
[[suite]]
name = {suite_name:?}
topology = "pairs"
pairs = [["h1", "h2"]]
tests = [{{ test = "bw", size = "64K", duration = "0.5s", warmup = "0.2s" }}]
labels = {labels}
"#,
            bin("linkbench-server").display(),
            bin("linkbench-client").display()
        ),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = Command::new("ip")
        .args(["netns", "exec", &format!("{PREFIX}-sw")])
        .arg(env!("CARGO_BIN_EXE_linkbench-harness"))
        .args(["run", plan.to_str().unwrap(), "--out"])
        .arg(&out_dir)
        .env(
            "PDSH_SSH_ARGS_APPEND",
            format!("-F {}", bed.ssh_config().display()),
        )
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("summary.json"))
            .unwrap_or_else(|e| panic!("no summary.json ({e}): {text}")),
    )
    .unwrap();
    let pair = &summary["pairs"][0];
    assert_eq!(pair["verdict"], "pass", "{pair}\n{text}");
    let report = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join(pair["report"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    (out, report)
}

#[test]
fn a_hostile_plan_runs_through_pdsh_over_ssh_with_its_words_intact() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up();
    let dir = tempfile::tempdir().unwrap();
    let m = |i: u32| dir.path().join(format!("m{i}")).display().to_string();
    let name = format!("acceptance;touch {};", m(1));
    let suite = format!("$(touch {})", m(2));
    let cmd = format!("`touch {}`", m(3));
    let labels = format!("{{ cmd = {cmd:?}, pct = \"100%h %%\", quote = \"say \\\"hi\\\"\" }}");
    let (out, report) = run_through_pdsh_ssh(&bed, dir.path(), &name, &suite, &labels);
    assert_eq!(out.status.code(), Some(0));
    assert_no_markers(dir.path());
    let l = &report["labels"];
    assert_eq!(l["harness.plan"], name.as_str(), "{l}");
    assert_eq!(l["harness.suite"], suite.as_str(), "{l}");
    assert_eq!(l["cmd"], cmd.as_str(), "{l}");
    assert_eq!(l["pct"], "100%h %%", "{l}");
    assert_eq!(l["quote"], "say \"hi\"", "{l}");
}

#[test]
fn a_label_with_a_space_runs_through_pdsh_over_ssh() {
    let _one = TESTBED.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Testbed::up();
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = run_through_pdsh_ssh(
        &bed,
        dir.path(),
        "acceptance",
        "dac",
        "{ link = \"dac 1m\" }",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report["labels"]["link"], "dac 1m");
}
