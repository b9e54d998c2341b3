//! The schedule: every suite's pairs in rounds where no host is in two tests at once; the pairs of a
//! round run in parallel. All-pairs uses the round-robin tournament (circle method): N-1 rounds of N/2
//! pairs for even N, N rounds for odd N (one host rests each round), which is the fewest possible.
//!
//! Rounds are kept small: an all-pairs suite is the host list alone and each round is computed when it
//! is asked for (6,000 hosts make 17,997,000 pairs; `check` counts them and lists 50 rounds), and
//! listed pairs and rings are host indices.

use crate::plan::{Plan, Topology};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A test between two hosts: `client` connects to `server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub client: String,
    pub server: String,
}

/// A pair as indices into the host list: (client, server).
type Indices = (usize, usize);

/// A suite's rounds, as host indices.
#[derive(Debug, Clone)]
enum Rounds {
    /// The circle method over every host, computed round by round.
    RoundRobin,
    /// Rounds of (client, server) pairs.
    Listed(Vec<Vec<(usize, usize)>>),
}

/// One suite's rounds.
#[derive(Debug, Clone)]
pub struct SuiteSchedule {
    pub suite: String,
    /// The plan's hosts in order; rounds refer to them by index.
    hosts: Arc<[String]>,
    rounds: Rounds,
    /// Seconds one pair spends on all the suite's tests and repeats, with launch overhead.
    pub seconds_per_round: f64,
}

impl SuiteSchedule {
    /// How many rounds.
    pub fn round_count(&self) -> usize {
        match &self.rounds {
            Rounds::RoundRobin => circle_rounds(self.hosts.len()),
            Rounds::Listed(r) => r.len(),
        }
    }

    /// How many pairs in all the rounds.
    pub fn pair_count(&self) -> usize {
        match &self.rounds {
            Rounds::RoundRobin => self.hosts.len() * self.hosts.len().saturating_sub(1) / 2,
            Rounds::Listed(r) => r.iter().map(Vec::len).sum(),
        }
    }

    /// Round `i` (from 0); empty past the last.
    pub fn round(&self, i: usize) -> Vec<Pair> {
        let pair = |&(c, s): &(usize, usize)| Pair {
            client: self.hosts[c].clone(),
            server: self.hosts[s].clone(),
        };
        match &self.rounds {
            Rounds::RoundRobin => circle_round(self.hosts.len(), i).iter().map(pair).collect(),
            Rounds::Listed(r) => r
                .get(i)
                .map(|r| r.iter().map(pair).collect())
                .unwrap_or_default(),
        }
    }

    /// Every round in order, each made when reached.
    pub fn rounds(&self) -> impl Iterator<Item = Vec<Pair>> + '_ {
        (0..self.round_count()).map(|i| self.round(i))
    }
}

/// The whole plan's schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub suites: Vec<SuiteSchedule>,
    /// Estimated wall time in seconds.
    pub estimated_s: f64,
}

/// Seconds assumed per test run for starting the server, connecting and collecting the report (a
/// launcher like srun or ssh adds about this much on a quiet cluster).
pub const LAUNCH_OVERHEAD_S: f64 = 2.0;

/// Rounds of the circle method for `n` hosts: n-1 for even n, n for odd n, none below two hosts.
pub fn circle_rounds(n: usize) -> usize {
    if n < 2 {
        0
    } else {
        n + n % 2 - 1
    }
}

/// Round `r` of the circle method over hosts `0..n`, as (client, server) with the host listed first
/// the client. The slots are the hosts plus, for odd n, a resting slot; slot 0 keeps host 0, the
/// others turn by one each round, and slot i plays slot m-1-i. O(n) time and memory.
pub fn circle_round(n: usize, r: usize) -> Vec<(usize, usize)> {
    let m = n + n % 2;
    if r >= circle_rounds(n) {
        return Vec::new();
    }
    let turns = m - 1;
    let at = |slot: usize| match slot {
        0 => 0,
        _ => 1 + (slot - 1 + turns - r % turns) % turns,
    };
    (0..m / 2)
        .map(|i| (at(i), at(m - 1 - i)))
        .filter(|&(a, b)| a < n && b < n)
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect()
}

/// Round-robin tournament over `hosts`: every unordered pair exactly once, no host twice in a round.
pub fn round_robin(hosts: &[String]) -> Vec<Vec<Pair>> {
    (0..circle_rounds(hosts.len()))
        .map(|r| {
            circle_round(hosts.len(), r)
                .into_iter()
                .map(|(c, s)| Pair {
                    client: hosts[c].clone(),
                    server: hosts[s].clone(),
                })
                .collect()
        })
        .collect()
}

/// Any list of pairs (host indices) in rounds, greedily: each pair goes into the first round where
/// neither host is busy.
pub fn greedy_rounds(pairs: &[(usize, usize)]) -> Vec<Vec<(usize, usize)>> {
    // Each round with the hosts busy in it.
    let mut rounds: Vec<(Vec<Indices>, HashSet<usize>)> = Vec::new();
    for &(c, s) in pairs {
        match rounds
            .iter_mut()
            .find(|(_, busy)| !busy.contains(&c) && !busy.contains(&s))
        {
            Some((round, busy)) => {
                round.push((c, s));
                busy.extend([c, s]);
            }
            None => rounds.push((vec![(c, s)], HashSet::from([c, s]))),
        }
    }
    rounds.into_iter().map(|(round, _)| round).collect()
}

/// The plan's schedule.
pub fn schedule(plan: &Plan) -> Schedule {
    let hosts: Arc<[String]> = if plan.host_order.is_empty() {
        plan.hosts.keys().cloned().collect()
    } else {
        plan.host_order.iter().cloned().collect()
    };
    let index: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let n = hosts.len();
    let suites: Vec<SuiteSchedule> = plan
        .suites
        .iter()
        .map(|s| {
            let rounds = match s.topology {
                Topology::AllPairs => Rounds::RoundRobin,
                Topology::Ring => {
                    let ring: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
                    Rounds::Listed(greedy_rounds(&ring))
                }
                Topology::Pairs => Rounds::Listed(greedy_rounds(
                    &s.pairs
                        .iter()
                        .filter_map(|[c, srv]| {
                            Some((*index.get(c.as_str())?, *index.get(srv.as_str())?))
                        })
                        .collect::<Vec<_>>(),
                )),
            };
            let seconds_per_round = s
                .tests
                .iter()
                .map(|t| t.seconds() * s.repeat as f64 + LAUNCH_OVERHEAD_S)
                .sum();
            SuiteSchedule {
                suite: s.name.clone().unwrap_or_default(),
                hosts: hosts.clone(),
                rounds,
                seconds_per_round,
            }
        })
        .collect();
    let estimated_s = suites
        .iter()
        .map(|s| s.round_count() as f64 * s.seconds_per_round)
        .sum();
    Schedule {
        suites,
        estimated_s,
    }
}

/// The schedule in words, for `check` and before `run`: each suite's counts and its first 50 rounds.
pub fn describe(plan: &Plan, sched: &Schedule) -> String {
    let mut out = format!(
        "plan {}: {} hosts, launcher {:?}\n",
        plan.name,
        plan.hosts.len(),
        plan.launcher.kind
    );
    for s in &sched.suites {
        let rounds = s.round_count();
        out += &format!(
            "suite {}: {} pairs in {} rounds (pairs of a round run at once), ~{:.0} s per round\n",
            s.suite,
            s.pair_count(),
            rounds,
            s.seconds_per_round
        );
        for (i, r) in s.rounds().enumerate().take(50) {
            let list: Vec<String> = r
                .iter()
                .map(|p| format!("{}->{}", p.client, p.server))
                .collect();
            out += &format!("  round {}: {}\n", i + 1, list.join(" "));
        }
        if rounds > 50 {
            out += &format!("  ... {} more rounds\n", rounds - 50);
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
        assert_eq!(sched.suites[0].round_count(), 1023);
        assert_eq!(sched.suites[0].pair_count(), 523_776);
        assert_eq!(sched.suites[0].round(0), rounds[0]);
        assert_eq!(sched.suites[0].round(1022), rounds[1022]);
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
        let ring: Vec<(usize, usize)> = (0..5).map(|i| (i, (i + 1) % 5)).collect();
        let rounds = greedy_rounds(&ring);
        assert_eq!(rounds.len(), 3, "an odd ring needs three rounds");
        assert_eq!(rounds.iter().map(Vec::len).sum::<usize>(), 5);
        for r in &rounds {
            let mut hosts: Vec<usize> = r.iter().flat_map(|&(c, s)| [c, s]).collect();
            let n = hosts.len();
            hosts.sort();
            hosts.dedup();
            assert_eq!(hosts.len(), n);
        }
        // A star: every pair shares h0, so one pair a round, in the order listed.
        let star: Vec<(usize, usize)> = (1..6).map(|i| (0, i)).collect();
        let rounds = greedy_rounds(&star);
        assert_eq!(rounds, star.iter().map(|&p| vec![p]).collect::<Vec<_>>());
    }

    /// The circle method as it was first written (the ring of hosts turned in place): the rounds
    /// computed one at a time must be the same pairs in the same order.
    #[test]
    fn rounds_computed_on_demand_match_the_turned_ring() {
        for n in 2..=33 {
            let hosts = names(n);
            let mut ring: Vec<Option<usize>> = (0..n).map(Some).collect();
            if n % 2 == 1 {
                ring.push(None);
            }
            let m = ring.len();
            for r in 0..m - 1 {
                let want: Vec<(usize, usize)> = (0..m / 2)
                    .filter_map(|i| Some((ring[i]?, ring[m - 1 - i]?)))
                    .map(|(a, b)| (a.min(b), a.max(b)))
                    .collect();
                assert_eq!(circle_round(n, r), want, "n={n} r={r}");
                let last = ring.pop().unwrap();
                ring.insert(1, last);
            }
            assert!(circle_round(n, m - 1).is_empty());
            assert_eq!(round_robin(&hosts).len(), circle_rounds(n));
        }
    }
}
