//! The link sampled again and again while traffic runs (a soak): each sample holds the counters that
//! moved since the previous sample, the link judged over that interval and over everything since the
//! first sample (pre-FEC BER with its 95% upper bound, uncorrectable blocks, flaps), and the module's
//! monitors and flags as they are now. Reads through the same readers and decoders as the before/after
//! probe ([`super::link`]).
//!
//! A sampler can also replay a recorded link ([`LinkSampler::replay`]): a directory of steps, each a
//! fixture tree (`NNNN/sys/class/net/IF/...`: netdev statistics, `carrier_*`, `module_eeprom.bin`,
//! `fec_stats.json`), read one step per sample through the same readers and decoders. Every sample it
//! takes names the step it came from (`replayed_from`).

use crate::diag::counters::{CounterDelta, CounterMap, CounterSnapshot, Counters};
use crate::diag::link::{judge, read_module, LinkFacts, LinkVerdict};
use crate::diag::module::Monitors;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One interface at one moment of a soak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkSample {
    pub interface: String,
    /// `up`, `down`, ... when the sample was taken.
    pub operstate: Option<String>,
    /// Seconds since this side's sampler started (its first sample is the baseline).
    pub at_s: f64,
    /// Since the previous sample: only the counters that moved (a counter absent from a group that is
    /// present moved 0; a group is null when it could not be read), and the link judged over them.
    pub interval: LinkInterval,
    /// Everything since the first sample, judged as one span (cumulative pre-FEC BER and its bound).
    pub cumulative: LinkVerdict,
    /// The module's monitors (temperature, voltage, per-lane powers and bias) and flags now; null
    /// without a readable module (`module_unavailable` says why).
    pub module: Option<Monitors>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_unavailable: Option<String>,
    /// Counter groups that could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
    /// Microseconds this side spent taking the sample (every read and decode, on its control thread).
    pub cost_us: f64,
    /// The recorded step this sample was read from, when the link was replayed, not live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<String>,
}

/// The counters of one sample interval and the verdict on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkInterval {
    pub seconds: f64,
    pub delta: CounterDelta,
    pub verdict: LinkVerdict,
}

/// Takes [`LinkSample`]s of one interface.
#[derive(Debug)]
pub struct LinkSampler {
    root: PathBuf,
    interface: String,
    ib_port: Option<PathBuf>,
    live: bool,
    speed_bps: Option<f64>,
    first: CounterSnapshot,
    previous: CounterSnapshot,
    started: Instant,
    previous_at: Instant,
    /// A replay's steps (empty when live) and how many samples were taken.
    steps: Vec<PathBuf>,
    taken: usize,
}

/// A replay directory that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("replay {dir}: {why}")]
pub struct ReplayError {
    pub dir: String,
    pub why: String,
}

impl LinkSampler {
    /// Reads `interface`'s facts and counters now: the baseline of every later sample.
    pub fn begin(root: &Path, interface: &str) -> LinkSampler {
        let live = root == Path::new("/");
        let facts = LinkFacts::read(root, interface, live);
        let speed_bps = facts.line_rate_bps();
        let ib_port = facts.ib_port.as_ref().map(|p| p.path.clone());
        let first = CounterSnapshot::read(root, interface, ib_port.as_deref(), live);
        let now = Instant::now();
        LinkSampler {
            root: root.to_path_buf(),
            interface: interface.to_string(),
            ib_port,
            live,
            speed_bps,
            previous: first.clone(),
            first,
            started: now,
            previous_at: now,
            steps: Vec::new(),
            taken: 0,
        }
    }

    /// A sampler that replays `dir`'s steps (`0000/`, `0001/`, ..., at least two), each a fixture tree
    /// of one interface: step 0 is the baseline, sample k reads step k + 1 (the last step again once
    /// they run out).
    pub fn replay(dir: &Path) -> Result<LinkSampler, ReplayError> {
        let fail = |why: String| ReplayError {
            dir: dir.display().to_string(),
            why,
        };
        let mut steps: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| fail(format!("cannot list it: {e}")))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().chars().all(|c| c.is_ascii_digit()))
            })
            .collect();
        steps.sort();
        if steps.len() < 2 {
            return Err(fail(
                "it holds fewer than two numbered steps (0000/, 0001/, ...)".into(),
            ));
        }
        let interfaces: Vec<String> = std::fs::read_dir(steps[0].join("sys/class/net"))
            .map_err(|e| fail(format!("{}: no sys/class/net: {e}", steps[0].display())))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        let [interface] = interfaces.as_slice() else {
            return Err(fail(format!(
                "{}/sys/class/net holds {} interfaces; a replay is of exactly one",
                steps[0].display(),
                interfaces.len()
            )));
        };
        let mut sampler = LinkSampler::begin(&steps[0], interface);
        sampler.steps = steps;
        Ok(sampler)
    }

    /// A replay's recorded (interval, since the first step) seconds, from the steps' `elapsed_s` files.
    fn recorded_clock(&self) -> Option<(f64, f64)> {
        let at = |k: usize| -> Option<f64> {
            let step = self.steps.get(k.min(self.steps.len().checked_sub(1)?))?;
            crate::sysfs::read_trimmed(&step.join("elapsed_s"))?
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        };
        let (now, before, first) = (at(self.taken)?, at(self.taken - 1)?, at(0)?);
        Some(((now - before).max(0.0), (now - first).max(0.0)))
    }

    /// The module of a replay's first step (what a profile's layers select on) and the port's line rate
    /// in bit/s, as the sampler uses it; none when live.
    pub fn replayed_module(&self) -> Option<(crate::diag::module::ModuleInfo, Option<f64>)> {
        let first = self.steps.first()?;
        let module = read_module(first, &self.interface, false).ok()?;
        Some((module, self.speed_bps))
    }

    /// Reads the counters and the module now and judges the interval since the previous sample.
    pub fn take(&mut self) -> LinkSample {
        let now = Instant::now();
        let began = now;
        self.taken += 1;
        let replayed_from = (!self.steps.is_empty()).then(|| {
            let step = &self.steps[self.taken.min(self.steps.len() - 1)];
            self.root = step.clone();
            step.display().to_string()
        });
        let snapshot = CounterSnapshot::read(
            &self.root,
            &self.interface,
            self.ib_port.as_deref(),
            self.live,
        );
        // A replay keeps its recorded clock (each step's `elapsed_s`): the counters' deltas belong to
        // the time they were recorded over, not to how fast they are replayed.
        let (seconds, total) = match self.recorded_clock() {
            Some(clock) => clock,
            None => (
                now.duration_since(self.previous_at).as_secs_f64(),
                now.duration_since(self.started).as_secs_f64(),
            ),
        };
        let interval = Counters::new(self.previous.clone(), snapshot.clone());
        let verdict = judge(&interval, self.speed_bps.map(|s| s * seconds));
        let cumulative = judge(
            &Counters::new(self.first.clone(), snapshot.clone()),
            self.speed_bps.map(|s| s * total),
        );
        let (module, module_unavailable) = match read_module(&self.root, &self.interface, self.live)
        {
            Ok(info) => (Some(info.monitors()), None),
            Err(why) => (None, Some(why)),
        };
        let unavailable = snapshot.unavailable.clone();
        self.previous = snapshot;
        self.previous_at = now;
        LinkSample {
            interface: self.interface.clone(),
            operstate: crate::sysfs::read_trimmed(
                &self
                    .root
                    .join("sys/class/net")
                    .join(&self.interface)
                    .join("operstate"),
            ),
            at_s: now.duration_since(self.started).as_secs_f64(),
            interval: LinkInterval {
                seconds,
                delta: moved_only(interval.delta),
                verdict,
            },
            cumulative,
            module,
            module_unavailable,
            unavailable,
            cost_us: began.elapsed().as_secs_f64() * 1e6,
            replayed_from,
        }
    }
}

/// The delta without the counters that did not move (a sample of a NIC with a thousand driver
/// statistics stays a few lines), except the carrier counters, kept at 0 too: a reader (and the flap
/// count) must tell "no down count on this kernel" from "no down in this interval".
fn moved_only(mut delta: CounterDelta) -> CounterDelta {
    let keep = |m: &mut CounterMap| m.retain(|_, v| *v > 0);
    delta
        .netdev
        .retain(|name, v| *v > 0 || name.starts_with("carrier_"));
    for group in [&mut delta.ethtool, &mut delta.fec, &mut delta.ib_port]
        .into_iter()
        .flatten()
    {
        keep(group);
    }
    delta
}
