//! What travels between the two sides and what a report says, as plain data: CPU placement, RDMA
//! endpoints and port facts, zero-copy figures, receive modes, CPU cost, the latency probe, a soak's series lines and summary, one side's trial report, and the report itself. It sits
//! above the facts it is made of (`plan`, `stats`, `clock`, `diag`) and below everything that produces
//! or reads it (`transport`, `engine`, `results`, `control`, `report`, the sessions), so that none of
//! those needs another to name what it exchanges.

pub mod cpu;
pub mod placement;
pub mod probe;
pub mod rdma;
pub mod receive;
pub mod report;
pub mod series;
pub mod side;
pub mod zerocopy;

pub use cpu::{CpuReport, CpuSpan, CpuTimes, HostCpu, SideCpu, SideCpuSample};
pub use placement::{CpuChoice, CpuSource, ServerSharing};
pub use probe::{ProbeReport, ProbeSample, ProbeShares};
pub use rdma::{QpEndpoint, RdmaOffer, RdmaPortFacts};
pub use receive::{ReceiveReport, ReceiveStats, RecvMode};
pub use report::{Direction, DirectionFigures, Report, TestResult};
pub use series::{SeriesLine, SoakSummary, SERIES_SCHEMA_VERSION};
pub use side::SideReport;
pub use zerocopy::ZeroCopyStats;
