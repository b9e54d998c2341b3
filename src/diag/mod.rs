//! What a report says about the machine: host facts and the interface that carries the route to the
//! peer. Every reader takes a root path (normally `/`) so tests can point it at a fixture tree.

pub mod host;
pub mod route;

pub use host::HostFacts;
pub use route::InterfaceFacts;
