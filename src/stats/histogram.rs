//! Latency histograms: every sample goes into an HdrHistogram (1 ns to 60 s, 3 significant digits, so
//! about 0.1% resolution); percentiles come from the histogram, never from a subset of samples. The
//! histogram travels in reports as base64 of the V2+DEFLATE encoding (cookie 0x1c849304), the form the
//! reference HdrHistogram implementations (Java, Python `hdrhistogram`) decode.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Lowest trackable value: 1 ns.
pub const LOWEST_NS: u64 = 1;
/// Highest trackable value: 60 s. Larger samples are recorded as 60 s and counted in `clamped`.
pub const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A histogram could not be encoded, decoded or merged.
#[derive(Debug, Error)]
pub enum HistogramError {
    #[error("histogram encoding failed: {0}")]
    Encode(String),
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("histogram is not a valid HdrHistogram V2 encoding: {0}")]
    Decode(String),
    #[error("histograms could not be merged: {0}")]
    Merge(String),
}

/// The percentiles and moments of a latency distribution, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub p99_99: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
}

/// Records latency samples without allocating.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    clamped: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// An empty recorder covering 1 ns to 60 s at 3 significant digits.
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        LatencyRecorder {
            histogram,
            clamped: 0,
        }
    }

    /// Records one sample. Never drops it: a value outside 1 ns..60 s is recorded at the nearest bound
    /// and counted in [`LatencyRecorder::clamped`].
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        if !(LOWEST_NS..=HIGHEST_NS).contains(&nanos) {
            self.clamped += 1;
        }
        self.histogram
            .saturating_record(nanos.clamp(LOWEST_NS, HIGHEST_NS));
    }

    /// Number of samples recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Samples that fell outside the trackable range and were recorded at its bound.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Empties the recorder (capacity is kept, nothing is freed or allocated).
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.clamped = 0;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyRecorder) -> Result<(), HistogramError> {
        self.histogram
            .add(&other.histogram)
            .map_err(|e| HistogramError::Merge(format!("{e:?}")))?;
        self.clamped += other.clamped;
        Ok(())
    }

    /// Percentiles and moments; `None` when empty.
    pub fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        if h.is_empty() {
            return None;
        }
        Some(LatencySummary {
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            p99_99: h.value_at_quantile(0.9999),
            max: h.max(),
            mean: h.mean(),
            stddev: h.stdev(),
        })
    }

    /// Base64 of the V2+DEFLATE encoding.
    pub fn encode_base64(&self) -> Result<String, HistogramError> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.histogram, &mut bytes)
            .map_err(|e| HistogramError::Encode(format!("{e:?}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Decodes base64 of a V2 or V2+DEFLATE encoding.
    pub fn decode_base64(text: &str) -> Result<LatencyRecorder, HistogramError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramError::Decode(format!("{e:?}")))?;
        Ok(LatencyRecorder {
            histogram,
            clamped: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_every_sample() {
        let mut r = LatencyRecorder::new();
        for v in 1..=10_000u64 {
            r.record(v * 1000);
        }
        let s = r.summary().unwrap();
        assert_eq!(r.count(), 10_000);
        assert_eq!(s.min, 1000);
        // 3 significant digits: within 0.1% of the exact percentile
        assert!(
            (s.p50 as f64 - 5_000_000.0).abs() / 5_000_000.0 < 0.001,
            "{}",
            s.p50
        );
        assert!(
            (s.p99 as f64 - 9_900_000.0).abs() / 9_900_000.0 < 0.001,
            "{}",
            s.p99
        );
        assert!((s.max as f64 - 10_000_000.0).abs() / 10_000_000.0 < 0.001);
    }

    #[test]
    fn out_of_range_samples_are_kept_and_counted() {
        let mut r = LatencyRecorder::new();
        r.record(0);
        r.record(HIGHEST_NS * 2);
        r.record(500);
        assert_eq!(r.count(), 3);
        assert_eq!(r.clamped(), 2);
    }

    #[test]
    fn encoding_round_trips_and_uses_the_deflate_cookie() {
        let mut r = LatencyRecorder::new();
        for v in [120u64, 130, 140, 5000, 77_000] {
            r.record(v);
        }
        let text = r.encode_base64().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap();
        // The V2 compressed cookie base is 0x1c849304; the 0xf0 bits carry the word size (0x10), as the
        // Java reference writes it, and decoders mask them off.
        let cookie = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        assert_eq!(
            cookie & !0xf0,
            0x1c84_9304,
            "V2+DEFLATE cookie base, got {cookie:#x}"
        );
        let back = LatencyRecorder::decode_base64(&text).unwrap();
        assert_eq!(back.summary(), r.summary());
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(LatencyRecorder::decode_base64("not base64!").is_err());
        assert!(LatencyRecorder::decode_base64("AAAA").is_err());
    }

    #[test]
    fn empty_has_no_summary() {
        assert!(LatencyRecorder::new().summary().is_none());
    }
}
