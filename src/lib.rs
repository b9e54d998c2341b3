//! linkbench: interconnect benchmarks (bandwidth and latency between paired hosts) with versioned JSON
//! reports.
//!
//! Data flows one way: command line ([`cli`]) -> [`plan::TestPlan`] -> control session ([`client`],
//! [`server`], protocol in [`control`]) -> data path ([`transport`]) -> workloads ([`engine`]) ->
//! figures ([`results`], [`stats`]) -> [`report`]. Facts about the machine come from [`diag`] and
//! [`clock`]; human units from [`units`]; files the user names are read through [`files`].
//!
//! `unsafe` is denied here and allowed only in the modules that make raw calls (`transport::rdma::verbs`,
//! `transport::zerocopy`, `diag::ethtool_ioctl`), where every block says why it is sound.

#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cli;
pub mod client;
pub mod clock;
pub mod compare;
pub mod control;
pub mod cputime;
pub mod diag;
pub mod engine;
pub mod files;
pub mod inspect;
pub mod model;
pub mod plan;
pub mod profile;
pub mod report;
pub mod results;
pub mod server;
pub mod stats;
pub mod sysfs;
pub mod text;
pub mod transport;
pub mod trial;
pub mod units;
