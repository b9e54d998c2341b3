//! linkbench-harness: plans over many host pairs (acceptance, optics qualification, nightly
//! regression), launched through Slurm, ssh, pdsh or locally, summarised per pair and host.
//!
//! # Layering
//!
//! The modules are declared below from the bottom up, and each may use (`crate::NAME`) only the modules
//! declared before it, so that the module graph is one-way and each can be read and changed knowing
//! only what lies beneath it. `tests/architecture.rs` reads this file's declarations and every file
//! under `src/` and fails on a `crate::` path that points to a module declared later, or when
//! this table and the code disagree.
//!
//! | module     | what it is                                                              | uses                                   |
//! | ---------- | ----------------------------------------------------------------------- | -------------------------------------- |
//! | `plan`     | the plan file, parsed and validated: what to run, where, what to expect | -                                      |
//! | `model`    | what a run decides: verdicts, outcomes, comparisons, the summary        | -                                      |
//! | `launcher` | how a command reaches a host: ssh, pdsh, srun, local                    | plan                                   |
//! | `schedule` | the pairs in rounds in which no host is in two tests at once            | plan                                   |
//! | `judge`    | one linkbench report against the plan's expectations (pure)             | plan, model                            |
//! | `runner`   | the processes: server, client, retries, reports on disk                 | plan, model, launcher, schedule, judge |
//! | `baseline` | linkbench-compare's statistics: an earlier run, suite against suite     | model                                  |
//! | `export`   | the summary as JSON, table, HTML, JUnit, Prometheus (a file each)       | model                                  |
//!
//! The binary (`main.rs`) sits above them all and is the only place that wires them together:
//! plan -> schedule -> runner -> baseline -> model::Summary -> export.

// The plan: hosts, launcher, suites of tests, expectations, comparisons.
pub mod plan;

// The results shared by every layer above: verdicts, outcomes, comparisons, the summary.
pub mod model;

// How a command reaches a host.
pub mod launcher;

// Which pairs run together.
pub mod schedule;

// The verdict on one report.
pub mod judge;

// Runs the schedule.
pub mod runner;

// Comparisons against an earlier run and between suites.
pub mod baseline;

// The summary's output formats.
pub mod export;
