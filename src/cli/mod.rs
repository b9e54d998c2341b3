//! Command-line arguments of the binaries (clap derive), their validation, and the one-line error
//! convention: every bad value is reported on a single line that names the flag and what to do.

use crate::client::soak::SoakSettings;
use crate::client::ClientConfig;
use crate::control::auth::PreSharedKey;
use crate::control::limits::{MAX_PROBE_RATE, MAX_PROBE_SIZE, MIN_SAMPLE_INTERVAL_S};
use crate::control::ServerLimits;
use crate::plan::{
    ProbeSpec, RdmaOp, RdmaSettings, RecvMode, StopCondition, TestKind, TestPlan, TransportKind,
    MAX_TRIALS,
};
use crate::server::ServerConfig;
use crate::transport::rdma::select::DeviceRequest;
use crate::units;
use clap::Parser;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// A combination of arguments that cannot run.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct CliError(pub String);

fn size(text: &str) -> Result<u64, String> {
    units::parse_size(text).map_err(|e| e.to_string())
}
fn duration(text: &str) -> Result<Duration, String> {
    units::parse_duration(text).map_err(|e| e.to_string())
}
fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        d if d.is_zero() => Err(format!("invalid duration '{text}': it must be more than 0")),
        d => Ok(d),
    }
}
/// Message sizes of a `--sweep` (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSizes(pub Vec<u64>);

/// CPUs of a `--cpu` list (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

fn sweep(text: &str) -> Result<SweepSizes, String> {
    units::parse_sweep(text)
        .map(SweepSizes)
        .map_err(|e| e.to_string())
}
fn cpu_list(text: &str) -> Result<CpuList, String> {
    units::parse_cpu_list(text)
        .map(CpuList)
        .map_err(|e| e.to_string())
}
fn label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "invalid label '{text}': use KEY=VALUE, e.g. link=dac-1m"
        )),
    }
}
fn positive_u64(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!(
            "invalid count '{text}': use a whole number of at least 1"
        )),
        Ok(n) => Ok(n),
    }
}
fn positive_u32(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) | Err(_) => Err(format!(
            "invalid count '{text}': use a whole number from 1 to 4294967295"
        )),
        Ok(n) => Ok(n),
    }
}
fn probe_rate(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_PROBE_RATE).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid probe rate '{text}': use round trips a second, a whole number from 1 to {MAX_PROBE_RATE}"
        )),
    }
}
fn probe_size(text: &str) -> Result<u32, String> {
    match units::parse_size(text) {
        Ok(n) if (1..=u64::from(MAX_PROBE_SIZE)).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "invalid probe size '{text}': use bytes from 1 to {MAX_PROBE_SIZE} (64, 1K, 4K)"
        )),
    }
}
fn repeat_count(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_TRIALS).contains(&u64::from(n)) => Ok(n),
        _ => Err(format!(
            "invalid count '{text}': use a whole number from 1 to {MAX_TRIALS} (the most trials one run may plan)"
        )),
    }
}

/// linkbench-client: run bandwidth and latency tests against a linkbench-server.
#[derive(Debug, Parser)]
#[command(name = "linkbench-client", version, about, long_about = None, allow_negative_numbers = true)]
pub struct ClientArgs {
    /// The server: HOST, HOST:PORT or [IPv6]:PORT (default port 18515).
    pub server: String,
    /// Data path.
    #[arg(long, value_enum, default_value_t = TransportKind::Tcp)]
    pub transport: TransportKind,
    /// Workload: bw (client to server), bibw (both ways at once), lat (round-trip ping-pong).
    #[arg(long, value_enum, default_value_t = TestKind::Bw)]
    pub test: TestKind,
    /// The server sends (bw only).
    #[arg(long)]
    pub reverse: bool,
    /// Parallel connections (RDMA: RC queue pairs), each on its own pinned thread.
    #[arg(long, visible_alias = "qps", default_value = "1", value_parser = positive_u32)]
    pub streams: u32,
    /// Message size (64K = 65536). Default: 128K for TCP bw/bibw (iperf3's length), 2 for lat (perftest's).
    #[arg(long, value_parser = size, conflicts_with = "sweep")]
    pub size: Option<u64>,
    /// Sweep message sizes in powers of two, MIN:MAX (like perftest -a: 2:8M).
    #[arg(long, value_parser = sweep)]
    pub sweep: Option<SweepSizes>,
    /// Seconds of the measured phase of each trial.
    #[arg(long, value_parser = positive_duration, conflicts_with = "iterations")]
    pub duration: Option<Duration>,
    /// Messages per stream (bw) or round trips per stream (lat) instead of a duration.
    #[arg(long, value_parser = positive_u64)]
    pub iterations: Option<u64>,
    /// Seconds of traffic before each measured phase, discarded.
    #[arg(long, value_parser = duration, default_value = "1")]
    pub warmup: Duration,
    /// Independent trials of each size, each kept in the report.
    #[arg(long, default_value = "1", value_parser = repeat_count)]
    pub repeat: u32,
    /// Seconds per interval of the per-interval figures.
    #[arg(long, value_parser = positive_duration, default_value = "1")]
    pub interval: Duration,
    /// CPUs for the client's data threads (default: NIC-local, else spread), e.g. 0-3.
    #[arg(long, value_parser = cpu_list)]
    pub cpu: Option<CpuList>,
    /// CPUs for the server's data threads, sent to the server.
    #[arg(long, value_parser = cpu_list)]
    pub server_cpu: Option<CpuList>,
    /// Send with MSG_ZEROCOPY; the report says whether the kernel really avoided the copy.
    #[arg(long)]
    pub zerocopy: bool,
    /// Busy-poll: spin on non-blocking socket calls instead of sleeping (lower latency, a full core).
    #[arg(long)]
    pub busy_poll: bool,
    /// TCP bandwidth: how the receiving side takes data off the socket. copy: recv() into a buffer
    /// (iperf3's way); discard: recv(MSG_TRUNC), payload not copied to user space; zerocopy:
    /// TCP_ZEROCOPY_RECEIVE page mapping, copying what the kernel cannot map.
    #[arg(long, value_enum, default_value_t = RecvMode::Copy)]
    pub recv_mode: RecvMode,
    /// Latency under load: N small round trips a second on a connection (RDMA: a queue pair) of their
    /// own beside the bandwidth traffic (bw, bibw, a soak); the report has their histogram, a soak each
    /// sample's.
    #[arg(long, value_name = "N", value_parser = probe_rate)]
    pub probe_rate: Option<u32>,
    /// Payload bytes of each probe round trip (each way).
    #[arg(long, value_name = "BYTES", default_value = "64", value_parser = probe_size, requires = "probe_rate")]
    pub probe_size: u32,
    /// Soak: one bandwidth trial this long (e.g. 24h; also s, m, d) with traffic that never pauses,
    /// both sides' links (counters, FEC, module monitors) and the throughput sampled every
    /// --sample-interval into --series.
    #[arg(long, value_parser = positive_duration, requires = "series",
          conflicts_with_all = ["duration", "iterations", "sweep", "repeat", "interval"])]
    pub soak: Option<Duration>,
    /// Soak: time between samples (at least 0.1 s).
    #[arg(long, value_parser = positive_duration, default_value = "10", requires = "soak")]
    pub sample_interval: Duration,
    /// Soak: the series file, JSON Lines, one line per sample appended and synced as the soak runs;
    /// it must not exist yet.
    #[arg(long, value_name = "FILE", requires = "soak")]
    pub series: Option<PathBuf>,
    /// Soak: thresholds to judge it by (TOML: [default], [media.optical|copper], [speed.N],
    /// [part."PN"]); without it the built-in defaults (no flap, no uncorrectable block, 90% of the
    /// port's speed) still apply.
    #[arg(long, value_name = "FILE", requires = "soak")]
    pub profile: Option<PathBuf>,
    /// Soak: also draw the series as one self-contained HTML page (throughput, probe, pre-FEC BER per
    /// lane, FEC bins, temperature, Rx/Tx power and bias over time) when the soak ends.
    #[arg(long, value_name = "FILE", requires = "soak")]
    pub html: Option<PathBuf>,
    /// Soak, for validating profiles and readers without a module: the client's link samples are read
    /// from DIR's recorded steps (0000/, 0001/, ... fixture trees; scripts/make-replay.py builds one),
    /// one step per sample, instead of the live link; the report says so.
    #[arg(long, value_name = "DIR", requires = "soak")]
    pub replay_link: Option<PathBuf>,
    /// Write the JSON report here (atomically); `-` writes it to standard output and the table to
    /// standard error.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Tag the report, KEY=VALUE (repeatable): link=dac-1m, module=SN1234.
    #[arg(long = "label", value_parser = label)]
    pub labels: Vec<(String, String)>,
    /// Seconds to wait for the server to accept a connection.
    #[arg(long, value_parser = positive_duration, default_value = "5")]
    pub connect_timeout: Duration,
    /// Seconds a silent data connection is given before the test is declared stalled.
    #[arg(long, value_parser = positive_duration, default_value = "10")]
    pub stall_timeout: Duration,
    /// No live per-interval lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Pre-shared key file for a server started with --psk-file (at least 16 bytes).
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    #[command(flatten)]
    pub rdma: RdmaArgs,
}

/// The RDMA flags of the client (perftest's knobs, with perftest's defaults).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "RDMA (--transport rdma)")]
pub struct RdmaArgs {
    /// RDMA operation.
    #[arg(long, value_enum)]
    pub op: Option<RdmaOp>,
    /// RDMA device (default: the one whose netdev carries the route to the server).
    #[arg(long)]
    pub device: Option<String>,
    /// Port of the RDMA device (default: its first active port).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub port: Option<u8>,
    /// GID index (default: the port's RoCE v2 IPv4-mapped GID; InfiniBand: LID addressing).
    #[arg(long)]
    pub gid_index: Option<u32>,
    /// Work requests in flight per queue pair (perftest -t; default 128 for bw, 1 for lat).
    #[arg(long, value_parser = positive_u32)]
    pub tx_depth: Option<u32>,
    /// Receive buffers posted per queue pair for --op send (perftest -r).
    #[arg(long, value_parser = positive_u32, default_value = "512")]
    pub rx_depth: u32,
    /// Largest message sent inline (perftest -I; default 220 for write lat, 236 for send lat, 0 for bw).
    #[arg(long)]
    pub inline_size: Option<u32>,
    /// Work requests chained per post call (perftest -l).
    #[arg(long, value_parser = positive_u32, default_value = "1")]
    pub post_list: u32,
    /// Ask for a completion every N work requests (selective signaling; perftest -Q).
    #[arg(long, value_parser = positive_u32, default_value = "100")]
    pub cq_mod: u32,
    /// Outstanding RDMA reads per queue pair (perftest -o; capped at the device's maximum).
    #[arg(long, value_parser = positive_u32, default_value = "16")]
    pub outstanding_reads: u32,
    /// Path MTU in bytes: 256, 512, 1024, 2048, 4096 (default: the ports' active MTU).
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Sleep on completion events instead of busy polling (perftest -e).
    #[arg(long)]
    pub use_event: bool,
    /// Register the buffers in 2 MiB huge pages (perftest --use_hugepages).
    #[arg(long)]
    pub hugepages: bool,
}

impl RdmaArgs {
    fn any_given(&self) -> Option<&'static str> {
        [
            (self.op.is_some(), "--op"),
            (self.device.is_some(), "--device"),
            (self.port.is_some(), "--port"),
            (self.gid_index.is_some(), "--gid-index"),
            (self.tx_depth.is_some(), "--tx-depth"),
            (self.inline_size.is_some(), "--inline-size"),
            (self.mtu.is_some(), "--mtu"),
            (self.use_event, "--use-event"),
            (self.hugepages, "--hugepages"),
        ]
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, name)| name)
    }

    fn settings(&self, test: TestKind) -> Result<RdmaSettings, CliError> {
        let op = self.op.unwrap_or(RdmaOp::Write);
        if self.use_event && test == TestKind::Lat {
            return Err(CliError(
                "--use-event applies to RDMA bandwidth tests (bw, bibw): latency always busy-polls, so its \
                 CPU cost is one core per queue pair; drop --use-event"
                    .into(),
            ));
        }
        if let Some(m) = self.mtu {
            if crate::transport::rdma::verbs::mtu_from_bytes(m).is_none() {
                return Err(CliError(format!(
                    "--mtu {m} is not an RDMA path MTU: use 256, 512, 1024, 2048 or 4096"
                )));
            }
        }
        let defaults = RdmaSettings::perftest_defaults(op, test);
        Ok(RdmaSettings {
            op,
            tx_depth: self.tx_depth.unwrap_or(defaults.tx_depth),
            inline_size: self.inline_size.unwrap_or(defaults.inline_size),
            rx_depth: self.rx_depth,
            post_list: self.post_list,
            cq_mod: self.cq_mod,
            outstanding_reads: self.outstanding_reads,
            mtu: self.mtu,
            use_event: self.use_event,
            hugepages: self.hugepages,
        })
    }

    /// The device the user asked for.
    pub fn request(&self) -> DeviceRequest {
        DeviceRequest {
            device: self.device.clone(),
            port: self.port,
            gid_index: self.gid_index,
        }
    }
}

impl ClientArgs {
    /// Checks the flags that belong to one transport or test kind; for RDMA, builds its settings.
    fn check_transport_flags(&self) -> Result<Option<RdmaSettings>, CliError> {
        if self.reverse && self.test != TestKind::Bw {
            return Err(CliError(format!(
                "--reverse applies to --test bw only (bibw already runs both ways; lat is a round trip), not {}",
                self.test
            )));
        }
        if self.zerocopy && self.test == TestKind::Lat {
            return Err(CliError(
                "--zerocopy applies to bandwidth tests (bw, bibw), not lat".into(),
            ));
        }
        if self.recv_mode != RecvMode::Copy && self.test == TestKind::Lat {
            return Err(CliError(
                "--recv-mode applies to TCP bandwidth tests (bw, bibw), not lat; drop it or use --test bw"
                    .into(),
            ));
        }
        Ok(match self.transport {
            TransportKind::Tcp => {
                if let Some(flag) = self.rdma.any_given() {
                    return Err(CliError(format!(
                        "{flag} applies to --transport rdma only; add --transport rdma or drop {flag}"
                    )));
                }
                None
            }
            TransportKind::Rdma => {
                if self.recv_mode != RecvMode::Copy {
                    return Err(CliError(
                        "--recv-mode is a TCP option: RDMA places data in registered memory without a copy"
                            .into(),
                    ));
                }
                if self.zerocopy || self.busy_poll {
                    return Err(CliError(
                        "--zerocopy and --busy-poll are TCP options: RDMA is zero-copy and busy-polls by \
                         default (use --use-event to sleep instead)"
                            .into(),
                    ));
                }
                Some(self.rdma.settings(self.test)?)
            }
        })
    }

    /// Checks combinations and builds the run's configuration.
    pub fn into_config(self, command_line: Vec<String>) -> Result<ClientConfig, CliError> {
        let rdma = self.check_transport_flags()?;
        let soak = self.soak_settings()?;
        let probe = self.probe_spec()?;
        let recv_mode = self.recv_mode;
        let rdma_device = self.rdma.request();
        if let (Some(_), Some(_)) = (&self.size, &self.sweep) {
            return Err(CliError("use either --size or --sweep, not both".into()));
        }
        let atomic = rdma.as_ref().is_some_and(|r| r.op == RdmaOp::Atomic);
        if atomic && (self.sweep.is_some() || self.size.is_some_and(|s| s != 8)) {
            return Err(CliError(
                "--op atomic moves 8 bytes per operation: drop --size/--sweep (or use --size 8)"
                    .into(),
            ));
        }
        let sizes = match (self.size, self.sweep) {
            (Some(s), None) => vec![s],
            (None, Some(sweep)) => sweep.0,
            _ if atomic => vec![8],
            _ => vec![self.test.default_message_size(self.transport)],
        };
        let trials = (sizes.len() as u64).saturating_mul(u64::from(self.repeat));
        if trials > MAX_TRIALS {
            return Err(CliError(format!(
                "{} message sizes x --repeat {} is {trials} trials, more than one run may plan ({MAX_TRIALS}); \
                 lower --repeat, narrow --sweep, or run several clients one after another",
                sizes.len(),
                self.repeat
            )));
        }
        let stop = match (self.soak, self.duration, self.iterations) {
            (Some(d), _, _) => StopCondition::Duration {
                seconds: d.as_secs_f64(),
            },
            (_, _, Some(count)) => StopCondition::Iterations { count },
            (_, Some(d), None) => StopCondition::Duration {
                seconds: d.as_secs_f64(),
            },
            (_, None, None) => StopCondition::Duration { seconds: 5.0 },
        };
        let interval_s = soak
            .as_ref()
            .map_or(self.interval.as_secs_f64(), |s| s.sample_interval_s);
        if let (Some(soak), StopCondition::Duration { seconds }) = (&soak, stop) {
            let samples = (seconds / soak.sample_interval_s).ceil();
            if samples > crate::control::limits::MAX_INTERVALS as f64 {
                return Err(CliError(format!(
                    "--soak {seconds} s at --sample-interval {} s makes {samples} samples; a soak keeps at \
                     most {}: use a longer --sample-interval",
                    soak.sample_interval_s,
                    crate::control::limits::MAX_INTERVALS
                )));
            }
        }
        check_interval(interval_s, stop)?;
        let labels: BTreeMap<String, String> = self.labels.into_iter().collect();
        let psk = match &self.psk_file {
            Some(path) => Some(PreSharedKey::from_file(path).map_err(|e| CliError(e.to_string()))?),
            None => None,
        };
        Ok(ClientConfig {
            server: self.server,
            plan: TestPlan {
                transport: self.transport,
                test: self.test,
                sizes,
                streams: self.streams,
                stop,
                warmup_s: self.warmup.as_secs_f64(),
                interval_s,
                repeat: self.repeat,
                reverse: self.reverse,
                zerocopy: self.zerocopy,
                busy_poll: self.busy_poll,
                recv_mode,
                server_cpus: self.server_cpu.map(|c| c.0),
                rdma,
                link_samples: soak.is_some(),
                probe,
            },
            rdma_device,
            cpus: self.cpu.map(|c| c.0),
            labels,
            command_line,
            connect_timeout: self.connect_timeout,
            stall_timeout: self.stall_timeout,
            live: !self.quiet,
            root: PathBuf::from("/"),
            psk,
            soak,
        })
    }

    /// `--probe-rate`'s probe, checked: beside bandwidth traffic (TCP or RDMA).
    fn probe_spec(&self) -> Result<Option<ProbeSpec>, CliError> {
        let Some(rate_per_s) = self.probe_rate else {
            return Ok(None);
        };
        if self.test == TestKind::Lat {
            return Err(CliError(
                "--probe-rate measures latency beside bandwidth traffic (--test bw or bibw); --test lat is \
                 already a latency test"
                    .into(),
            ));
        }
        Ok(Some(ProbeSpec {
            rate_per_s,
            size: self.probe_size,
        }))
    }

    /// `--soak`'s settings, checked: a bandwidth test, a sample interval the server accepts.
    fn soak_settings(&self) -> Result<Option<SoakSettings>, CliError> {
        let (Some(_), Some(series)) = (self.soak, &self.series) else {
            return Ok(None);
        };
        if self.test == TestKind::Lat {
            return Err(CliError(
                "--soak runs bandwidth traffic: use --test bw or --test bibw".into(),
            ));
        }
        let sample_interval_s = self.sample_interval.as_secs_f64();
        if sample_interval_s < MIN_SAMPLE_INTERVAL_S {
            return Err(CliError(format!(
                "--sample-interval {sample_interval_s} s is too short: a sample reads both links' counters and modules, at most every {MIN_SAMPLE_INTERVAL_S} s"
            )));
        }
        let profile = match &self.profile {
            Some(path) => Some((
                path.clone(),
                crate::profile::Profile::load(path).map_err(|e| CliError(e.to_string()))?,
            )),
            None => None,
        };
        if let Some(dir) = &self.replay_link {
            crate::diag::sampler::LinkSampler::replay(dir).map_err(|e| {
                CliError(format!(
                    "--replay-link: {e}; build one with scripts/make-replay.py DIR"
                ))
            })?;
        }
        Ok(Some(SoakSettings {
            series: series.clone(),
            sample_interval_s,
            profile,
            replay: self.replay_link.clone(),
        }))
    }
}

/// linkbench-server: serve linkbench clients, one session at a time (or --max-sessions at once).
#[derive(Debug, Parser)]
#[command(name = "linkbench-server", version, about, long_about = None, allow_negative_numbers = true)]
pub struct ServerArgs {
    /// Address and port for control and data connections.
    #[arg(long, default_value = "[::]:18515")]
    pub bind: SocketAddr,
    /// Exit after the first session.
    #[arg(long)]
    pub once: bool,
    /// Largest message size a client may ask for.
    #[arg(long, value_parser = size, default_value = "64M")]
    pub max_message_size: u64,
    /// Most parallel streams in one trial, and in all sessions' running trials together.
    #[arg(long, value_parser = positive_u32, default_value = "128")]
    pub max_streams: u32,
    /// Sessions served at once (1: a second client is told "busy"). Sessions running trials at once
    /// share --max-streams and --max-buffer-memory, and each report says what its trial shared.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024), default_value = "1")]
    pub max_sessions: u32,
    /// Longest measured phase (and warm-up) a client may ask for, in seconds.
    #[arg(long, value_parser = positive_duration, default_value = "86400")]
    pub max_duration: Duration,
    /// Most iterations per stream.
    #[arg(long, value_parser = positive_u64, default_value = "1000000000000")]
    pub max_iterations: u64,
    /// Most buffer memory one trial may make the server allocate, and all sessions' running trials
    /// together.
    #[arg(long, value_parser = size, default_value = "1G")]
    pub max_buffer_memory: u64,
    /// Shortest soak sample interval a client may ask for: each sample reads this host's counters and
    /// module on the session's control thread.
    #[arg(long, value_parser = positive_duration, default_value = "0.1", conflicts_with = "no_link_samples")]
    pub min_sample_interval: Duration,
    /// Refuse soaks' link sampling (clients may still run long bandwidth trials).
    #[arg(long)]
    pub no_link_samples: bool,
    /// Seconds a new connection may take to identify itself and say hello.
    #[arg(long, value_parser = positive_duration, default_value = "10")]
    pub handshake_timeout: Duration,
    /// Seconds a session may sit idle between trials.
    #[arg(long, value_parser = positive_duration, default_value = "120")]
    pub idle_timeout: Duration,
    /// Seconds a silent data connection is given before the test is declared stalled.
    #[arg(long, value_parser = positive_duration, default_value = "10")]
    pub stall_timeout: Duration,
    /// Largest control frame accepted (1K to 16M).
    #[arg(long, value_parser = frame_size, default_value = "64K")]
    pub max_frame: u32,
    /// Most connections being admitted (identifying themselves) at once; more are closed at once.
    #[arg(long, value_parser = positive_u32, default_value = "256")]
    pub max_connections: u32,
    /// Require clients to prove they hold this pre-shared key (HMAC-SHA256 challenge-response).
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Accept connections only from these networks (repeatable): 10.0.0.0/8, 192.0.2.7, fd00::/8.
    #[arg(long = "allow", value_name = "CIDR", value_parser = allow_net)]
    pub allow: Vec<IpNet>,
    /// RDMA device for RDMA tests (default: the one whose netdev carries the client's connection).
    #[arg(long)]
    pub device: Option<String>,
    /// Port of the RDMA device (default: its first active port).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub port: Option<u8>,
    /// GID index for RDMA tests (default: the port's RoCE v2 IPv4-mapped GID).
    #[arg(long)]
    pub gid_index: Option<u32>,
}

/// The interval bounds every server enforces, checked before connecting: 0.01 s to 3600 s, and at most
/// 100,000 intervals in a trial's duration.
fn check_interval(interval_s: f64, stop: StopCondition) -> Result<(), CliError> {
    use crate::control::limits::{MAX_INTERVALS, MAX_INTERVAL_S};
    if interval_s < 0.01 {
        return Err(CliError("--interval must be at least 0.01 seconds".into()));
    }
    if interval_s > MAX_INTERVAL_S {
        return Err(CliError("--interval must be at most 3600 seconds".into()));
    }
    if let StopCondition::Duration { seconds } = stop {
        let count = (seconds / interval_s).ceil();
        if count > MAX_INTERVALS as f64 {
            return Err(CliError(format!(
                "--duration {seconds} at --interval {interval_s} makes {count} intervals; a trial keeps at \
                 most {MAX_INTERVALS}: use a longer --interval"
            )));
        }
    }
    Ok(())
}

fn frame_size(text: &str) -> Result<u32, String> {
    match units::parse_size(text).map_err(|e| e.to_string())? {
        n if (1024..=16 << 20).contains(&n) => Ok(n as u32),
        n => Err(format!("invalid frame size {n}: use 1K to 16M")),
    }
}

fn allow_net(text: &str) -> Result<IpNet, String> {
    crate::control::allow::parse_allow(text).map_err(|e| e.to_string())
}

impl ServerArgs {
    /// Builds the server's configuration (reading the key file, if any).
    pub fn into_config(self) -> Result<ServerConfig, CliError> {
        let max_duration_s = self.max_duration.as_secs_f64();
        let psk = match &self.psk_file {
            Some(path) => Some(PreSharedKey::from_file(path).map_err(|e| CliError(e.to_string()))?),
            None => None,
        };
        if self.once && self.max_sessions > 1 {
            return Err(CliError(
                "--once serves one session and exits, which would end the others mid-trial: drop --once or \
                 --max-sessions"
                    .into(),
            ));
        }
        Ok(ServerConfig {
            bind: self.bind,
            once: self.once,
            limits: ServerLimits {
                max_message_size: self.max_message_size,
                max_streams: self.max_streams,
                max_duration_s,
                max_warmup_s: max_duration_s.min(ServerLimits::default().max_warmup_s),
                max_iterations: self.max_iterations,
                max_buffer_bytes: self.max_buffer_memory,
                min_sample_interval_s: (!self.no_link_samples).then(|| {
                    self.min_sample_interval
                        .as_secs_f64()
                        .max(MIN_SAMPLE_INTERVAL_S)
                }),
                ..ServerLimits::default()
            },
            handshake_timeout: self.handshake_timeout,
            idle_timeout: self.idle_timeout,
            stall_timeout: self.stall_timeout,
            max_frame_bytes: self.max_frame,
            max_connections: self.max_connections as usize,
            max_sessions: self.max_sessions as usize,
            psk,
            allow: self.allow,
            rdma_device: DeviceRequest {
                device: self.device,
                port: self.port,
                gid_index: self.gid_index,
            },
            ..ServerConfig::default()
        })
    }
}

/// Standard output could not be written (a full disk, a closed pipe, `> /dev/full`).
#[derive(Debug, Error)]
#[error("cannot write to standard output: {source}; {hint}")]
pub struct StdoutError {
    #[source]
    pub source: std::io::Error,
    /// What to do instead, e.g. "write to a file with --output FILE".
    pub hint: &'static str,
}

/// Writes all of `text` to standard output and flushes it. Unlike `print!`, which panics when standard
/// output cannot be written, this returns the error so a binary can say so in one line and exit 1.
pub fn print_stdout(text: &str, hint: &'static str) -> Result<(), StdoutError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| StdoutError { source, hint })
}

/// Parses arguments; on a bad one prints a single line `PROGRAM: error: ... (see --help)` and exits 2.
/// `--help` and `--version` print as usual and exit 0.
pub fn parse_or_exit<T: Parser>(program: &str) -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                let rendered = e.render().to_string();
                // The message's first paragraph: "required arguments were not provided:" names them
                // on the lines after it.
                let paragraph: Vec<&str> = rendered
                    .lines()
                    .map(str::trim)
                    .skip_while(|l| l.is_empty())
                    .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                    .collect();
                let first = match paragraph.join(" ") {
                    p if p.is_empty() => "invalid arguments".to_string(),
                    p => p,
                };
                let first = first.trim_start_matches("error: ");
                eprintln!("{program}: error: {first} (see --help)");
                std::process::exit(2);
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ClientConfig, String> {
        let mut full = vec!["linkbench-client"];
        full.extend_from_slice(args);
        let parsed = ClientArgs::try_parse_from(full).map_err(|e| e.to_string())?;
        parsed.into_config(vec![]).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_the_peer_tools() {
        let c = parse(&["host"]).unwrap();
        assert_eq!(c.plan.sizes, vec![131072]);
        assert_eq!(c.plan.stop, StopCondition::Duration { seconds: 5.0 });
        let c = parse(&["host", "--test", "lat"]).unwrap();
        assert_eq!(c.plan.sizes, vec![2]);
    }

    #[test]
    fn sweeps_iterations_labels_and_cpus() {
        let c = parse(&[
            "h",
            "--sweep",
            "2:16",
            "--iterations",
            "100",
            "--label",
            "link=dac",
            "--cpu",
            "0-1",
            "--server-cpu",
            "1",
        ])
        .unwrap();
        assert_eq!(c.plan.sizes, vec![2, 4, 8, 16]);
        assert_eq!(c.plan.stop, StopCondition::Iterations { count: 100 });
        assert_eq!(c.labels.get("link").map(String::as_str), Some("dac"));
        assert_eq!(c.cpus, Some(vec![0, 1]));
        assert_eq!(c.plan.server_cpus, Some(vec![1]));
    }

    #[test]
    fn bad_combinations_are_refused() {
        for (args, needle) in [
            (vec!["h", "--test", "lat", "--reverse"], "--reverse applies"),
            (
                vec!["h", "--test", "lat", "--zerocopy"],
                "--zerocopy applies",
            ),
            (
                vec!["h", "--transport", "rdma", "--test", "lat", "--use-event"],
                "--use-event applies to RDMA bandwidth",
            ),
            (
                vec!["h", "--test", "lat", "--recv-mode", "zerocopy"],
                "--recv-mode applies to TCP bandwidth",
            ),
            (
                vec!["h", "--size", "1K", "--sweep", "2:4"],
                "cannot be used with",
            ),
            (
                vec!["h", "--duration", "1", "--iterations", "5"],
                "cannot be used with",
            ),
            (vec!["h", "--streams", "0"], "from 1 to"),
            (vec!["h", "--label", "novalue"], "KEY=VALUE"),
            (vec!["h", "--interval", "0"], "more than 0"),
            (vec!["h", "--interval", "3601"], "at most 3600"),
            (
                vec!["h", "--interval", "0.01", "--duration", "86400"],
                "at most 100000",
            ),
            (vec!["h", "--iterations", "0"], "at least 1"),
            (vec!["h", "--repeat", "4294967295"], "from 1 to 10000"),
            (
                vec!["h", "--repeat", "1000", "--sweep", "2:64M"],
                "26 message sizes x --repeat 1000 is 26000 trials",
            ),
        ] {
            let err = parse(&args).unwrap_err();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }
}
