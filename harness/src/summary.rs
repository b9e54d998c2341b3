//! The outcome of a plan: `summary.json` (`pairs: [{client, server, test, bits_per_second, verdict,
//! reason}]`, suspects, comparisons), and its renderings: a table for the screen, an HTML page with a
//! bandwidth matrix per suite and test, JUnit XML (one test case per pair and test) and a Prometheus
//! textfile (node_exporter's textfile collector).

use crate::baseline::SuiteComparison;
use crate::runner::{PairOutcome, Verdict};
use linkbench::compare::html::escape as esc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The largest summary.json read back (`summary DIR`, `--baseline DIR`): 64 MiB. A pair's outcome is
/// about 400 bytes and a suite comparison's table a few KiB, so this is over 100,000 pairs.
const SUMMARY_LIMIT: linkbench::files::Limit = linkbench::files::Limit {
    bytes: 64 << 20,
    what: "a linkbench-harness summary",
};

/// A host and how its pairs fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostTally {
    pub host: String,
    pub pairs: usize,
    /// Pairs that failed or ended in an error.
    pub failing: usize,
    /// Pairs that ended in an error (the host may not have answered).
    pub errors: usize,
}

/// Everything `linkbench-harness run` decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub plan: String,
    pub started_at: String,
    pub finished_at: String,
    pub launcher: String,
    pub pairs: Vec<PairOutcome>,
    /// Every host, most failing pairs first.
    pub hosts: Vec<HostTally>,
    /// Hosts on failing pairs more than on passing ones (and on at least two failing pairs, or on every
    /// pair they were in): the likely culprits.
    pub suspects: Vec<String>,
    /// Hosts all of whose pairs ended in errors: they did not answer.
    pub unreachable: Vec<String>,
    pub comparisons: Vec<SuiteComparison>,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

impl Summary {
    /// Tallies outcomes into a summary.
    pub fn new(
        plan: &str,
        launcher: &str,
        started_at: String,
        pairs: Vec<PairOutcome>,
        comparisons: Vec<SuiteComparison>,
    ) -> Summary {
        let mut tally: BTreeMap<String, HostTally> = BTreeMap::new();
        for o in &pairs {
            for h in [&o.client, &o.server] {
                let t = tally.entry(h.clone()).or_insert(HostTally {
                    host: h.clone(),
                    pairs: 0,
                    failing: 0,
                    errors: 0,
                });
                t.pairs += 1;
                if o.verdict != Verdict::Pass {
                    t.failing += 1;
                }
                if o.verdict == Verdict::Error {
                    t.errors += 1;
                }
            }
        }
        let mut hosts: Vec<HostTally> = tally.into_values().collect();
        hosts.sort_by(|a, b| b.failing.cmp(&a.failing).then(a.host.cmp(&b.host)));
        let suspects = hosts
            .iter()
            .filter(|t| t.failing * 2 > t.pairs && (t.failing >= 2 || t.failing == t.pairs))
            .map(|t| t.host.clone())
            .collect();
        let unreachable = hosts
            .iter()
            .filter(|t| t.pairs > 0 && t.errors == t.pairs)
            .map(|t| t.host.clone())
            .collect();
        let count = |v: Verdict| pairs.iter().filter(|o| o.verdict == v).count();
        Summary {
            plan: plan.into(),
            started_at,
            finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            launcher: launcher.into(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            errors: count(Verdict::Error),
            hosts,
            suspects,
            unreachable,
            comparisons,
            pairs,
        }
    }

    /// True when every pair passed and no comparison regressed or failed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0 && self.comparisons.iter().all(|c| !c.failed())
    }

    /// Reads `DIR/summary.json`.
    pub fn read(dir: &Path) -> Result<Summary, String> {
        let path = dir.join("summary.json");
        let text =
            linkbench::files::read_regular(&path, SUMMARY_LIMIT).map_err(|e| e.to_string())?;
        serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not a linkbench-harness summary: {e}", path.display()))
    }

    /// Writes summary.json, summary.html, junit.xml and linkbench.prom into `dir`.
    pub fn write_all(&self, dir: &Path) -> std::io::Result<()> {
        let put = |name: &str, text: String| {
            linkbench::report::write::write_bytes_atomically(text.as_bytes(), &dir.join(name))
                .map_err(|e| std::io::Error::other(e.to_string()))
        };
        put(
            "summary.json",
            serde_json::to_string_pretty(self).expect("serializes") + "\n",
        )?;
        put("summary.html", self.html())?;
        put("junit.xml", self.junit())?;
        put("linkbench.prom", self.prometheus())
    }

    /// The table for the screen.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:<7} reason",
            "suite", "client", "server", "test", "Gbit/s", "p99 us", "verdict"
        );
        for o in &self.pairs {
            let _ = writeln!(
                out,
                "{:<10} {:<10} {:<10} {:<22} {:>9} {:>10} {:<7} {}",
                o.suite,
                o.client,
                o.server,
                o.test,
                o.bits_per_second
                    .map(|b| format!("{:.3}", b / 1e9))
                    .unwrap_or_else(|| "-".into()),
                o.latency_p99_ns
                    .map(|p| format!("{:.1}", p / 1e3))
                    .unwrap_or_else(|| "-".into()),
                o.verdict.shout(),
                o.reason
            );
        }
        for c in &self.comparisons {
            let _ = writeln!(
                out,
                "\ncompare suite {} (baseline) with suite {}: {}",
                c.baseline,
                c.candidate,
                match (&c.error, c.regressed, c.incomplete.is_empty()) {
                    (Some(e), _, _) => format!("could not compare: {e}"),
                    (None, true, true) => "REGRESSION".into(),
                    (None, true, false) => "REGRESSION and INCOMPLETE candidate trials".into(),
                    (None, false, false) => "INCOMPLETE candidate trials".into(),
                    (None, false, true) => "no regression".into(),
                }
            );
            out += &c.table;
        }
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} errors{}{}",
            self.passed,
            self.failed,
            self.errors,
            if self.suspects.is_empty() {
                String::new()
            } else {
                format!("; suspect {}", self.suspects.join(", "))
            },
            if self.unreachable.is_empty() {
                String::new()
            } else {
                format!("; did not answer: {}", self.unreachable.join(", "))
            }
        );
        out
    }

    /// A self-contained page: per suite and test, a client x server matrix of Gbit/s.
    pub fn html(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>linkbench-harness {}</title><style>\
             body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;margin:1em 0}} \
             td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} .pass{{background:#cfc}} \
             .fail{{background:#f99}} .error{{background:#ccc}} .none{{background:#fff}}</style></head><body>\n\
             <h1>linkbench-harness: {}</h1><p>{} passed, {} failed, {} errors. Cells: Gbit/s (10^9 bit/s of \
             payload) from the row's client to the column's server; green passed, red failed, grey error; the deeper \
             the colour, the faster the pair.</p>\n",
            esc(&self.plan),
            esc(&self.plan),
            self.passed,
            self.failed,
            self.errors
        );
        if !self.suspects.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"fail\">Suspect: {}</p>",
                esc(&self.suspects.join(", "))
            );
        }
        let groups: BTreeSet<(String, String)> = self
            .pairs
            .iter()
            .map(|o| (o.suite.clone(), o.test.clone()))
            .collect();
        for (suite, test) in groups {
            let cells: Vec<&PairOutcome> = self
                .pairs
                .iter()
                .filter(|o| o.suite == suite && o.test == test)
                .collect();
            let clients: BTreeSet<&String> = cells.iter().map(|o| &o.client).collect();
            let servers: BTreeSet<&String> = cells.iter().map(|o| &o.server).collect();
            let top = cells
                .iter()
                .filter_map(|o| o.bits_per_second)
                .fold(0.0f64, f64::max);
            let _ = writeln!(
                out,
                "<h2>suite {} &middot; {}</h2><table><tr><th>client \\ server</th>",
                esc(&suite),
                esc(&test)
            );
            for s in &servers {
                let _ = write!(out, "<th>{}</th>", esc(s));
            }
            let _ = writeln!(out, "</tr>");
            for c in &clients {
                let _ = write!(out, "<tr><th>{}</th>", esc(c));
                for s in &servers {
                    match cells.iter().find(|o| &o.client == *c && &o.server == *s) {
                        Some(o) => {
                            let text = o
                                .bits_per_second
                                .map(|b| format!("{:.3}", b / 1e9))
                                .or(o.latency_p99_ns.map(|p| format!("p99 {:.1} us", p / 1e3)))
                                .unwrap_or_else(|| "error".into());
                            // Heat: the faster the pair, the deeper its colour (green passed, red failed).
                            let style = match (o.verdict, o.bits_per_second) {
                                (Verdict::Error, _) | (_, None) => String::new(),
                                (v, Some(b)) if top > 0.0 => format!(
                                    " style=\"background:hsl({},70%,{:.0}%)\"",
                                    if v == Verdict::Pass { 120 } else { 0 },
                                    88.0 - 30.0 * (b / top)
                                ),
                                _ => String::new(),
                            };
                            let _ = write!(
                                out,
                                "<td class=\"{}\"{style} title=\"{}\">{}</td>",
                                o.verdict.shout().to_lowercase(),
                                esc(&o.reason),
                                esc(&text)
                            );
                        }
                        None => out += "<td class=\"none\"></td>",
                    }
                }
                let _ = writeln!(out, "</tr>");
            }
            let _ = writeln!(out, "</table>");
        }
        for c in &self.comparisons {
            let _ = writeln!(
                out,
                "<h2>suite {} against suite {}</h2><pre>{}</pre>",
                esc(&c.candidate),
                esc(&c.baseline),
                esc(c.error.as_deref().unwrap_or(&c.table))
            );
        }
        out + "</body></html>\n"
    }

    /// JUnit XML: a test suite per plan suite, a test case per pair and test.
    pub fn junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            xml(&self.plan),
            self.pairs.len(),
            self.failed,
            self.errors
        );
        let suites: BTreeSet<&String> = self.pairs.iter().map(|o| &o.suite).collect();
        for s in suites {
            let cases: Vec<&PairOutcome> = self.pairs.iter().filter(|o| &o.suite == s).collect();
            let count = |v: Verdict| cases.iter().filter(|o| o.verdict == v).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
                xml(&self.plan),
                xml(s),
                cases.len(),
                count(Verdict::Fail),
                count(Verdict::Error),
                cases.iter().map(|o| o.seconds).sum::<f64>()
            );
            for o in cases {
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}.{}\" name=\"{} -&gt; {}: {}\" time=\"{:.3}\"",
                    xml(&self.plan),
                    xml(s),
                    xml(&o.client),
                    xml(&o.server),
                    xml(&o.test),
                    o.seconds
                );
                match o.verdict {
                    Verdict::Pass => {
                        let _ = writeln!(out, "/>");
                    }
                    v => {
                        let tag = if v == Verdict::Fail {
                            "failure"
                        } else {
                            "error"
                        };
                        let _ = writeln!(
                            out,
                            ">\n      <{tag} message=\"{}\"/>\n    </testcase>",
                            xml(&o.reason)
                        );
                    }
                }
            }
            let _ = writeln!(out, "  </testsuite>");
        }
        out + "</testsuites>\n"
    }

    /// Prometheus text exposition format, for node_exporter's textfile collector.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let labels = |o: &PairOutcome| {
            format!(
                "plan=\"{}\",suite=\"{}\",client=\"{}\",server=\"{}\",test=\"{}\"",
                prom(&self.plan),
                prom(&o.suite),
                prom(&o.client),
                prom(&o.server),
                prom(&o.test)
            )
        };
        out += "# HELP linkbench_pair_bits_per_second Payload bits per second between a pair, median of its trials (10^9-based).\n# TYPE linkbench_pair_bits_per_second gauge\n";
        for o in &self.pairs {
            if let Some(b) = o.bits_per_second {
                let _ = writeln!(out, "linkbench_pair_bits_per_second{{{}}} {b}", labels(o));
            }
        }
        out += "# HELP linkbench_pair_latency_p99_seconds Round-trip p99 latency between a pair, median of its trials.\n# TYPE linkbench_pair_latency_p99_seconds gauge\n";
        for o in &self.pairs {
            if let Some(p) = o.latency_p99_ns {
                let _ = writeln!(
                    out,
                    "linkbench_pair_latency_p99_seconds{{{}}} {}",
                    labels(o),
                    p / 1e9
                );
            }
        }
        out += "# HELP linkbench_pair_passed 1 when the pair met the plan's expectations, 0 when it failed or ended in an error.\n# TYPE linkbench_pair_passed gauge\n";
        for o in &self.pairs {
            let _ = writeln!(
                out,
                "linkbench_pair_passed{{{}}} {}",
                labels(o),
                u8::from(o.verdict == Verdict::Pass)
            );
        }
        out += "# HELP linkbench_host_failing_pairs Pairs of a host that failed or ended in an error.\n# TYPE linkbench_host_failing_pairs gauge\n";
        for h in &self.hosts {
            let _ = writeln!(
                out,
                "linkbench_host_failing_pairs{{plan=\"{}\",host=\"{}\"}} {}",
                prom(&self.plan),
                prom(&h.host),
                h.failing
            );
        }
        let ts = chrono::DateTime::parse_from_rfc3339(&self.finished_at)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "# HELP linkbench_plan_last_run_timestamp_seconds When the plan last finished.\n# TYPE linkbench_plan_last_run_timestamp_seconds gauge\nlinkbench_plan_last_run_timestamp_seconds{{plan=\"{}\"}} {ts}",
            prom(&self.plan)
        );
        out
    }
}

fn xml(s: &str) -> String {
    esc(s).replace('\'', "&apos;").replace('\n', "&#10;")
}

fn prom(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(c: &str, s: &str, v: Verdict, bps: Option<f64>) -> PairOutcome {
        PairOutcome {
            suite: "suite0".into(),
            client: c.into(),
            server: s.into(),
            test: "tcp bw 64K x1".into(),
            bits_per_second: bps,
            latency_p99_ns: None,
            verdict: v,
            reason: if v == Verdict::Pass {
                String::new()
            } else {
                "slow \"link\" <x>".into()
            },
            report: None,
            attempts: 1,
            seconds: 1.5,
            baseline: None,
        }
    }

    fn four_hosts_h3_slow() -> Summary {
        let hosts = ["h1", "h2", "h3", "h4"];
        let mut pairs = Vec::new();
        for i in 0..4 {
            for j in i + 1..4 {
                let slow = hosts[i] == "h3" || hosts[j] == "h3";
                pairs.push(outcome(
                    hosts[i],
                    hosts[j],
                    if slow { Verdict::Fail } else { Verdict::Pass },
                    Some(if slow { 0.09e9 } else { 2e9 }),
                ));
            }
        }
        Summary::new(
            "acceptance",
            "Slurm",
            "2026-11-24T00:00:00Z".into(),
            pairs,
            Vec::new(),
        )
    }

    #[test]
    fn the_host_on_every_failing_pair_is_the_suspect() {
        let s = four_hosts_h3_slow();
        assert_eq!(s.suspects, ["h3"]);
        assert_eq!(
            s.hosts[0],
            HostTally {
                host: "h3".into(),
                pairs: 3,
                failing: 3,
                errors: 0
            }
        );
        assert_eq!((s.passed, s.failed, s.errors), (3, 3, 0));
        assert!(!s.all_passed());
        assert!(s.table().contains("suspect h3"));
    }

    #[test]
    fn junit_prometheus_and_html_are_well_formed() {
        let s = four_hosts_h3_slow();
        let j = s.junit();
        assert!(
            j.contains("<testsuites name=\"acceptance\" tests=\"6\" failures=\"3\" errors=\"0\">")
        );
        assert_eq!(j.matches("<testcase ").count(), 6);
        assert_eq!(
            j.matches("<failure message=\"slow &quot;link&quot; &lt;x&gt;\"/>")
                .count(),
            3
        );
        let p = s.prometheus();
        assert!(p.contains("linkbench_pair_bits_per_second{plan=\"acceptance\",suite=\"suite0\",client=\"h1\",server=\"h2\",test=\"tcp bw 64K x1\"} 2000000000"));
        assert!(p.contains("linkbench_host_failing_pairs{plan=\"acceptance\",host=\"h3\"} 3"));
        for line in p.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        let h = s.html();
        assert_eq!(
            h.matches("class=\"fail\"").count(),
            3 + 1,
            "three red cells and the suspect line"
        );
        assert!(h.contains("Suspect: h3"));
    }
}
