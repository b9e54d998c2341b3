//! The RDMA verbs backend: RC queue pairs over RoCE v2 or InfiniBand.
//!
//! - [`verbs`] holds every verbs call (and every `unsafe` of this backend).
//! - [`select`] picks the device, port and GID from sysfs: the device whose netdev carries the control
//!   connection, and the RoCE v2 IPv4-mapped GID of the local address.
//! - [`setup`] opens a side's queue pairs and connects them to the peer's endpoints.
//!
//! Queue-pair details (QPN, PSN, LID, GID, rkey, buffer address) travel over the control channel in the
//! setup and ready messages, so no extra port is opened (perftest uses TCP port 18515 for this).

pub mod select;
pub mod setup;
pub mod verbs;

pub use crate::model::{QpEndpoint, RdmaOffer, RdmaPortFacts};

use thiserror::Error;

/// An RDMA operation failed.
#[derive(Debug, Error)]
pub enum RdmaError {
    #[error(
        "RDMA is not available on this host: libibverbs could not be loaded or found no provider ({0}); \
         install rdma-core and ibverbs-providers, or use --transport tcp"
    )]
    NoLibrary(String),
    #[error(
        "no RDMA device found: load the NIC's RDMA driver (mlx5_ib, irdma, rdma_rxe for soft-RoCE) and \
         check `rdma link`, or use --transport tcp"
    )]
    NoDevice,
    #[error(
        "RDMA device {0:?} not found: see `linkbench-inspect` or `ibv_devices` for the names here"
    )]
    NoSuchDevice(String),
    #[error("RDMA device {device} has no port {port}")]
    NoSuchPort { device: String, port: u8 },
    #[error(
        "RDMA device {device} port {port} has no RoCE v2 GID for an IPv4 address{hint}: give one with --gid-index"
    )]
    NoGid {
        device: String,
        port: u8,
        hint: String,
    },
    #[error("--mtu {0} is not an RDMA path MTU: use 256, 512, 1024, 2048 or 4096")]
    BadMtu(u32),
    #[error(
        "could not map huge pages for the RDMA buffers ({0}): reserve some with \
         `sysctl vm.nr_hugepages=N`, or drop --hugepages"
    )]
    HugePages(std::io::Error),
    #[error("RDMA {what} failed: {source}")]
    Verbs {
        what: verbs::Verb,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not {what}: {source}")]
    Post {
        what: verbs::Verb,
        #[source]
        source: std::io::Error,
    },
    #[error("a {} completion failed: {status} (vendor error {vendor_err:#x})", if *receive { "receive" } else { "send" })]
    Completion {
        status: String,
        vendor_err: u32,
        receive: bool,
    },
    #[error(
        "the peer sent no RDMA completion for {seconds:.1} s (timed out); is it still running?"
    )]
    Stalled { seconds: f64 },
    #[error("RDMA peer: {0}")]
    Peer(String),
}

impl RdmaError {
    /// Wraps a verbs error with what was being done.
    pub fn verbs(what: verbs::Verb, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        RdmaError::Verbs {
            what,
            source: Box::new(e),
        }
    }

    /// The device list could not be read: libibverbs missing (rdma-mummy-sys reports ENOSYS/EOPNOTSUPP)
    /// or present without any provider.
    pub fn no_library(e: &impl std::fmt::Display) -> Self {
        RdmaError::NoLibrary(e.to_string())
    }
}
