//! linkbench-harness: plans over many host pairs (acceptance, optics qualification, nightly
//! regression), launched through Slurm, ssh, pdsh or locally, summarised per pair and host.

pub mod baseline;
pub mod launcher;
pub mod plan;
pub mod runner;
pub mod schedule;
pub mod summary;
