//! What a report says about the machine: host facts and the interface that carries the route to the
//! peer. Every reader takes a root path (normally `/`) so tests can point it at a fixture tree.

pub mod counters;
pub mod ethtool_ioctl;
pub mod host;
pub mod link;
pub mod module;
pub mod netlink;
pub mod rdma;
pub mod route;
pub mod sampler;

pub use host::HostFacts;
pub use route::InterfaceFacts;
