//! A soak's time series (`--series FILE`, JSON Lines): one line per sample with both sides' halves, and
//! the summary of the whole soak that the report carries. The line's schema is versioned on its own
//! ([`SERIES_SCHEMA_VERSION`]) and generated like the report's (`results-schema/series.schema.json`).

use crate::diag::link::LinkVerdict;
use crate::diag::sampler::LinkSample;
use crate::model::Direction;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of one series line's layout. Minor: fields added; major: a reader must change.
pub const SERIES_SCHEMA_VERSION: &str = "1.1.0";

/// One sample of a soak: a line of the series file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesLine {
    pub schema_version: String,
    /// 0, 1, 2, ... in the order written.
    pub sample: u64,
    /// When the client wrote the line (UTC, RFC 3339).
    pub time: String,
    /// Seconds since the trial started, on the client's clock.
    pub elapsed_s: f64,
    /// False during the warm-up (its traffic is not counted in the throughput figures).
    pub measuring: bool,
    /// The interval's throughput, per direction that carries measured traffic.
    pub throughput: Vec<SampleThroughput>,
    /// The client's link, sampled when the server's half arrived; null when the client has no
    /// interface to sample (loopback has one: `lo`).
    pub client: Option<LinkSample>,
    /// The server's link, sampled at the end of its interval and sent over the control session; null
    /// from a server older than report 1.5.0.
    pub server: Option<LinkSample>,
    /// The latency probe's round trips since the previous sample (`--probe-rate`; added with series
    /// 1.1.0); absent without a probe, and when a round trip was still in flight (a note says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::model::ProbeSample>,
    /// What is missing from this line and why (a server sample left out for its size).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The payload one direction moved in one sample interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SampleThroughput {
    pub direction: Direction,
    /// 10^9-based bits of payload per second over the interval.
    pub bits_per_second: f64,
    pub bytes: u64,
    /// Length of the interval on the counting side's clock.
    pub seconds: f64,
    /// `server` or `client`: the side whose threads counted the bytes (the receiver for TCP, the poster of
    /// completed work requests for RDMA).
    pub counted_by: String,
}

/// A throughput extreme and the sample where it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThroughputExtremes {
    pub direction: Direction,
    pub min_bits_per_second: f64,
    pub min_at_sample: u64,
    pub max_bits_per_second: f64,
    pub max_at_sample: u64,
    /// Measured samples that had a figure for this direction.
    pub samples: u64,
}

/// A sample in which a side's link went down (carrier changes, IB `link_downed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlapAt {
    /// `client` or `server`.
    pub side: String,
    pub sample: u64,
    pub elapsed_s: f64,
}

/// The soak as the report summarises it; every figure's detail is in the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SoakSummary {
    /// The series file, as given.
    pub series: String,
    pub sample_interval_s: f64,
    /// Lines written (warm-up samples included).
    pub samples: u64,
    /// Lines written during the measured phase.
    pub measured_samples: u64,
    pub throughput: Vec<ThroughputExtremes>,
    /// The latency probe's highest per-sample p99 over the measured samples, microseconds, and the
    /// sample (`--probe-rate`; added with report 1.6.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_p99_us: Option<Extreme>,
    pub link_flaps: Vec<FlapAt>,
    /// Each side's link over the whole soak (its last sample's cumulative verdict): pre-FEC BER with
    /// its 95% upper bound, uncorrectable blocks, error counters that rose.
    pub client_link: Option<LinkVerdict>,
    pub server_link: Option<LinkVerdict>,
    /// Why the series ended early, when it did (a write failed, the trial ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_early: Option<String>,
    /// Each side's physical-layer figures over the soak: worst values and where, Rx power drift.
    pub client_figures: Option<SideFigures>,
    pub server_figures: Option<SideFigures>,
    /// Every threshold of the profile (and the built-in defaults) against what was measured.
    pub verdict: SoakVerdict,
    /// Set when a side's link was replayed from recorded or specification-built steps
    /// (`--replay-link`), not read live: which side, and from where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<String>,
    /// The module at each end that the verdict is about: the live port's, or the replayed one's
    /// (added with report 1.6.0; a side without a module is absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<SoakModule>,
}

/// A module a soak qualified, as its EEPROM names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SoakModule {
    /// `client` or `server`.
    pub side: String,
    pub vendor: Option<String>,
    pub part_number: Option<String>,
    pub serial_number: Option<String>,
    /// Its samples were replayed (`--replay-link`), not read from a live port.
    pub replayed: bool,
}

impl SoakModule {
    /// The module on `side` as its decoded EEPROM names it.
    pub fn named(side: &str, info: &crate::diag::module::ModuleInfo, replayed: bool) -> SoakModule {
        SoakModule {
            side: side.into(),
            vendor: info.vendor.clone(),
            part_number: info.part_number.clone(),
            serial_number: info.serial_number.clone(),
            replayed,
        }
    }
}

/// A worst value and the sample where it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Extreme {
    pub value: f64,
    pub sample: u64,
    /// 1-based lane, for per-lane monitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<u8>,
}

/// One lane's Rx power at the start and at the end of the soak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LaneDrift {
    pub lane: u8,
    /// Median over the first window of samples, dBm.
    pub first_median_dbm: f64,
    /// Median over the last window of samples, dBm.
    pub last_median_dbm: f64,
    /// `last - first`, dB (negative: the lane lost light).
    pub drift_db: f64,
}

/// One side's link over the whole soak, from its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SideFigures {
    /// Times the link went down (netdev `carrier_down_count`, IB `link_downed`).
    pub link_flaps: u64,
    /// FEC uncorrectable blocks over the soak; null without FEC statistics.
    pub uncorrectable_blocks: Option<u64>,
    /// Cumulative pre-FEC BER's 95% upper bound at the last sample; null without FEC corrected bits.
    pub pre_fec_ber_upper_95: Option<f64>,
    /// The highest FEC histogram bin that counted (its lowest symbol-error count per codeword).
    pub max_fec_bin: Option<Extreme>,
    pub max_temperature_c: Option<Extreme>,
    /// The highest pre-FEC BER the module measured on a media lane (CMIS VDM type 15), with the lane and
    /// sample; null when the module has no VDM (added with report 1.6.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vdm_pre_fec_ber: Option<Extreme>,
    pub min_rx_power_dbm: Option<Extreme>,
    pub max_rx_power_dbm: Option<Extreme>,
    /// Per lane, from the first window's median to the last window's.
    pub rx_power_drift: Vec<LaneDrift>,
    /// Samples in each drift window: an hour's worth, or a quarter of the soak when it is shorter
    /// than four hours, and at most half the samples a lane had (a soak that ended early).
    pub drift_window_samples: u64,
    /// What taking one sample cost this side (its `cost_us`), mean and highest, microseconds.
    pub sample_cost_mean_us: f64,
    pub sample_cost_max_us: f64,
}

/// The soak's pass or fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SoakVerdict {
    /// True when no threshold failed (a threshold nothing measured does not fail, and says so).
    pub pass: bool,
    /// The `--profile` file; null when only the built-in defaults applied.
    pub profile: Option<String>,
    pub thresholds: Vec<ThresholdResult>,
    /// Why the soak ended before its planned end, when it did: a partial soak never passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// One threshold against its figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdResult {
    /// The profile's key: `max_link_flaps`, `min_throughput_fraction`, ...
    pub name: String,
    /// `client` or `server` for a side's link; null for the traffic.
    pub side: Option<String>,
    pub value: f64,
    /// The layer that set it: `built-in default`, `[default]`, `[media.optical]`, `[speed.400]`,
    /// `[part."PN"]`.
    pub source: String,
    pub measured: Option<f64>,
    pub unit: String,
    pub result: ThresholdOutcome,
    /// Where the figure was seen, or why there is none.
    pub detail: String,
}

/// A threshold's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdOutcome {
    Pass,
    Fail,
    /// Nothing measured it (no FEC statistics, no module, no probe): listed, not failed.
    NotMeasured,
}
