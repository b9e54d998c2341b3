//! Plans: what to run over which hosts, read from TOML. Unknown keys are errors (a typo must not
//! silently change a plan), and every reference (a host in `pairs`, a suite in `[[compare]]`) is checked
//! before anything runs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Why a plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("plan {path} is not valid: {message}")]
    Syntax { path: String, message: String },
    #[error("plan {path}: {message}")]
    Invalid { path: String, message: String },
}

/// How commands reach the hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// Every host is this machine (or a namespace of it, with `wrap`).
    Local,
    Ssh,
    Pdsh,
    Slurm,
}

/// `[launcher]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launcher {
    pub kind: LauncherKind,
    /// linkbench-server as the hosts know it.
    #[serde(default = "default_server_bin")]
    pub server_bin: String,
    #[serde(default = "default_client_bin")]
    pub client_bin: String,
    /// First data port; pairs running at once on one address use the following ones.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Time allowed beyond a test's own duration before the pair is abandoned, e.g. "30s".
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Attempts after the first when a pair ends in an error (not when it fails its expectation).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// A prefix for every command on a host; `{host}` becomes the host's node name
    /// (e.g. `["nsenter", "--net=/run/netns/{host}"]`).
    #[serde(default)]
    pub wrap: Vec<String>,
    /// ssh: a config file (`ssh -F`), and more options.
    pub ssh_config: Option<String>,
    #[serde(default)]
    pub ssh_options: Vec<String>,
    /// pdsh: the rcmd module (`pdsh -R`), e.g. "ssh" or "exec".
    pub pdsh_rcmd: Option<String>,
    /// slurm: more srun arguments (`--partition=...`, `--account=...`).
    #[serde(default)]
    pub srun_args: Vec<String>,
}

fn default_server_bin() -> String {
    "linkbench-server".into()
}
fn default_client_bin() -> String {
    "linkbench-client".into()
}
fn default_port() -> u16 {
    18515
}
fn default_timeout() -> String {
    "60s".into()
}
fn default_retries() -> u32 {
    1
}

/// A host: the node name launchers use, and the address the data path uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HostEntry {
    /// `h1 = "10.77.0.1"`: node name = the key.
    Address(String),
    /// `h1_dac = { node = "h1", address = "10.0.0.1" }`: one node, a particular port.
    Full { node: String, address: String },
}

/// How the pairs of a suite are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// The `pairs` listed, `[client, server]`.
    Pairs,
    /// Every unordered pair once (client = the host listed first in `[hosts]`).
    AllPairs,
    /// Each host to the next, the last to the first.
    Ring,
}

/// One linkbench test, as `linkbench-client` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    #[serde(default = "default_transport")]
    pub transport: String,
    /// RDMA operation (`write`, `read`, `send`; transport `rdma` only; the client's default is write).
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default = "default_test")]
    pub test: String,
    pub size: Option<String>,
    #[serde(default = "default_duration")]
    pub duration: String,
    #[serde(default = "default_warmup")]
    pub warmup: String,
    #[serde(default = "default_streams")]
    pub streams: u32,
    #[serde(default)]
    pub reverse: bool,
    /// TCP bandwidth: `copy` (the client's default), `discard` or `zerocopy` (`--recv-mode`).
    #[serde(default)]
    pub recv_mode: Option<String>,
}

fn default_transport() -> String {
    "tcp".into()
}
fn default_test() -> String {
    "bw".into()
}
fn default_duration() -> String {
    "1s".into()
}
fn default_warmup() -> String {
    "0.5s".into()
}
fn default_streams() -> u32 {
    1
}

impl TestSpec {
    /// A short name: `tcp bw 64K x1`, `rdma write bw 64K x2`.
    pub fn label(&self) -> String {
        format!(
            "{}{} {}{} {} x{}{}",
            self.transport,
            self.op
                .as_deref()
                .map(|o| format!(" {o}"))
                .unwrap_or_default(),
            self.test,
            if self.reverse { " reverse" } else { "" },
            self.size.as_deref().unwrap_or("default"),
            self.streams,
            self.recv_mode
                .as_deref()
                .map(|m| format!(" recv {m}"))
                .unwrap_or_default()
        )
    }

    /// The client flags for this test.
    pub fn client_args(&self, repeat: u32) -> Vec<String> {
        let mut a = vec![
            "--transport".into(),
            self.transport.clone(),
            "--test".into(),
            self.test.clone(),
            "--duration".into(),
            self.duration.clone(),
            "--warmup".into(),
            self.warmup.clone(),
            "--streams".into(),
            self.streams.to_string(),
            "--repeat".into(),
            repeat.to_string(),
        ];
        if let Some(s) = &self.size {
            a.extend(["--size".into(), s.clone()]);
        }
        if let Some(op) = &self.op {
            a.extend(["--op".into(), op.clone()]);
        }
        if self.reverse {
            a.push("--reverse".into());
        }
        if let Some(mode) = &self.recv_mode {
            a.extend(["--recv-mode".into(), mode.clone()]);
        }
        a
    }

    /// linkbench-client's flags for this test as a soak's traffic: no duration and no repeats (the
    /// soak sets its length and is one trial).
    pub fn soak_traffic_args(&self) -> Vec<String> {
        let all = self.client_args(1);
        let mut out = Vec::with_capacity(all.len());
        let mut words = all.into_iter();
        while let Some(w) = words.next() {
            if w == "--duration" || w == "--repeat" {
                words.next();
            } else {
                out.push(w);
            }
        }
        out
    }

    /// Seconds one run of this test takes, warm-up included.
    pub fn seconds(&self) -> f64 {
        let d = |t: &str| {
            linkbench::units::parse_duration(t)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        };
        d(&self.duration) + d(&self.warmup)
    }
}

/// `[[suite]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name used in reports and `[[compare]]`; `suite0`, `suite1`, ... when absent.
    pub name: Option<String>,
    pub topology: Topology,
    #[serde(default)]
    pub pairs: Vec<[String; 2]>,
    pub tests: Vec<TestSpec>,
    /// Trials of each test per pair (`--repeat`); 5 or more lets the comparison reach significance.
    #[serde(default = "default_repeat")]
    pub repeat: u32,
    /// `--label` tags for every report of this suite (link = "dac", module = "SN...").
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A soak suite: one soak this long per pair (`soak = "24h"`, linkbench-client `--soak`), the pairs
    /// of a round at once; its one bandwidth test is the traffic, and each pair's verdict is the soak's.
    #[serde(default)]
    pub soak: Option<String>,
    /// Soak: time between samples (`--sample-interval`, default 10s).
    #[serde(default)]
    pub sample_interval: Option<String>,
    /// Soak: a qualification profile, a path on the client hosts (`--profile`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Latency probe round trips a second beside the traffic (`--probe-rate`).
    #[serde(default)]
    pub probe_rate: Option<u32>,
    /// Soak: the client's link samples replayed from recorded steps, a directory on the client hosts
    /// (`--replay-link`, for validating a profile without a module; the reports say so).
    #[serde(default)]
    pub replay_link: Option<String>,
}

impl Suite {
    /// The soak's length in seconds, for a soak suite.
    pub fn soak_seconds(&self) -> Option<f64> {
        let soak = self.soak.as_deref()?;
        linkbench::units::parse_duration(soak)
            .ok()
            .map(|d| d.as_secs_f64())
    }

    /// linkbench-client's soak flags for this suite, writing its series to `series`.
    pub fn soak_args(&self, series: &str) -> Vec<String> {
        let Some(soak) = &self.soak else {
            return Vec::new();
        };
        let mut a = vec![
            "--soak".into(),
            soak.clone(),
            "--sample-interval".into(),
            self.sample_interval.clone().unwrap_or_else(|| "10s".into()),
            "--series".into(),
            series.into(),
        ];
        if let Some(p) = &self.profile {
            a.extend(["--profile".into(), p.clone()]);
        }
        if let Some(r) = &self.replay_link {
            a.extend(["--replay-link".into(), r.clone()]);
        }
        a
    }
}

fn default_repeat() -> u32 {
    1
}

/// `[expect]`: what every pair must reach.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Bandwidth tests: the median trial's bits per second must be at least this.
    pub min_bits_per_second: Option<f64>,
    /// Latency tests: the median trial's round-trip p99 must be at most this.
    pub max_latency_p99_ns: Option<f64>,
}

/// `[[compare]]`: compare the reports of two suites with linkbench-compare's logic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSuites {
    pub baseline: String,
    pub candidate: String,
}

/// A whole plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    pub launcher: Launcher,
    pub hosts: BTreeMap<String, HostEntry>,
    /// The order hosts were listed in (TOML tables keep it; BTreeMap does not).
    #[serde(skip)]
    pub host_order: Vec<String>,
    #[serde(rename = "suite")]
    pub suites: Vec<Suite>,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub compare: Vec<CompareSuites>,
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            path: p.clone(),
            source,
        })?;
        Plan::parse(&text, &p)
    }

    /// Parses and checks plan text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Plan, PlanError> {
        let mut plan: Plan = toml::from_str(text).map_err(|e| PlanError::Syntax {
            path: path.into(),
            message: e.message().replace('\n', "; ")
                + &e.span()
                    .map(|s| format!(" (line {})", text[..s.start].lines().count().max(1)))
                    .unwrap_or_default(),
        })?;
        let order: toml::Table = toml::from_str(text).map_err(|e| PlanError::Syntax {
            path: path.into(),
            message: e.to_string(),
        })?;
        plan.host_order = order
            .get("hosts")
            .and_then(|h| h.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        plan.check().map_err(|message| PlanError::Invalid {
            path: path.into(),
            message,
        })?;
        Ok(plan)
    }

    /// Every check after parsing; the message of the first that fails.
    fn check(&mut self) -> Result<(), String> {
        if self.hosts.len() < 2 {
            return Err("[hosts] needs at least two hosts".into());
        }
        if self.suites.is_empty() {
            return Err("no [[suite]]: nothing to run".into());
        }
        linkbench::units::parse_duration(&self.launcher.timeout)
            .map_err(|e| format!("launcher.timeout: {e}"))?;
        self.check_hosts()?;
        no_nul("name", &self.name)?;
        for (i, suite) in self.suites.iter_mut().enumerate() {
            let name = suite
                .name
                .get_or_insert_with(|| format!("suite{i}"))
                .clone();
            check_suite(suite, &self.hosts).map_err(|e| format!("suite {name}: {e}"))?;
        }
        let names: Vec<String> = self.suites.iter().filter_map(|s| s.name.clone()).collect();
        for c in &self.compare {
            for s in [&c.baseline, &c.candidate] {
                if !names.contains(s) {
                    return Err(format!(
                        "[[compare]] names suite '{s}', which the plan does not have"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Host names, node names and addresses must be names or addresses: they reach ssh, pdsh and srun
    /// as destinations and the hosts' command lines as words. A bracketed IPv6 address loses its
    /// brackets (the runner adds them where a port follows).
    fn check_hosts(&mut self) -> Result<(), String> {
        for (host, entry) in self.hosts.iter_mut() {
            let bad = |what: &str, value: &str, problem: &str| {
                Err(format!(
                    "host '{}': {what} '{}' {problem}: {HOST_NAME_RULE}",
                    host.escape_debug(),
                    value.escape_debug()
                ))
            };
            if let Some(p) = host_name_problem(host) {
                return bad("name", host, p);
            }
            let address = match entry {
                HostEntry::Address(a) => a,
                HostEntry::Full { node, address } => {
                    if let Some(p) = host_name_problem(node) {
                        return bad("node", node, p);
                    }
                    address
                }
            };
            if let Some(v6) = address
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .filter(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
            {
                *address = v6.to_string();
            }
            if let Some(p) = host_name_problem(address) {
                return bad("address", address, p);
            }
        }
        Ok(())
    }

    /// The node name launchers use for a host.
    pub fn node(&self, host: &str) -> String {
        match self.hosts.get(host) {
            Some(HostEntry::Full { node, .. }) => node.clone(),
            _ => host.to_string(),
        }
    }

    /// The data-path address of a host.
    pub fn address(&self, host: &str) -> String {
        match self.hosts.get(host) {
            Some(HostEntry::Full { address, .. }) | Some(HostEntry::Address(address)) => {
                address.clone()
            }
            None => host.to_string(),
        }
    }

    /// The per-pair allowance beyond the test's own time.
    pub fn timeout(&self) -> Duration {
        linkbench::units::parse_duration(&self.launcher.timeout).unwrap_or(Duration::from_secs(60))
    }
}

/// What a host name, node name or address may be, for errors.
pub const HOST_NAME_RULE: &str =
    "use a host name (letters, digits, '.', '_' and '-', starting with a \
letter or digit, at most 253 characters) or an IPv4 or IPv6 address";

/// Why `s` is not a host name or address, or `None` when it is one: a DNS-style name (letters, digits,
/// `.`, `_`, `-`, starting with a letter or digit) or an IPv4/IPv6 literal. Such a word means the same
/// to a shell, to ssh, pdsh and srun (never an option, a list or a pattern) and to linkbench.
pub fn host_name_problem(s: &str) -> Option<&'static str> {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    if s.is_empty() {
        Some("is empty")
    } else if s.len() > 253 {
        Some("is longer than 253 characters")
    } else if s.starts_with('-') {
        Some("starts with '-' (it would be read as an option)")
    } else if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("does not start with a letter or digit")
    } else if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        Some("is not a host name or address")
    } else {
        None
    }
}

/// A word that must reach the hosts' command lines whole cannot hold a NUL (no argv can).
fn no_nul(what: &str, value: &str) -> Result<(), String> {
    match value.contains('\0') {
        true => Err(format!(
            "{what} '{}' holds a NUL character, which no command line can carry: remove it",
            value.escape_debug()
        )),
        false => Ok(()),
    }
}

/// One suite's checks (its name is added to the message by the caller).
fn check_suite(suite: &Suite, hosts: &BTreeMap<String, HostEntry>) -> Result<(), String> {
    if suite.tests.is_empty() {
        return Err("tests = [] runs nothing".into());
    }
    if suite.repeat == 0 {
        return Err("repeat must be at least 1".into());
    }
    match suite.topology {
        Topology::Pairs if suite.pairs.is_empty() => {
            return Err("topology \"pairs\" needs pairs = [[\"client\", \"server\"], ...]".into())
        }
        Topology::Pairs => {}
        _ if !suite.pairs.is_empty() => {
            return Err("pairs are only read with topology = \"pairs\"".into())
        }
        _ => {}
    }
    for [c, s] in &suite.pairs {
        for h in [c, s] {
            if !hosts.contains_key(h) {
                return Err(format!(
                    "pair host '{}' is not in [hosts]",
                    h.escape_debug()
                ));
            }
        }
        if c == s {
            return Err(format!("pair [{c}, {s}] is one host"));
        }
    }
    if let Some(name) = &suite.name {
        no_nul("name", name)?;
    }
    check_soak(suite)?;
    if let Some(rate) = suite.probe_rate {
        if !(1..=linkbench::control::limits::MAX_PROBE_RATE).contains(&rate) {
            return Err(format!(
                "probe_rate {rate} is not from 1 to 100000 round trips a second"
            ));
        }
        if suite
            .tests
            .iter()
            .any(|t| t.test == "lat" || t.transport != "tcp")
        {
            return Err("probe_rate runs beside TCP bandwidth tests (bw, bibw) only".into());
        }
    }
    for (key, value) in &suite.labels {
        if key.trim().is_empty() || key.contains('=') || key.trim() != key {
            return Err(format!(
                "label key '{}' cannot reach linkbench-client intact (it reads KEY=VALUE and trims \
                 the key): use a key without '=' or surrounding spaces",
                key.escape_debug()
            ));
        }
        no_nul("label", value)?;
    }
    suite.tests.iter().try_for_each(check_test)
}

/// A soak suite's checks: a length, a sample interval, one bandwidth test; soak keys only with `soak`.
fn check_soak(suite: &Suite) -> Result<(), String> {
    let Some(soak) = &suite.soak else {
        let stray = [
            ("sample_interval", suite.sample_interval.is_some()),
            ("profile", suite.profile.is_some()),
            ("replay_link", suite.replay_link.is_some()),
        ];
        return match stray.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(format!("{key} applies to a soak suite: add soak = \"24h\"")),
            None => Ok(()),
        };
    };
    linkbench::units::parse_duration(soak).map_err(|e| format!("soak: {e}"))?;
    if let Some(i) = &suite.sample_interval {
        let d = linkbench::units::parse_duration(i).map_err(|e| format!("sample_interval: {e}"))?;
        if d.as_secs_f64() < linkbench::control::limits::MIN_SAMPLE_INTERVAL_S {
            return Err(format!("sample_interval {i} is under 0.1 s"));
        }
    }
    match suite.tests.as_slice() {
        [t] if t.test != "lat" => {}
        _ => return Err(
            "a soak suite runs one bandwidth test as its traffic: tests = [{ test = \"bw\", ... }]"
                .into(),
        ),
    }
    if suite.repeat != 1 {
        return Err("a soak is one trial: drop repeat from a soak suite".into());
    }
    for (key, v) in [
        ("profile", &suite.profile),
        ("replay_link", &suite.replay_link),
    ] {
        if let Some(v) = v {
            no_nul(key, v)?;
        }
    }
    Ok(())
}

/// One test's checks.
fn check_test(t: &TestSpec) -> Result<(), String> {
    for (what, v) in [("duration", &t.duration), ("warmup", &t.warmup)] {
        linkbench::units::parse_duration(v).map_err(|e| format!("{what}: {e}"))?;
    }
    if let Some(s) = &t.size {
        linkbench::units::parse_size(s).map_err(|e| format!("size: {e}"))?;
    }
    if !["bw", "bibw", "lat"].contains(&t.test.as_str()) {
        return Err(format!("test '{}' is not bw, bibw or lat", t.test));
    }
    if !["tcp", "rdma"].contains(&t.transport.as_str()) {
        return Err(format!("transport '{}' is not tcp or rdma", t.transport));
    }
    if let Some(mode) = &t.recv_mode {
        if !["copy", "discard", "zerocopy"].contains(&mode.as_str()) {
            return Err(format!(
                "recv_mode '{mode}' is not copy, discard or zerocopy"
            ));
        }
        if t.transport != "tcp" || t.test == "lat" {
            return Err(format!(
                "recv_mode applies to TCP bandwidth tests (bw, bibw), not {} {}",
                t.transport, t.test
            ));
        }
    }
    match (&t.op, t.transport.as_str()) {
        (Some(op), "rdma") if !["write", "read", "send"].contains(&op.as_str()) => {
            Err(format!("op '{op}' is not write, read or send"))
        }
        (Some(op), "tcp") => Err(format!("op '{op}' needs transport = \"rdma\"")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "acceptance"
[launcher]
kind = "slurm"
[hosts]
h2 = "10.77.0.2"
h1 = "10.77.0.1"
h1_dac = { node = "h1", address = "10.1.0.1" }
[[suite]]
topology = "all-pairs"
tests = [{ transport = "tcp", test = "bw", size = "64K", duration = "1s" }]
[expect]
min_bits_per_second = 1.5e9
"#;

    #[test]
    fn a_test_takes_its_duration_and_warm_up_and_is_named_by_what_it_runs() {
        let p = Plan::parse(
            &GOOD.replace(
                "tests = [{ transport = \"tcp\", test = \"bw\", size = \"64K\", duration = \"1s\" }]",
                "tests = [{ duration = \"2.5s\", warmup = \"500ms\", reverse = true, streams = 4 }, {}]",
            ),
            "p.toml",
        )
        .unwrap();
        let [t, d] = [&p.suites[0].tests[0], &p.suites[0].tests[1]];
        assert_eq!(t.seconds(), 3.0);
        assert_eq!(t.label(), "tcp bw reverse default x4");
        let args = t.client_args(2);
        assert!(args.ends_with(&["--reverse".to_string()]), "{args:?}");
        assert!(
            !args.contains(&"--size".to_string()),
            "no size: the client's default"
        );
        assert_eq!(d.seconds(), 1.5, "the defaults: 1 s and 0.5 s of warm-up");
        assert_eq!(
            p.timeout(),
            Duration::from_secs(60),
            "the launcher's default"
        );
    }

    #[test]
    fn a_receive_mode_becomes_the_client_flag_and_is_checked() {
        let with = |test: &str| {
            GOOD.replace(
                "tests = [{ transport = \"tcp\", test = \"bw\", size = \"64K\", duration = \"1s\" }]",
                &format!("tests = [{test}]"),
            )
        };
        let p = Plan::parse(&with("{ recv_mode = \"discard\" }"), "p.toml").unwrap();
        let t = &p.suites[0].tests[0];
        assert_eq!(t.label(), "tcp bw default x1 recv discard");
        assert!(t
            .client_args(1)
            .ends_with(&["--recv-mode".into(), "discard".into()]));
        for (test, needle) in [
            (
                "{ recv_mode = \"mmap\" }",
                "recv_mode 'mmap' is not copy, discard or zerocopy",
            ),
            (
                "{ test = \"lat\", recv_mode = \"discard\" }",
                "recv_mode applies to TCP bandwidth",
            ),
        ] {
            let err = Plan::parse(&with(test), "p.toml").unwrap_err().to_string();
            assert!(err.contains(needle), "{test}: {err}");
        }
    }

    #[test]
    fn a_plan_reads_with_defaults_and_host_order() {
        let p = Plan::parse(GOOD, "good.toml").unwrap();
        assert_eq!(p.launcher.kind, LauncherKind::Slurm);
        assert_eq!(p.host_order, ["h2", "h1", "h1_dac"]);
        assert_eq!(p.node("h1_dac"), "h1");
        assert_eq!(p.address("h1_dac"), "10.1.0.1");
        assert_eq!(p.suites[0].name.as_deref(), Some("suite0"));
        assert_eq!(p.expect.min_bits_per_second, Some(1.5e9));
        assert_eq!(p.suites[0].tests[0].label(), "tcp bw 64K x1");
        let rdma = GOOD.replace("transport = \"tcp\"", "transport = \"rdma\", op = \"read\"");
        let t = &Plan::parse(&rdma, "r.toml").unwrap().suites[0].tests[0];
        assert_eq!(t.label(), "rdma read bw 64K x1");
        let args = t.client_args(1).join(" ");
        assert!(
            args.contains("--transport rdma") && args.contains("--op read"),
            "{args}"
        );
    }

    #[test]
    fn host_names_and_addresses_are_names_or_addresses() {
        for ok in [
            "h1",
            "n-1.cluster.example",
            "node_7",
            "1a",
            "10.0.0.1",
            "fd00::1",
            "::1",
        ] {
            assert_eq!(host_name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("-oProxyCommand=x", "starts with '-'"),
            (".h1", "does not start"),
            ("h1;x", "not a host name"),
            ("h[1-4]", "not a host name"),
            ("a b", "not a host name"),
            ("[fd00::1]", "does not start"),
            ("fe80::1%eth0", "not a host name"),
        ] {
            let p = host_name_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(p.contains(why), "{bad}: {p}");
        }
        assert!(host_name_problem(&"a".repeat(254)).is_some());
        let text = GOOD.replace("10.1.0.1", "[fd00::1]");
        let p = Plan::parse(&text, "v6.toml").unwrap();
        assert_eq!(p.address("h1_dac"), "fd00::1", "brackets come off");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                GOOD.replace("kind = \"slurm\"", "kind = \"mpi\""),
                "unknown variant",
            ),
            (
                GOOD.replace("[expect]", "[expect]\nmin_bps = 1"),
                "unknown field",
            ),
            (GOOD.replace("\"all-pairs\"", "\"pairs\""), "needs pairs"),
            (
                GOOD.replace(
                    "topology = \"all-pairs\"",
                    "topology = \"pairs\"\npairs = [[\"h1\", \"h9\"]]",
                ),
                "'h9' is not in [hosts]",
            ),
            (GOOD.replace("size = \"64K\"", "size = \"64Q\""), "size"),
            (
                GOOD.replace("test = \"bw\"", "test = \"bandwidth\""),
                "not bw, bibw or lat",
            ),
            (
                GOOD.replace("transport = \"tcp\"", "transport = \"ib\""),
                "not tcp or rdma",
            ),
            (
                GOOD.replace("test = \"bw\"", "op = \"write\", test = \"bw\""),
                "needs transport = \"rdma\"",
            ),
            (
                GOOD.replace(
                    "transport = \"tcp\"",
                    "transport = \"rdma\", op = \"atomic\"",
                ),
                "not write, read or send",
            ),
            ("name = \"x\"\n[launcher\nkind=1".to_string(), "line"),
            (
                GOOD.replace("h2 = \"10.77.0.2\"", "h2 = \"10.77.0.2 \""),
                "host 'h2': address '10.77.0.2 ' is not a host name or address: use a host name",
            ),
            (
                GOOD.replace("node = \"h1\"", "node = \"-h1\""),
                "host 'h1_dac': node '-h1' starts with '-'",
            ),
            (
                GOOD.replace("[expect]", "labels = { \"a=b\" = \"c\" }\n[expect]"),
                "label key 'a=b'",
            ),
            (
                GOOD.replace("name = \"acceptance\"", "name = \"a\\u0000b\""),
                "NUL",
            ),
        ];
        for (text, expect) in cases {
            let e = Plan::parse(&text, "p.toml").unwrap_err().to_string();
            assert!(e.contains(expect), "{e} (wanted {expect})");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
