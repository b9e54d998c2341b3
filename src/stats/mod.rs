//! Statistics: HDR latency histograms with their percentiles and interchange encoding, and the
//! per-interval figures kept in reports.

pub mod histogram;
pub mod interval;

pub use histogram::{HistogramError, LatencyRecorder, LatencySummary};
pub use interval::{IntervalCounter, IntervalFigures};
