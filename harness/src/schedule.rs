//! The schedule: every suite's pairs in rounds where no host is in two tests at once; the pairs of a
//! round run in parallel. All-pairs uses the round-robin tournament (circle method): N-1 rounds of N/2
//! pairs for even N, N rounds for odd N (one host rests each round), which is the fewest possible.

use crate::plan::{Plan, Topology};
use serde::Serialize;

/// A test between two hosts: `client` connects to `server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub client: String,
    pub server: String,
}

/// One suite's rounds.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteSchedule {
    pub suite: String,
    pub rounds: Vec<Vec<Pair>>,
    /// Seconds one pair spends on all the suite's tests and repeats, with launch overhead.
    pub seconds_per_round: f64,
}

/// The whole plan's schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub suites: Vec<SuiteSchedule>,
    /// Estimated wall time in seconds.
    pub estimated_s: f64,
}

/// Seconds assumed per test run for starting the server, connecting and collecting the report (a
/// launcher like srun or ssh adds about this much on a quiet cluster).
pub const LAUNCH_OVERHEAD_S: f64 = 2.0;

/// Round-robin tournament over `hosts`: every unordered pair exactly once, no host twice in a round.
pub fn round_robin(hosts: &[String]) -> Vec<Vec<Pair>> {
    let mut ring: Vec<Option<&String>> = hosts.iter().map(Some).collect();
    if ring.len() % 2 == 1 {
        ring.push(None); // the resting slot
    }
    let n = ring.len();
    if n < 2 {
        return Vec::new();
    }
    let index = |h: &String| hosts.iter().position(|x| x == h).unwrap_or(0);
    let mut rounds = Vec::with_capacity(n - 1);
    for _ in 0..n - 1 {
        let mut round = Vec::with_capacity(n / 2);
        for i in 0..n / 2 {
            if let (Some(a), Some(b)) = (ring[i], ring[n - 1 - i]) {
                // The host listed first is the client.
                let (c, s) = if index(a) < index(b) { (a, b) } else { (b, a) };
                round.push(Pair {
                    client: c.clone(),
                    server: s.clone(),
                });
            }
        }
        rounds.push(round);
        // Keep the first fixed, rotate the rest by one.
        let last = ring.pop().expect("n >= 2");
        ring.insert(1, last);
    }
    rounds
}

/// Any list of pairs in rounds, greedily: each pair goes into the first round where neither host is busy.
pub fn greedy_rounds(pairs: &[Pair]) -> Vec<Vec<Pair>> {
    let mut rounds: Vec<Vec<Pair>> = Vec::new();
    for p in pairs {
        let free = rounds.iter_mut().find(|r| {
            !r.iter().any(|q| {
                [&q.client, &q.server].contains(&&p.client)
                    || [&q.client, &q.server].contains(&&p.server)
            })
        });
        match free {
            Some(r) => r.push(p.clone()),
            None => rounds.push(vec![p.clone()]),
        }
    }
    rounds
}

/// The plan's schedule.
pub fn schedule(plan: &Plan) -> Schedule {
    let hosts: Vec<String> = if plan.host_order.is_empty() {
        plan.hosts.keys().cloned().collect()
    } else {
        plan.host_order.clone()
    };
    let suites: Vec<SuiteSchedule> = plan
        .suites
        .iter()
        .map(|s| {
            let rounds = match s.topology {
                Topology::AllPairs => round_robin(&hosts),
                Topology::Ring => {
                    let pairs: Vec<Pair> = (0..hosts.len())
                        .map(|i| Pair {
                            client: hosts[i].clone(),
                            server: hosts[(i + 1) % hosts.len()].clone(),
                        })
                        .collect();
                    greedy_rounds(&pairs)
                }
                Topology::Pairs => greedy_rounds(
                    &s.pairs
                        .iter()
                        .map(|[c, srv]| Pair {
                            client: c.clone(),
                            server: srv.clone(),
                        })
                        .collect::<Vec<_>>(),
                ),
            };
            let seconds_per_round = s
                .tests
                .iter()
                .map(|t| t.seconds() * s.repeat as f64 + LAUNCH_OVERHEAD_S)
                .sum();
            SuiteSchedule {
                suite: s.name.clone().unwrap_or_default(),
                rounds,
                seconds_per_round,
            }
        })
        .collect();
    let estimated_s = suites
        .iter()
        .map(|s| s.rounds.len() as f64 * s.seconds_per_round)
        .sum();
    Schedule {
        suites,
        estimated_s,
    }
}

/// The schedule in words, for `check` and before `run`.
pub fn describe(plan: &Plan, sched: &Schedule) -> String {
    let mut out = format!(
        "plan {}: {} hosts, launcher {:?}\n",
        plan.name,
        plan.hosts.len(),
        plan.launcher.kind
    );
    for s in &sched.suites {
        let pairs: usize = s.rounds.iter().map(Vec::len).sum();
        out += &format!(
            "suite {}: {} pairs in {} rounds (pairs of a round run at once), ~{:.0} s per round\n",
            s.suite,
            pairs,
            s.rounds.len(),
            s.seconds_per_round
        );
        for (i, r) in s.rounds.iter().enumerate().take(50) {
            let list: Vec<String> = r
                .iter()
                .map(|p| format!("{}->{}", p.client, p.server))
                .collect();
            out += &format!("  round {}: {}\n", i + 1, list.join(" "));
        }
        if s.rounds.len() > 50 {
            out += &format!("  ... {} more rounds\n", s.rounds.len() - 50);
        }
    }
    out += &format!(
        "estimated time: {:.0} s ({:.1} min), counting {LAUNCH_OVERHEAD_S} s of launch overhead per test run\n",
        sched.estimated_s,
        sched.estimated_s / 60.0
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    /// Every unordered pair once, nobody twice in a round, and the round count.
    fn check_tournament(n: usize) -> Vec<Vec<Pair>> {
        let hosts = names(n);
        let rounds = round_robin(&hosts);
        assert_eq!(rounds.len(), if n % 2 == 0 { n - 1 } else { n }, "n={n}");
        let mut seen = vec![false; n * n];
        for r in &rounds {
            let mut busy = vec![false; n];
            for p in r {
                let c: usize = p.client[1..].parse::<usize>().unwrap() - 1;
                let s: usize = p.server[1..].parse::<usize>().unwrap() - 1;
                assert!(c < s, "client is the host listed first");
                assert!(!busy[c] && !busy[s], "a host twice in one round");
                busy[c] = true;
                busy[s] = true;
                assert!(!seen[c * n + s], "pair twice");
                seen[c * n + s] = true;
            }
        }
        let count = seen.iter().filter(|&&x| x).count();
        assert_eq!(count, n * (n - 1) / 2);
        rounds
    }

    #[test]
    fn tournaments_are_complete_and_conflict_free() {
        for n in 2..=17 {
            check_tournament(n);
        }
    }

    /// The simulation the acceptance issue asks for: 1,024 hosts, one 1 s bandwidth test (0.5 s
    /// warm-up) per pair: 1,023 rounds of 512 parallel pairs, 523,776 pairs, 3,580 s (~60 minutes).
    #[test]
    fn a_1024_host_schedule_and_its_run_time() {
        let rounds = check_tournament(1024);
        assert!(rounds.iter().all(|r| r.len() == 512));
        let mut text = String::from("name = \"big\"\n[launcher]\nkind = \"slurm\"\n[hosts]\n");
        for i in 1..=1024 {
            text += &format!(
                "h{i} = \"10.{}.{}.{}\"\n",
                i / 65536,
                (i / 256) % 256,
                i % 256
            );
        }
        text += "[[suite]]\ntopology = \"all-pairs\"\ntests = [{ test = \"bw\", duration = \"1s\", warmup = \"0.5s\" }]\n";
        let plan = Plan::parse(&text, "big.toml").unwrap();
        let sched = schedule(&plan);
        assert_eq!(sched.suites[0].rounds.len(), 1023);
        // (1 s + 0.5 s + 2 s overhead) x 1023 rounds.
        assert!(
            (sched.estimated_s - 3.5 * 1023.0).abs() < 1e-6,
            "{}",
            sched.estimated_s
        );
        let words = describe(&plan, &sched);
        assert!(
            words.contains("523776 pairs in 1023 rounds"),
            "{}",
            &words[..300]
        );
        assert!(
            words.contains("59.7 min"),
            "{}",
            words.lines().last().unwrap()
        );
    }

    #[test]
    fn rings_and_listed_pairs_avoid_busy_hosts() {
        let ring: Vec<Pair> = (0..5)
            .map(|i| Pair {
                client: format!("h{}", i + 1),
                server: format!("h{}", (i + 1) % 5 + 1),
            })
            .collect();
        let rounds = greedy_rounds(&ring);
        assert_eq!(rounds.len(), 3, "an odd ring needs three rounds");
        for r in &rounds {
            let mut hosts: Vec<&String> = r.iter().flat_map(|p| [&p.client, &p.server]).collect();
            let n = hosts.len();
            hosts.dedup();
            hosts.sort();
            hosts.dedup();
            assert_eq!(hosts.len(), n);
        }
    }
}
