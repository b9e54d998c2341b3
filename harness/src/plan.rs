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
            "{}{} {}{} {} x{}",
            self.transport,
            self.op
                .as_deref()
                .map(|o| format!(" {o}"))
                .unwrap_or_default(),
            self.test,
            if self.reverse { " reverse" } else { "" },
            self.size.as_deref().unwrap_or("default"),
            self.streams
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
        a
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
        let invalid = |message: String| PlanError::Invalid {
            path: path.into(),
            message,
        };
        if plan.hosts.len() < 2 {
            return Err(invalid("[hosts] needs at least two hosts".into()));
        }
        if plan.suites.is_empty() {
            return Err(invalid("no [[suite]]: nothing to run".into()));
        }
        linkbench::units::parse_duration(&plan.launcher.timeout)
            .map_err(|e| invalid(format!("launcher.timeout: {e}")))?;
        for (i, suite) in plan.suites.iter_mut().enumerate() {
            let name = suite
                .name
                .get_or_insert_with(|| format!("suite{i}"))
                .clone();
            if suite.tests.is_empty() {
                return Err(invalid(format!("suite {name}: tests = [] runs nothing")));
            }
            if suite.repeat == 0 {
                return Err(invalid(format!("suite {name}: repeat must be at least 1")));
            }
            match suite.topology {
                Topology::Pairs if suite.pairs.is_empty() => {
                    return Err(invalid(format!(
                        "suite {name}: topology \"pairs\" needs pairs = [[\"client\", \"server\"], ...]"
                    )))
                }
                Topology::Pairs => {}
                _ if !suite.pairs.is_empty() => {
                    return Err(invalid(format!(
                        "suite {name}: pairs are only read with topology = \"pairs\""
                    )))
                }
                _ => {}
            }
            for [c, s] in &suite.pairs {
                for h in [c, s] {
                    if !plan.hosts.contains_key(h) {
                        return Err(invalid(format!(
                            "suite {name}: pair host '{h}' is not in [hosts]"
                        )));
                    }
                }
                if c == s {
                    return Err(invalid(format!(
                        "suite {name}: pair [{c}, {s}] is one host"
                    )));
                }
            }
            for t in &suite.tests {
                for (what, v) in [("duration", &t.duration), ("warmup", &t.warmup)] {
                    linkbench::units::parse_duration(v)
                        .map_err(|e| invalid(format!("suite {name}: {what}: {e}")))?;
                }
                if let Some(s) = &t.size {
                    linkbench::units::parse_size(s)
                        .map_err(|e| invalid(format!("suite {name}: size: {e}")))?;
                }
                if !["bw", "bibw", "lat"].contains(&t.test.as_str()) {
                    return Err(invalid(format!(
                        "suite {name}: test '{}' is not bw, bibw or lat",
                        t.test
                    )));
                }
                if !["tcp", "rdma"].contains(&t.transport.as_str()) {
                    return Err(invalid(format!(
                        "suite {name}: transport '{}' is not tcp or rdma",
                        t.transport
                    )));
                }
                match (&t.op, t.transport.as_str()) {
                    (Some(op), "rdma") if !["write", "read", "send"].contains(&op.as_str()) => {
                        return Err(invalid(format!(
                            "suite {name}: op '{op}' is not write, read or send"
                        )))
                    }
                    (Some(op), "tcp") => {
                        return Err(invalid(format!(
                            "suite {name}: op '{op}' needs transport = \"rdma\""
                        )))
                    }
                    _ => {}
                }
            }
        }
        let names: Vec<String> = plan.suites.iter().filter_map(|s| s.name.clone()).collect();
        for c in &plan.compare {
            for s in [&c.baseline, &c.candidate] {
                if !names.contains(s) {
                    return Err(invalid(format!(
                        "[[compare]] names suite '{s}', which the plan does not have"
                    )));
                }
            }
        }
        Ok(plan)
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
        ];
        for (text, expect) in cases {
            let e = Plan::parse(&text, "p.toml").unwrap_err().to_string();
            assert!(e.contains(expect), "{e} (wanted {expect})");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
