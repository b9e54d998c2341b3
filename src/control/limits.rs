//! What a server accepts. Every size, count and duration a client asks for is checked here before the
//! server allocates anything; a refusal names the limit and the server flag that raises it.

use crate::plan::{StopCondition, TrialSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A request outside the server's limits (or outside what makes sense at all).
#[derive(Debug, Clone, Error, PartialEq)]
pub enum LimitViolation {
    #[error("{what} {value} exceeds the server's limit of {limit} (raise it with linkbench-server {flag})")]
    OverLimit {
        what: &'static str,
        value: String,
        limit: String,
        flag: &'static str,
    },
    #[error("this server refuses {what} (it was started with {flag}); soak against another server or restart it without {flag}")]
    Refused {
        what: &'static str,
        flag: &'static str,
    },
    #[error("{what} {value} is invalid: {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: &'static str,
    },
}

/// The server's limits, sent to clients in the welcome so they can check before asking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerLimits {
    /// Largest message size in bytes.
    pub max_message_size: u64,
    /// Most parallel streams in one trial.
    pub max_streams: u32,
    /// Longest measured phase in seconds.
    pub max_duration_s: f64,
    /// Longest warm-up in seconds.
    pub max_warmup_s: f64,
    /// Most iterations per stream.
    pub max_iterations: u64,
    /// Shortest reporting interval in seconds.
    pub min_interval_s: f64,
    /// Most buffer memory one trial may make the server allocate, in bytes.
    pub max_buffer_bytes: u64,
    /// Shortest soak sample interval, in seconds: each sample reads this server's counters and module
    /// (`--min-sample-interval`); null when the server refuses link sampling (`--no-link-samples`).
    /// Servers before report 1.6.0 do not say (read as 0.1).
    #[serde(default = "default_min_sample_interval")]
    pub min_sample_interval_s: Option<f64>,
}

fn default_min_sample_interval() -> Option<f64> {
    Some(MIN_SAMPLE_INTERVAL_S)
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_message_size: 64 << 20,
            max_streams: 128,
            max_duration_s: 86_400.0,
            max_warmup_s: 600.0,
            max_iterations: 1_000_000_000_000,
            min_interval_s: 0.01,
            max_buffer_bytes: 1 << 30,
            min_sample_interval_s: Some(MIN_SAMPLE_INTERVAL_S),
        }
    }
}

/// The latency probe: a rate and a size within bounds, beside bandwidth traffic (TCP or RDMA) only.
fn check_probe(spec: &TrialSpec) -> Result<(), LimitViolation> {
    let Some(probe) = spec.probe else {
        return Ok(());
    };
    if probe.rate_per_s == 0 || probe.rate_per_s > MAX_PROBE_RATE {
        return invalid(
            "probe rate",
            probe.rate_per_s.to_string(),
            "it must be from 1 to 100000 round trips a second",
        );
    }
    if probe.size == 0 || probe.size > MAX_PROBE_SIZE {
        return invalid(
            "probe size",
            probe.size.to_string(),
            "it must be from 1 to 65536 bytes",
        );
    }
    if spec.test == crate::plan::TestKind::Lat {
        return invalid(
            "probe",
            format!("{} {}", spec.transport, spec.test),
            "a latency probe runs beside bandwidth traffic (bw, bibw) only",
        );
    }
    Ok(())
}

/// The probe's echo hears nothing between two round trips, and the server declares a data connection
/// (or queue pair) silent for its stall timeout stalled: the probe's period must leave room (half the
/// timeout at most), or a slow probe would end its own trial. `None` when it fits; else the refusal.
pub fn probe_fits_stall(spec: &TrialSpec, stall: std::time::Duration) -> Option<String> {
    let probe = spec.probe?;
    let period_s = 1.0 / f64::from(probe.rate_per_s.max(1));
    let stall_s = stall.as_secs_f64();
    (period_s > stall_s / 2.0).then(|| {
        format!(
            "a probe rate of {}/s leaves {period_s} s between round trips, and this server declares a \
             connection silent for {stall_s} s stalled: use --probe-rate {} or more, or restart the \
             server with a longer --stall-timeout",
            probe.rate_per_s,
            (2.0 / stall_s).ceil() as u64
        )
    })
}

/// Largest RDMA queue depth, post list, moderation or read count a client may ask for (devices allow
/// 16K work requests per queue at most in practice).
pub const MAX_RDMA_QUEUE: u32 = 16384;
/// Largest RDMA inline size a client may ask for.
pub const MAX_RDMA_INLINE: u32 = 1024;

/// Most per-interval slots one trial may have (`duration / interval`, or for `--iterations` the trial's
/// longest run over its interval). Each measuring thread keeps a counter per slot and the result carries
/// a figure per slot, so this bounds both the server's memory and the result's size.
pub const MAX_INTERVALS: u64 = 100_000;
/// Shortest soak sample interval, in seconds: each sample reads the interface's counters and its module's
/// EEPROM on both sides' control threads.
pub const MIN_SAMPLE_INTERVAL_S: f64 = 0.1;
/// Longest reporting interval, in seconds.
pub const MAX_INTERVAL_S: f64 = 3600.0;
/// Most latency-probe round trips a second a client may ask for (one in flight at a time, so a probe
/// this fast on a slow path simply misses slots).
pub const MAX_PROBE_RATE: u32 = 100_000;
/// Largest latency-probe message: a probe is small by design; bigger round trips are `--test lat`.
pub const MAX_PROBE_SIZE: u32 = 65_536;
/// Highest CPU number a client may name in `--server-cpu`.
pub const MAX_CPU_INDEX: usize = 65_535;
/// Bytes a measuring thread keeps per interval slot (a byte and a message counter).
const BYTES_PER_SLOT: u64 = 16;

/// Buffer bytes a side allocates for one stream of a trial: a warm-up and a measured message for sending,
/// and a receive buffer of at least a message.
pub fn buffer_bytes_per_stream(spec: &TrialSpec) -> u64 {
    let size = spec.message_size;
    size.saturating_mul(3).max(256 * 1024)
}

/// Interval slots a measuring thread may fill in this trial: the measured phase's longest run over the
/// interval, plus the slots a grace of `grace_s` adds.
pub fn interval_slots(spec: &TrialSpec, measured_bound_s: f64, grace_s: f64) -> u64 {
    let slots = ((measured_bound_s + grace_s) / spec.interval_s).ceil();
    if slots.is_finite() && slots >= 0.0 {
        (slots as u64).saturating_add(1)
    } else {
        u64::MAX
    }
}

impl ServerLimits {
    /// The longest the measured phase of `spec` may last, in seconds: its duration, or for `--iterations`
    /// the server's longest duration or [`MAX_INTERVALS`] intervals, whichever is shorter. The server
    /// ends every trial at warm-up + this + a grace, whatever the client does; a client waits no longer.
    pub fn measured_bound_s(&self, spec: &TrialSpec) -> f64 {
        let by_intervals = MAX_INTERVALS as f64 * spec.interval_s;
        match spec.stop {
            StopCondition::Duration { seconds } => seconds,
            StopCondition::Iterations { .. } => self.max_duration_s.min(by_intervals),
        }
    }

    /// Checks a trial against these limits: every number a client sends has a lower and an upper bound
    /// here, so nothing later converts or allocates from an unchecked value.
    pub fn validate(&self, spec: &TrialSpec) -> Result<(), LimitViolation> {
        self.check_sizes(spec)?;
        self.check_timing(spec)?;
        self.check_memory(spec)?;
        check_rdma(spec)?;
        check_probe(spec)?;
        check_server_cpus(spec)
    }

    /// A soak's link sampling: allowed at all, and no more often than this server allows.
    fn check_sampling(&self, spec: &TrialSpec) -> Result<(), LimitViolation> {
        let Some(min) = self.min_sample_interval_s else {
            return Err(LimitViolation::Refused {
                what: "link sampling (a soak)",
                flag: "--no-link-samples",
            });
        };
        if spec.interval_s < MIN_SAMPLE_INTERVAL_S {
            return invalid(
                "sample interval",
                format!("{}", spec.interval_s),
                "a soak samples the link at most every 0.1 s: use a longer --sample-interval",
            );
        }
        if spec.interval_s < min {
            return over(
                "sample rate",
                format!("one every {} s", spec.interval_s),
                format!("one every {min} s"),
                "--min-sample-interval",
            );
        }
        Ok(())
    }

    fn check_sizes(&self, spec: &TrialSpec) -> Result<(), LimitViolation> {
        if spec.message_size == 0 {
            return invalid("message size", "0".into(), "it must be at least 1 byte");
        }
        if spec.message_size > self.max_message_size {
            return over(
                "message size",
                spec.message_size.to_string(),
                self.max_message_size.to_string(),
                "--max-message-size",
            );
        }
        if spec.streams == 0 {
            return invalid("stream count", "0".into(), "at least one stream is needed");
        }
        if spec.streams > self.max_streams {
            return over(
                "stream count",
                spec.streams.to_string(),
                self.max_streams.to_string(),
                "--max-streams",
            );
        }
        Ok(())
    }

    fn check_timing(&self, spec: &TrialSpec) -> Result<(), LimitViolation> {
        self.check_stop(spec.stop)?;
        if !spec.warmup_s.is_finite() || spec.warmup_s < 0.0 {
            return invalid(
                "warm-up",
                format!("{}", spec.warmup_s),
                "it must be zero or more seconds",
            );
        }
        if spec.warmup_s > self.max_warmup_s {
            return over(
                "warm-up",
                format!("{} s", spec.warmup_s),
                format!("{} s", self.max_warmup_s),
                "--max-duration",
            );
        }
        if !spec.interval_s.is_finite()
            || spec.interval_s < self.min_interval_s
            || spec.interval_s > MAX_INTERVAL_S
        {
            return invalid(
                "interval",
                format!("{}", spec.interval_s),
                "it must be from 0.01 s to 3600 s",
            );
        }
        if spec.link_samples {
            self.check_sampling(spec)?;
        }
        let slots = interval_slots(spec, self.measured_bound_s(spec), 0.0);
        if slots > MAX_INTERVALS + 1 {
            return invalid(
                "interval count",
                format!("{} (duration / interval)", slots - 1),
                "a trial keeps at most 100000 intervals: use a longer --interval",
            );
        }
        Ok(())
    }

    fn check_stop(&self, stop: StopCondition) -> Result<(), LimitViolation> {
        match stop {
            StopCondition::Duration { seconds } => {
                if !seconds.is_finite() || seconds <= 0.0 {
                    return invalid(
                        "duration",
                        format!("{seconds}"),
                        "it must be a positive number of seconds",
                    );
                }
                if seconds > self.max_duration_s {
                    return over(
                        "duration",
                        format!("{seconds} s"),
                        format!("{} s", self.max_duration_s),
                        "--max-duration",
                    );
                }
            }
            StopCondition::Iterations { count } => {
                if count == 0 {
                    return invalid(
                        "iteration count",
                        "0".into(),
                        "at least one iteration is needed",
                    );
                }
                if count > self.max_iterations {
                    return over(
                        "iteration count",
                        count.to_string(),
                        self.max_iterations.to_string(),
                        "--max-iterations",
                    );
                }
            }
        }
        Ok(())
    }

    /// Buffer and per-interval memory a trial makes the server allocate, in bytes (what
    /// `--max-buffer-memory` bounds, per trial and for all sessions' trials together): message buffers
    /// of the (up to two) threads of each stream, and the per-interval counters of the one thread per
    /// stream that measures on the server (a receiver, or an RDMA poster). For `--iterations` the
    /// counters grow as the trial runs, up to the trial clock's bound, which is what is charged.
    pub fn trial_buffer_bytes(&self, spec: &TrialSpec) -> u64 {
        let slots = interval_slots(spec, self.measured_bound_s(spec), 0.0);
        let streams = u64::from(spec.streams);
        buffer_bytes_per_stream(spec)
            .saturating_mul(streams)
            .saturating_mul(2)
            .saturating_add(slots.saturating_mul(BYTES_PER_SLOT).saturating_mul(streams))
    }

    fn check_memory(&self, spec: &TrialSpec) -> Result<(), LimitViolation> {
        let buffers = self.trial_buffer_bytes(spec);
        if buffers > self.max_buffer_bytes {
            return over(
                "buffer memory (bytes)",
                buffers.to_string(),
                self.max_buffer_bytes.to_string(),
                "--max-buffer-memory",
            );
        }
        Ok(())
    }
}

fn over<T>(
    what: &'static str,
    value: String,
    limit: String,
    flag: &'static str,
) -> Result<T, LimitViolation> {
    Err(LimitViolation::OverLimit {
        what,
        value,
        limit,
        flag,
    })
}

fn invalid<T>(what: &'static str, value: String, why: &'static str) -> Result<T, LimitViolation> {
    Err(LimitViolation::Invalid { what, value, why })
}

fn check_rdma(spec: &TrialSpec) -> Result<(), LimitViolation> {
    let r = match (spec.transport, &spec.rdma) {
        (crate::plan::TransportKind::Rdma, None) => {
            return invalid(
                "RDMA settings",
                "none".into(),
                "an RDMA trial must carry its operation and queue settings",
            )
        }
        (crate::plan::TransportKind::Tcp, Some(_)) => {
            return invalid(
                "RDMA settings",
                "present".into(),
                "a TCP trial carries no RDMA settings",
            )
        }
        (_, Some(r)) => r,
        (_, None) => return Ok(()),
    };
    let queues = [
        ("RDMA tx depth", r.tx_depth),
        ("RDMA rx depth", r.rx_depth),
        ("RDMA post list", r.post_list),
        ("RDMA cq moderation", r.cq_mod),
        ("RDMA outstanding reads", r.outstanding_reads),
    ];
    for (what, value) in queues {
        if value == 0 || value > MAX_RDMA_QUEUE {
            return invalid(what, value.to_string(), "use 1 to 16384");
        }
    }
    if r.inline_size > MAX_RDMA_INLINE {
        return invalid(
            "RDMA inline size",
            r.inline_size.to_string(),
            "use at most 1024 bytes",
        );
    }
    if r.op == crate::plan::RdmaOp::Atomic && spec.message_size != 8 {
        return invalid(
            "RDMA atomic message size",
            spec.message_size.to_string(),
            "atomics move 8 bytes",
        );
    }
    match r.mtu {
        Some(m) if ![256, 512, 1024, 2048, 4096].contains(&m) => invalid(
            "RDMA MTU",
            m.to_string(),
            "use 256, 512, 1024, 2048 or 4096",
        ),
        _ => Ok(()),
    }
}

fn check_server_cpus(spec: &TrialSpec) -> Result<(), LimitViolation> {
    let Some(cpus) = &spec.server_cpus else {
        return Ok(());
    };
    if cpus.is_empty() || cpus.len() > 4096 {
        return invalid(
            "server CPU list",
            format!("{} entries", cpus.len()),
            "give 1 to 4096 CPUs",
        );
    }
    match cpus.iter().find(|&&c| c > MAX_CPU_INDEX) {
        Some(cpu) => invalid("server CPU", cpu.to_string(), "CPU numbers go up to 65535"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdma_settings_are_checked() {
        let limits = ServerLimits::default();
        let settings = crate::plan::RdmaSettings::perftest_defaults(
            crate::plan::RdmaOp::Write,
            crate::plan::TestKind::Bw,
        );
        let mut s = spec();
        s.transport = crate::plan::TransportKind::Rdma;
        assert!(limits.validate(&s).is_err(), "RDMA without settings");
        s.rdma = Some(settings.clone());
        assert!(limits.validate(&s).is_ok());
        for (change, why) in [
            (
                Box::new(|r: &mut crate::plan::RdmaSettings| r.tx_depth = 0)
                    as Box<dyn Fn(&mut crate::plan::RdmaSettings)>,
                "1 to 16384",
            ),
            (Box::new(|r| r.cq_mod = 1 << 20), "1 to 16384"),
            (Box::new(|r| r.inline_size = 4096), "at most 1024"),
            (Box::new(|r| r.mtu = Some(1500)), "256, 512"),
        ] {
            let mut r = settings.clone();
            change(&mut r);
            s.rdma = Some(r);
            let e = limits.validate(&s).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let mut tcp = spec();
        tcp.rdma = Some(settings);
        assert!(limits.validate(&tcp).is_err(), "TCP with RDMA settings");
    }
    use crate::plan::{TestKind, TransportKind};

    fn spec() -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Tcp,
            test: TestKind::Bw,
            message_size: 65536,
            streams: 1,
            stop: StopCondition::Duration { seconds: 5.0 },
            warmup_s: 1.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: None,
            link_samples: false,
            probe: None,
        }
    }

    #[test]
    fn a_normal_trial_passes() {
        assert_eq!(ServerLimits::default().validate(&spec()), Ok(()));
    }

    #[test]
    fn a_probe_runs_beside_tcp_or_rdma_bandwidth_within_its_bounds() {
        let limits = ServerLimits::default();
        let probe = |rate_per_s, size| Some(crate::plan::ProbeSpec { rate_per_s, size });
        let tcp = TrialSpec {
            probe: probe(1000, 64),
            ..spec()
        };
        assert_eq!(limits.validate(&tcp), Ok(()));
        let rdma = TrialSpec {
            transport: TransportKind::Rdma,
            rdma: Some(crate::plan::RdmaSettings::perftest_defaults(
                crate::plan::RdmaOp::Write,
                TestKind::Bw,
            )),
            ..tcp.clone()
        };
        assert_eq!(limits.validate(&rdma), Ok(()));
        for (bad, why) in [
            (
                TrialSpec {
                    test: TestKind::Lat,
                    ..rdma.clone()
                },
                "beside bandwidth traffic",
            ),
            (
                TrialSpec {
                    probe: probe(0, 64),
                    ..rdma.clone()
                },
                "from 1 to 100000",
            ),
            (
                TrialSpec {
                    probe: probe(10, 65_537),
                    ..tcp.clone()
                },
                "from 1 to 65536 bytes",
            ),
        ] {
            let e = limits.validate(&bad).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        // The probe's period must leave room within the server's stall timeout.
        let secs = std::time::Duration::from_secs_f64;
        assert_eq!(probe_fits_stall(&rdma, secs(10.0)), None);
        assert_eq!(probe_fits_stall(&spec(), secs(0.001)), None, "no probe");
        let slow = TrialSpec {
            probe: probe(1, 64),
            ..tcp
        };
        assert_eq!(probe_fits_stall(&slow, secs(2.0)), None);
        let e = probe_fits_stall(&slow, secs(1.5)).unwrap();
        assert!(e.contains("--probe-rate 2 or more"), "{e}");
    }

    #[test]
    fn each_limit_is_named() {
        let limits = ServerLimits::default();
        type Mutation = Box<dyn Fn(&mut TrialSpec)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|s| s.message_size = 1 << 40), "--max-message-size"),
            (Box::new(|s| s.message_size = 0), "at least 1 byte"),
            (Box::new(|s| s.streams = 1000), "--max-streams"),
            (Box::new(|s| s.streams = 0), "at least one stream"),
            (
                Box::new(|s| s.stop = StopCondition::Duration { seconds: 1e9 }),
                "--max-duration",
            ),
            (
                Box::new(|s| s.stop = StopCondition::Duration { seconds: f64::NAN }),
                "positive number",
            ),
            (
                Box::new(|s| s.stop = StopCondition::Iterations { count: 0 }),
                "at least one iteration",
            ),
            (
                Box::new(|s| s.stop = StopCondition::Iterations { count: u64::MAX }),
                "--max-iterations",
            ),
            (Box::new(|s| s.warmup_s = -1.0), "zero or more"),
            (Box::new(|s| s.interval_s = 0.0), "from 0.01 s"),
            (Box::new(|s| s.interval_s = 1e20), "to 3600 s"),
            (Box::new(|s| s.interval_s = f64::INFINITY), "to 3600 s"),
            (
                Box::new(|s| {
                    s.interval_s = 0.01;
                    s.stop = StopCondition::Duration { seconds: 86_400.0 };
                }),
                "at most 100000 intervals",
            ),
            (
                Box::new(|s| s.server_cpus = Some(vec![usize::MAX])),
                "up to 65535",
            ),
            (
                Box::new(|s| {
                    s.message_size = 64 << 20;
                    s.streams = 64;
                }),
                "--max-buffer-memory",
            ),
            (Box::new(|s| s.server_cpus = Some(vec![])), "1 to 4096"),
        ];
        for (mutate, needle) in cases {
            let mut s = spec();
            mutate(&mut s);
            let err = limits.validate(&s).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }
}
