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

    /// The value at quantile `q` (0..=1); 0 when empty.
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        self.histogram.value_at_quantile(q)
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
        Self::decode_bytes(&bytes)
    }

    /// Decodes a V2 or V2+DEFLATE encoding. The header is checked first, so a crafted histogram cannot make
    /// the decoder allocate more than [`MAX_DECODED_COUNTS`] counters.
    pub fn decode_bytes(bytes: &[u8]) -> Result<LatencyRecorder, HistogramError> {
        check_header(bytes)?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| HistogramError::Decode(format!("{e:?}")))?;
        Ok(LatencyRecorder {
            histogram,
            clamped: 0,
        })
    }
}

/// Most counters a decoded histogram may have (16 MiB of u64); linkbench's own have about 27,000.
pub const MAX_DECODED_COUNTS: u64 = 1 << 21;

const V2_COOKIE_BASE: u32 = 0x1c84_9303;
const V2_DEFLATE_COOKIE_BASE: u32 = 0x1c84_9304;

/// Reads the V2 header (inflating only its first bytes for the DEFLATE form) and refuses histograms whose
/// counts array would be unreasonably large.
fn check_header(bytes: &[u8]) -> Result<(), HistogramError> {
    let bad = |why: &str| HistogramError::Decode(why.to_string());
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let cookie = be32(bytes, 0).ok_or_else(|| bad("too short for a header"))? & !0xf0;
    let mut header = [0u8; 40];
    let header: &[u8] = match cookie {
        V2_COOKIE_BASE => bytes
            .get(..40)
            .ok_or_else(|| bad("too short for a V2 header"))?,
        V2_DEFLATE_COOKIE_BASE => {
            use std::io::Read;
            let payload = bytes
                .get(8..)
                .ok_or_else(|| bad("too short for a compressed header"))?;
            flate2::read::ZlibDecoder::new(payload)
                .read_exact(&mut header)
                .map_err(|e| bad(&format!("compressed header: {e}")))?;
            &header
        }
        other => return Err(bad(&format!("unknown cookie {other:#x}"))),
    };
    let be64 = |at: usize| u64::from_be_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let digits = be32(header, 12).expect("in header");
    let (lowest, highest) = (be64(16), be64(24));
    if !(1..=5).contains(&digits)
        || lowest == 0
        || lowest.checked_mul(2).is_none_or(|twice| highest < twice)
    {
        return Err(bad("header bounds are invalid"));
    }
    let counts = counts_len(lowest, highest, digits);
    // The decoder allocates the declared payload before reading it: bound it by what the counters can
    // take (at most a 9-byte varint each) and, uncompressed, by what is actually there.
    let payload = u64::from(be32(header, 4).expect("in header"));
    let present = if cookie == V2_COOKIE_BASE {
        bytes.len() as u64 - 40
    } else {
        u64::MAX
    };
    if payload > counts.saturating_mul(9) || payload > present {
        return Err(bad(&format!(
            "declared payload of {payload} bytes is larger than the histogram can hold"
        )));
    }
    if counts > MAX_DECODED_COUNTS {
        return Err(bad(&format!(
            "it would need {counts} counters (range {lowest}..{highest}, {digits} digits); at most {MAX_DECODED_COUNTS} are decoded"
        )));
    }
    Ok(())
}

/// Length of an HdrHistogram's counts array, computed as the reference implementation sizes it (in u128,
/// so no header can overflow it).
fn counts_len(lowest: u64, highest: u64, digits: u32) -> u64 {
    let largest_single_unit = 2 * 10u128.pow(digits.min(5));
    let sub_bucket_count_magnitude = 128 - (largest_single_unit - 1).leading_zeros(); // ceil(log2)
    let sub_bucket_count = 1u128 << sub_bucket_count_magnitude.max(1);
    let unit_magnitude = 63 - lowest.max(1).leading_zeros();
    let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
    let mut buckets = 1u128;
    while smallest_untrackable <= u128::from(highest) {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    u64::try_from((buckets + 1) * (sub_bucket_count / 2)).unwrap_or(u64::MAX)
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
    fn oversized_headers_are_refused_before_allocating() {
        // Our own histograms are small.
        assert!(counts_len(LOWEST_NS, HIGHEST_NS, 3) < 30_000);
        // 5 digits over the whole u64 range would need millions of counters.
        assert!(counts_len(1, u64::MAX, 5) > MAX_DECODED_COUNTS);
        let mut crafted = vec![0x1c, 0x84, 0x93, 0x13];
        crafted.extend_from_slice(&0x7fff_ffffu32.to_be_bytes()); // payload length
        crafted.extend_from_slice(&0u32.to_be_bytes()); // normalising offset
        crafted.extend_from_slice(&5u32.to_be_bytes()); // significant digits
        crafted.extend_from_slice(&1u64.to_be_bytes()); // lowest
        crafted.extend_from_slice(&u64::MAX.to_be_bytes()); // highest
        crafted.extend_from_slice(&1.0f64.to_be_bytes()); // conversion ratio
        let err = LatencyRecorder::decode_bytes(&crafted)
            .unwrap_err()
            .to_string();
        assert!(err.contains("payload") || err.contains("counters"), "{err}");
        // A small range that declares a 2 GiB payload.
        crafted[24..32].copy_from_slice(&1_000_000u64.to_be_bytes());
        let err = LatencyRecorder::decode_bytes(&crafted)
            .unwrap_err()
            .to_string();
        assert!(err.contains("payload"), "{err}");
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
