//! The verbs calls, and the only `unsafe` of the RDMA backend.
//!
//! Device, protection domain, completion queues, completion channel and RC queue pairs are `sideway`
//! objects (RAII, and `sideway` reaches libibverbs through `rdma-mummy-sys`, which dlopens it at run time,
//! so the binary starts on hosts without rdma-core). Each `sideway` object holds an `Arc` of its parent
//! (queue pair -> its completion queues and protection domain, completion queue -> channel and device
//! context, memory region -> protection domain), so a parent is destroyed after its last child whatever
//! order the handles are dropped in. The data path does not use `sideway`'s post and poll guards, which
//! allocate per call: it posts pre-built work-request chains with `ibv_post_send` / `ibv_post_recv` and
//! reaps into a pre-allocated completion array with `ibv_poll_cq`, on the same objects, as perftest does.
//!
//! What the raw calls rely on, and who guarantees it:
//! - `RegisteredBuffer` owns an anonymous mapping (optionally huge pages) and the memory region that
//!   registers it; its `Drop` deregisters, then the mapping unmaps. Nothing else holds the region.
//! - [`Qp`] owns its queue pair and its buffer; its `Drop` destroys the queue pair first, so the device
//!   processes no work request of it once the buffer is deregistered and unmapped. The buffer is only
//!   ever reached through raw pointers (the device writes it behind the compiler's back), never through
//!   a Rust reference.
//! - `WorkRequests` keeps every work request next to the scatter-gather entry it points at, in heap
//!   blocks that never move and that it alone owns: every `sg_list` and `next` pointer in them points
//!   into those blocks, from construction on, so none ever dangles.

#![allow(unsafe_code)]

use super::{QpEndpoint, RdmaError};
use crate::plan::RdmaOp;
use rdma_mummy_sys::{
    atomic_t, ibv_ack_cq_events, ibv_cq, ibv_get_cq_event, ibv_poll_cq, ibv_post_recv,
    ibv_post_send, ibv_qp, ibv_recv_wr, ibv_req_notify_cq, ibv_send_flags, ibv_send_wr, ibv_sge,
    ibv_wc, ibv_wc_flags, ibv_wc_status, ibv_wc_status_str, ibv_wr_opcode,
    imm_data_invalidated_rkey_union_t,
};
use sideway::ibverbs::address::{AddressHandleAttribute, Gid};
use sideway::ibverbs::completion::{BasicCompletionQueue, CompletionChannel, CompletionQueue};
use sideway::ibverbs::device::{DeviceInfo, DeviceList};
use sideway::ibverbs::device_context::{DeviceContext, LinkLayer, Mtu};
use sideway::ibverbs::memory_region::MemoryRegion;
use sideway::ibverbs::protection_domain::ProtectionDomain;
use sideway::ibverbs::queue_pair::{BasicQueuePair, QueuePair, QueuePairAttribute, QueuePairState};
use sideway::ibverbs::AccessFlags;
use std::ffi::CStr;
use std::fmt;
use std::mem::ManuallyDrop;
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

/// Immediate value of the zero-length send that says "this side is done" (network byte order on the wire).
const FIN_IMM: u32 = 0x4c42_4649; // "LBFI"
/// `wr_id` of the FIN send's completion (data completions carry the number of work requests they cover).
const FIN_WR_ID: u64 = u64::MAX;
/// Completions reaped per poll call.
const POLL_BATCH: usize = 64;
/// Receives kept posted on a queue pair that does not receive data (for the peer's FIN).
pub const CONTROL_RECEIVES: u32 = 4;

/// The verb (or the call around one) that failed, for [`RdmaError::Verbs`] and [`RdmaError::Post`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    OpenDevice,
    QueryPort,
    AllocPd,
    QueryGid,
    QueryDevice,
    MapBuffer,
    RegisterMr,
    CreateCompChannel,
    CreateCq,
    CreateQp,
    ModifyQpToInit,
    ModifyQpToRtr,
    ModifyQpToRts,
    PostSend,
    PostFin,
    PostRecv,
    PollCq,
    ReqNotifyCq,
}

impl Verb {
    /// What was being done, as the error message says it.
    pub fn doing(self) -> &'static str {
        match self {
            Verb::OpenDevice => "open device",
            Verb::QueryPort => "query port",
            Verb::AllocPd => "allocate protection domain",
            Verb::QueryGid => "query GID",
            Verb::QueryDevice => "query device",
            Verb::MapBuffer => "map the data buffer",
            Verb::RegisterMr => "register the data buffer",
            Verb::CreateCompChannel => "create a completion channel",
            Verb::CreateCq => "create a completion queue",
            Verb::CreateQp => "create a queue pair",
            Verb::ModifyQpToInit => "move the queue pair to INIT",
            Verb::ModifyQpToRtr => "move the queue pair to RTR",
            Verb::ModifyQpToRts => "move the queue pair to RTS",
            Verb::PostSend => "post a send work request",
            Verb::PostFin => "post the end-of-test message",
            Verb::PostRecv => "post a receive",
            Verb::PollCq => "poll the completion queue",
            Verb::ReqNotifyCq => "arm completion notification",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.doing())
    }
}

/// A data-path verb's return code as an error (`rc` is an errno value).
fn post_error(what: Verb, rc: i32) -> RdmaError {
    RdmaError::Post {
        what,
        source: std::io::Error::from_raw_os_error(rc),
    }
}

/// Names of the RDMA devices libibverbs sees.
pub fn device_names() -> Result<Vec<String>, RdmaError> {
    let list = DeviceList::new().map_err(|e| RdmaError::no_library(&e.0))?;
    Ok(list.iter().map(|d| d.name()).collect())
}

/// What the port said when it was opened.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub active_mtu: u32,
    pub lid: u16,
    pub infiniband: bool,
}

/// An opened device port with its protection domain.
pub struct Device {
    context: Arc<DeviceContext>,
    pd: Arc<ProtectionDomain>,
    pub port: u8,
    pub info: PortInfo,
}

fn mtu_bytes(mtu: Mtu) -> u32 {
    match mtu {
        Mtu::Mtu256 => 256,
        Mtu::Mtu512 => 512,
        Mtu::Mtu1024 => 1024,
        Mtu::Mtu2048 => 2048,
        Mtu::Mtu4096 => 4096,
    }
}

/// The verbs MTU enum for a byte count (256..4096, powers of two).
pub fn mtu_from_bytes(bytes: u32) -> Option<Mtu> {
    Some(match bytes {
        256 => Mtu::Mtu256,
        512 => Mtu::Mtu512,
        1024 => Mtu::Mtu1024,
        2048 => Mtu::Mtu2048,
        4096 => Mtu::Mtu4096,
        _ => return None,
    })
}

impl Device {
    /// Opens `name` and checks that `port` exists.
    pub fn open(name: &str, port: u8) -> Result<Device, RdmaError> {
        let list = DeviceList::new().map_err(|e| RdmaError::no_library(&e.0))?;
        let device = list
            .iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| RdmaError::NoSuchDevice(name.to_string()))?;
        let context = device
            .open()
            .map_err(|e| RdmaError::verbs(Verb::OpenDevice, e))?;
        let attr = context
            .query_port(port)
            .map_err(|e| RdmaError::verbs(Verb::QueryPort, e))?;
        let info = PortInfo {
            active_mtu: mtu_bytes(attr.active_mtu()),
            lid: attr.lid(),
            infiniband: attr.link_layer() == LinkLayer::InfiniBand,
        };
        let pd = context
            .alloc_pd()
            .map_err(|e| RdmaError::verbs(Verb::AllocPd, e))?;
        Ok(Device {
            context,
            pd,
            port,
            info,
        })
    }

    /// The GID at `index` of this port.
    pub fn gid(&self, index: u32) -> Result<Ipv6Addr, RdmaError> {
        let gid = self
            .context
            .query_gid(self.port, index)
            .map_err(|e| RdmaError::verbs(Verb::QueryGid, e))?;
        Ok(Ipv6Addr::from(gid.raw))
    }

    /// The device's limit on outstanding RDMA reads per queue pair (as initiator).
    pub fn max_outstanding_reads(&self) -> Result<u32, RdmaError> {
        let attr = self
            .context
            .query_device()
            .map_err(|e| RdmaError::verbs(Verb::QueryDevice, e))?;
        Ok(attr.max_qp_init_rd_atom().max(0) as u32)
    }

    /// A completion queue of `cqe` entries whose events go to `channel`.
    fn completion_queue(
        &self,
        channel: &Arc<CompletionChannel>,
        cqe: u32,
    ) -> Result<Arc<BasicCompletionQueue>, RdmaError> {
        let mut builder = self.context.create_cq_builder();
        builder.setup_cqe(cqe).setup_comp_channel(channel, 0);
        builder
            .build()
            .map_err(|e| RdmaError::verbs(Verb::CreateCq, e))
    }

    /// An RC queue pair sized for `config`, on the two completion queues, moved to INIT with `access`.
    fn queue_pair(
        &self,
        config: &QpConfig,
        send_cq: &Arc<BasicCompletionQueue>,
        recv_cq: &Arc<BasicCompletionQueue>,
        access: AccessFlags,
    ) -> Result<BasicQueuePair, RdmaError> {
        let mut builder = self.pd.create_qp_builder();
        builder
            .setup_max_send_wr(config.send_depth + 1)
            .setup_max_recv_wr(config.recv_depth)
            .setup_max_send_sge(1)
            .setup_max_recv_sge(1)
            .setup_max_inline_data(config.max_inline)
            .setup_send_cq(Arc::clone(send_cq))
            .setup_recv_cq(Arc::clone(recv_cq));
        let mut qp = builder
            .build()
            .map_err(|e| RdmaError::verbs(Verb::CreateQp, e))?;
        let mut attr = QueuePairAttribute::new();
        attr.setup_state(QueuePairState::Init)
            .setup_pkey_index(0)
            .setup_port(self.port)
            .setup_access_flags(access);
        qp.modify(&attr)
            .map_err(|e| RdmaError::verbs(Verb::ModifyQpToInit, e))?;
        Ok(qp)
    }
}

/// An anonymous private mapping, page- or huge-page-aligned, zero-filled; unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is process memory, not tied to the thread that made it, and `Mapping` hands out
// no references into it (only its address), so moving the owner to another thread is sound.
unsafe impl Send for Mapping {}

impl Mapping {
    /// At least `len` bytes, rounded up to whole 4 KiB pages (2 MiB with `hugepages`).
    fn new(len: usize, hugepages: bool) -> Result<Mapping, RdmaError> {
        let len = len.div_ceil(page_size(hugepages)) * page_size(hugepages);
        let flags =
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | if hugepages { libc::MAP_HUGETLB } else { 0 };
        // SAFETY: a new anonymous private mapping with no address hint and no MAP_FIXED: it cannot
        // replace or alias any memory this process uses. The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        let failed = || {
            let e = std::io::Error::last_os_error();
            if hugepages {
                RdmaError::HugePages(e)
            } else {
                RdmaError::verbs(Verb::MapBuffer, e)
            }
        };
        if ptr == libc::MAP_FAILED {
            return Err(failed());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(failed)?;
        Ok(Mapping { ptr, len })
    }
}

/// The granule a buffer is mapped in.
fn page_size(hugepages: bool) -> usize {
    if hugepages {
        2 * 1024 * 1024
    } else {
        4096
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr and len are exactly what mmap returned, this is their only owner, and it unmaps
        // once. No memory region covers the range any more (a `RegisteredBuffer` deregisters before its
        // mapping drops; a mapping whose registration failed was never registered), and no Rust
        // reference into it exists (it is only read and written through raw pointers).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A mapping registered with the device: owns both, and deregisters before it unmaps.
struct RegisteredBuffer {
    /// Owned alone (never an `Arc` that others could clone), dropped by hand in `Drop`.
    mr: ManuallyDrop<MemoryRegion>,
    /// Unmapped when the fields drop, after `Drop::drop` has deregistered `mr`.
    mapping: Mapping,
}

impl RegisteredBuffer {
    /// Maps `len` bytes (rounded up to pages) and registers them in `pd` with `access`.
    fn new(
        pd: &Arc<ProtectionDomain>,
        len: usize,
        hugepages: bool,
        access: AccessFlags,
    ) -> Result<RegisteredBuffer, RdmaError> {
        let mapping = Mapping::new(len, hugepages)?;
        // SAFETY: `reg_mr` needs the range to stay valid and mapped while it is registered. The mapping
        // is valid for mapping.len bytes, and the memory region goes into the same `RegisteredBuffer`,
        // whose `Drop` deregisters before the mapping unmaps; on an error here the mapping was never
        // registered.
        let mr = unsafe { pd.reg_mr(mapping.ptr.as_ptr() as usize, mapping.len, access) }
            .map_err(|e| RdmaError::verbs(Verb::RegisterMr, e))?;
        // `sideway` returns a fresh `Arc` with no other owner; unwrapping it makes the deregistration
        // in `Drop` certain (a clone elsewhere would keep the registration past the unmap).
        let mr = Arc::into_inner(mr).expect("a memory region just registered has one owner");
        Ok(RegisteredBuffer {
            mr: ManuallyDrop::new(mr),
            mapping,
        })
    }

    /// The first byte, for raw access (the device reads and writes the buffer too).
    fn ptr(&self) -> *mut u8 {
        self.mapping.ptr.as_ptr()
    }

    /// The buffer's address as the device and the peer see it.
    fn addr(&self) -> u64 {
        self.mapping.ptr.as_ptr() as u64
    }

    /// Registered length in bytes (whole pages).
    fn len(&self) -> usize {
        self.mapping.len
    }

    fn lkey(&self) -> u32 {
        self.mr.lkey()
    }

    fn rkey(&self) -> u32 {
        self.mr.rkey()
    }
}

impl Drop for RegisteredBuffer {
    fn drop(&mut self) {
        // SAFETY: `mr` is dropped here once and never touched again (this is the owner's last use).
        // Deregistering first means the device gives up the pages before `mapping` unmaps them, which
        // happens right after this body returns, when the fields drop.
        unsafe { ManuallyDrop::drop(&mut self.mr) }
    }
}

/// A value on the heap owned through a raw pointer, for storage that points into itself: the block
/// never moves, and pointers derived from [`HeapBlock::ptr`] stay valid for the block's whole life
/// (a `Box` would be asserted unique each time it moves, which such pointers may not survive).
struct HeapBlock<T: ?Sized>(NonNull<T>);

impl<T: ?Sized> HeapBlock<T> {
    fn new(value: Box<T>) -> HeapBlock<T> {
        HeapBlock(NonNull::from(Box::leak(value)))
    }

    /// The block's address, which every pointer stored inside it is derived from.
    fn ptr(&self) -> *mut T {
        self.0.as_ptr()
    }

    fn get_mut(&mut self) -> &mut T {
        // SAFETY: the pointer came from `Box::leak`, so it is valid and aligned until `Drop`, and
        // `&mut self` makes this the only reference for its lifetime. The pointers stored in the
        // block are dereferenced only inside a post call, which never overlaps this borrow.
        unsafe { self.0.as_mut() }
    }
}

impl<T: ?Sized> Drop for HeapBlock<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` and is given back to a `Box` once, here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// One send work request and the scatter-gather entry its `sg_list` points at.
#[repr(C)]
struct SendSlot {
    wr: ibv_send_wr,
    sge: ibv_sge,
}

/// The receive work request and the scatter-gather entry its `sg_list` points at.
#[repr(C)]
struct RecvSlot {
    wr: ibv_recv_wr,
    sge: ibv_sge,
}

fn zeroed_send_wr() -> ibv_send_wr {
    // SAFETY: ibv_send_wr is a plain C struct of integers (the opcode is a u32 alias), raw pointers
    // and unions of those; all-zero bits are a valid value of each (0, null).
    unsafe { std::mem::zeroed() }
}

/// A queue pair's pre-built work requests: a chain of up to `post_list` sends, one receive (reposted
/// as often as one completes) and the FIN. Each request sits in the same heap block as its
/// scatter-gather entry, linked once here; `next` pointers only ever point at other sends of the
/// same block, or are null. The verbs library reads them only during a post call.
struct WorkRequests {
    send: HeapBlock<[SendSlot]>,
    recv: HeapBlock<RecvSlot>,
    fin: HeapBlock<ibv_send_wr>,
}

// SAFETY: every raw pointer inside points into this struct's own heap blocks, which move with it and
// which nothing else refers to; so the whole can change threads. (It is not Sync, and needs not be.)
unsafe impl Send for WorkRequests {}

impl WorkRequests {
    /// `post_list` (at least one) sends gathering from `source`, a receive landing in `target`, and
    /// the FIN (a zero-length signaled send with immediate).
    fn new(post_list: usize, source: ibv_sge, target: ibv_sge) -> WorkRequests {
        let slots = (0..post_list.max(1)).map(|_| SendSlot {
            wr: zeroed_send_wr(),
            sge: source,
        });
        let send = HeapBlock::new(slots.collect::<Box<[_]>>());
        let first = send.ptr().cast::<SendSlot>();
        for i in 0..send.ptr().len() {
            // SAFETY: i is below the block's length, so the slot is in bounds of a live allocation;
            // the entry's address is derived from the block's own pointer.
            unsafe {
                let slot = first.add(i);
                (*slot).wr.sg_list = &raw mut (*slot).sge;
                (*slot).wr.num_sge = 1;
            }
        }
        let recv = HeapBlock::new(Box::new(RecvSlot {
            wr: ibv_recv_wr {
                wr_id: 0,
                next: ptr::null_mut(),
                sg_list: ptr::null_mut(),
                num_sge: 1,
            },
            sge: target,
        }));
        let r = recv.ptr();
        // SAFETY: r points at the live receive block; its entry is in the same block.
        unsafe { (*r).wr.sg_list = &raw mut (*r).sge };
        let mut fin = zeroed_send_wr();
        fin.wr_id = FIN_WR_ID;
        fin.opcode = ibv_wr_opcode::IBV_WR_SEND_WITH_IMM;
        fin.send_flags = ibv_send_flags::IBV_SEND_SIGNALED.0;
        fin.imm_data_invalidated_rkey_union = imm_data_invalidated_rkey_union_t {
            imm_data: FIN_IMM.to_be(),
        };
        WorkRequests {
            send,
            recv,
            fin: HeapBlock::new(Box::new(fin)),
        }
    }

    /// Sends chained per post call, at most.
    fn post_list(&self) -> usize {
        self.send.ptr().len()
    }

    /// Makes every send the connected op: `opcode` gathering from `local` (into it, for reads and
    /// atomics), at `remote` with `rkey` on the peer's side.
    fn prepare(&mut self, op: RdmaOp, local: u64, remote: u64, rkey: u32, inline: bool) {
        let opcode = match op {
            RdmaOp::Write => ibv_wr_opcode::IBV_WR_RDMA_WRITE,
            RdmaOp::Read => ibv_wr_opcode::IBV_WR_RDMA_READ,
            RdmaOp::Send => ibv_wr_opcode::IBV_WR_SEND,
            RdmaOp::Atomic => ibv_wr_opcode::IBV_WR_ATOMIC_FETCH_AND_ADD,
        };
        for slot in self.send.get_mut() {
            slot.sge.addr = local;
            let wr = &mut slot.wr;
            wr.opcode = opcode;
            wr.send_flags = if inline {
                ibv_send_flags::IBV_SEND_INLINE.0
            } else {
                0
            };
            if op == RdmaOp::Atomic {
                wr.wr.atomic = atomic_t {
                    remote_addr: remote,
                    compare_add: 1,
                    swap: 0,
                    rkey,
                };
            } else {
                wr.wr.rdma.remote_addr = remote;
                wr.wr.rdma.rkey = rkey;
            }
        }
    }

    /// Chains the first `count` sends (1..=post list) and returns the head: each `next` points at the
    /// following send, the last one's is null; only the last is signaled, when `signal`, and then
    /// carries `covers` as its `wr_id`.
    #[inline]
    fn chain(&mut self, count: usize, signal: bool, covers: u64) -> *mut ibv_send_wr {
        let count = count.clamp(1, self.post_list());
        let first = self.send.ptr().cast::<SendSlot>();
        let signaled = ibv_send_flags::IBV_SEND_SIGNALED.0;
        for i in 0..count {
            let last = i + 1 == count;
            // SAFETY: i < count <= the block's length, and i + 1 only when it is < count too: both
            // slots are in bounds of the live block, and the `next` pointer is derived from the
            // block's own pointer.
            unsafe {
                let wr = &raw mut (*first.add(i)).wr;
                (*wr).next = if last {
                    ptr::null_mut()
                } else {
                    &raw mut (*first.add(i + 1)).wr
                };
                if last && signal {
                    (*wr).send_flags |= signaled;
                    (*wr).wr_id = covers;
                } else {
                    (*wr).send_flags &= !signaled;
                    (*wr).wr_id = 0;
                }
            }
        }
        first.cast::<ibv_send_wr>()
    }

    /// The receive request (its entry linked).
    fn receive(&self) -> *mut ibv_recv_wr {
        self.recv.ptr().cast::<ibv_recv_wr>()
    }

    /// The FIN request (no entries, not chained).
    fn fin(&self) -> *mut ibv_send_wr {
        self.fin.ptr()
    }
}

/// How a queue pair is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QpConfig {
    pub message_size: usize,
    /// Send queue size (work requests in flight, plus headroom).
    pub send_depth: u32,
    /// Receives kept posted.
    pub recv_depth: u32,
    /// Largest inline send the queue pair must accept (0: none).
    pub max_inline: u32,
    /// Work requests per post call, at most.
    pub post_list: u32,
    pub hugepages: bool,
    pub use_event: bool,
    /// The peer will run atomics on this queue pair's buffer.
    pub atomic: bool,
}

/// What one poll of the send queue's completions found.
#[derive(Debug, Default, Clone, Copy)]
pub struct SendPoll {
    /// Data work requests completed (each signaled completion covers several with selective signaling).
    pub completed: u64,
    /// Our FIN send completed.
    pub fin_sent: bool,
}

/// What one poll of the receive queue's completions found.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecvPoll {
    pub messages: u64,
    pub bytes: u64,
    /// The peer's FIN arrived.
    pub fin: bool,
}

/// One RC queue pair with its completion queues, registered buffer and pre-built work requests.
///
/// The buffer holds a source area (what this side sends or writes, and where reads land) and a target
/// area (where the peer writes and where receives land), each `message_size` bytes. `Qp` owns the
/// buffer and destroys the queue pair before it in `Drop`, so the buffer outlives every work request
/// that can reach it; the peer's reads and writes through the rkey fail once it is deregistered.
pub struct Qp {
    /// Dropped by hand in `Drop`, before anything else.
    qp: ManuallyDrop<BasicQueuePair>,
    send_cq: Arc<BasicCompletionQueue>,
    recv_cq: Arc<BasicCompletionQueue>,
    /// Every queue pair has one: `--use-event` sleeps on it, and a side with nothing to do but wait for
    /// the peer's FIN blocks on it instead of spinning or waking up periodically.
    channel: Arc<CompletionChannel>,
    buffer: RegisteredBuffer,
    wrs: WorkRequests,
    wcs: Vec<ibv_wc>,
    size: usize,
    target_offset: usize,
    psn: u32,
}

impl Drop for Qp {
    fn drop(&mut self) {
        // SAFETY: `qp` is dropped here once and never touched again. Destroying the queue pair first
        // means the device runs none of its work requests any more when `buffer` is deregistered and
        // unmapped, as the fields drop after this body. (The completion queues and the channel outlive
        // it anyway: it holds `Arc`s of them.)
        unsafe { ManuallyDrop::drop(&mut self.qp) }
    }
}

/// The buffer's access rights: remote atomics only when asked for (a device without atomic support may
/// refuse the flag).
fn access_flags(atomic: bool) -> AccessFlags {
    let mut access = AccessFlags::LocalWrite | AccessFlags::RemoteWrite | AccessFlags::RemoteRead;
    if atomic {
        access |= AccessFlags::RemoteAtomic;
    }
    access
}

/// Where the target area starts in a buffer of `size`-byte messages (64-byte aligned, after the source).
fn target_offset(size: usize) -> usize {
    size.div_ceil(64) * 64
}

impl Qp {
    /// Creates the queue pair, moves it to INIT and posts its receives.
    pub fn create(device: &Device, config: &QpConfig) -> Result<Qp, RdmaError> {
        let size = config.message_size.max(1);
        let target_offset = target_offset(size);
        let access = access_flags(config.atomic);
        let buffer =
            RegisteredBuffer::new(&device.pd, target_offset + size, config.hugepages, access)?;
        let channel = device
            .context
            .create_comp_channel()
            .map_err(|e| RdmaError::verbs(Verb::CreateCompChannel, e))?;
        let send_cq = device.completion_queue(&channel, config.send_depth + 2)?;
        let recv_cq = device.completion_queue(&channel, config.recv_depth + 2)?;
        let qp = device.queue_pair(config, &send_cq, &recv_cq, access)?;
        let entry = |offset: usize| ibv_sge {
            addr: buffer.addr() + offset as u64,
            length: size as u32,
            lkey: buffer.lkey(),
        };
        let wrs = WorkRequests::new(
            config.post_list.max(1) as usize,
            entry(0),
            entry(target_offset),
        );
        let mut this = Qp {
            qp: ManuallyDrop::new(qp),
            send_cq,
            recv_cq,
            channel,
            buffer,
            wrs,
            size,
            target_offset,
            psn: rand::random::<u32>() & 0x00ff_ffff,
            // SAFETY: ibv_wc is a plain C struct of integers (status and opcode are u32 aliases) and a
            // union of two u32s; all-zero bits are valid, and ibv_poll_cq overwrites what it returns.
            wcs: vec![unsafe { std::mem::zeroed::<ibv_wc>() }; POLL_BATCH],
        };
        for _ in 0..config.recv_depth {
            this.post_receive()?;
        }
        if config.use_event {
            this.arm()?;
        }
        Ok(this)
    }

    /// What the peer needs to reach this queue pair and its buffer.
    pub fn endpoint(&self, device: &Device, gid: Ipv6Addr) -> QpEndpoint {
        QpEndpoint {
            qpn: self.qp.qp_number(),
            psn: self.psn,
            lid: device.info.lid,
            gid: gid.to_string(),
            rkey: self.buffer.rkey(),
            addr: self.buffer.addr(),
            len: self.buffer.len() as u64,
        }
    }

    /// The raw queue pair for a verb called while `self` is borrowed.
    #[inline]
    fn raw_qp(&self) -> *mut ibv_qp {
        // SAFETY: only the handle is copied out; the queue pair lives until `Drop`, so it is valid for
        // every verb a method of `self` passes it to.
        unsafe { self.qp.qp().as_ptr() }
    }

    /// Moves the queue pair to RTR and RTS towards `remote` and prepares the work requests for `op`.
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        &mut self,
        device: &Device,
        remote: &QpEndpoint,
        gid_index: Option<u32>,
        mtu: u32,
        outstanding_reads: u32,
        op: RdmaOp,
        inline_size: u32,
    ) -> Result<(), RdmaError> {
        let remote_gid: Ipv6Addr = remote
            .gid
            .parse()
            .map_err(|_| RdmaError::Peer(format!("peer GID {:?} is not valid", remote.gid)))?;
        let path_mtu = mtu_from_bytes(mtu).ok_or(RdmaError::BadMtu(mtu))?;
        let reads = outstanding_reads.clamp(1, 255) as u8;
        let mut attr = QueuePairAttribute::new();
        attr.setup_state(QueuePairState::ReadyToReceive)
            .setup_path_mtu(path_mtu)
            .setup_dest_qp_num(remote.qpn)
            .setup_rq_psn(remote.psn)
            .setup_max_dest_read_atomic(reads)
            .setup_min_rnr_timer(12);
        let mut ah = AddressHandleAttribute::new();
        ah.setup_dest_lid(remote.lid)
            .setup_port(device.port)
            .setup_service_level(0);
        if let Some(index) = gid_index {
            ah.setup_grh_src_gid_index(index as u8)
                .setup_grh_dest_gid(&Gid::from(remote_gid))
                .setup_grh_hop_limit(64);
        }
        attr.setup_address_vector(&ah);
        self.qp
            .modify(&attr)
            .map_err(|e| RdmaError::verbs(Verb::ModifyQpToRtr, e))?;
        let mut attr = QueuePairAttribute::new();
        attr.setup_state(QueuePairState::ReadyToSend)
            .setup_sq_psn(self.psn)
            .setup_timeout(14)
            .setup_retry_cnt(7)
            .setup_rnr_retry(7)
            .setup_max_read_atomic(reads);
        self.qp
            .modify(&attr)
            .map_err(|e| RdmaError::verbs(Verb::ModifyQpToRts, e))?;

        let (remote_offset, local_offset) = match op {
            // Writes land in the peer's target area; reads pull the peer's source area into ours.
            RdmaOp::Write => (self.target_offset, 0),
            RdmaOp::Read => (0, self.target_offset),
            RdmaOp::Send => (0, 0),
            // Fetch-and-add on the first (8-byte aligned) word of the peer's target area; the old
            // value lands in our source area.
            RdmaOp::Atomic => (self.target_offset, 0),
        };
        let inline = !op.returns_data() && (self.size as u32) <= inline_size;
        self.wrs.prepare(
            op,
            self.buffer.addr() + local_offset as u64,
            remote.addr + remote_offset as u64,
            remote.rkey,
            inline,
        );
        Ok(())
    }

    /// Posts `count` (at most the post list) chained work requests of the connected op; the last is
    /// signaled when `signal` is set and its completion then stands for `covers` work requests.
    #[inline]
    pub fn post(&mut self, count: usize, signal: bool, covers: u64) -> Result<(), RdmaError> {
        let chain = self.wrs.chain(count, signal, covers);
        let mut bad: *mut ibv_send_wr = ptr::null_mut();
        // SAFETY: the queue pair is live (see `raw_qp`). `chain` heads a well-formed, null-terminated
        // chain in `self.wrs`, each request's entry covering `size` bytes of the registered buffer
        // (8 for atomics) under its lkey; the buffer outlives the queue pair (`Drop`), so the device's
        // asynchronous access to it stays in bounds. The library reads the requests only during the
        // call. The remote address and rkey are the peer's: a wrong one fails the completion, it
        // cannot touch this process's memory.
        let rc = unsafe { ibv_post_send(self.raw_qp(), chain, &mut bad) };
        if rc != 0 {
            return Err(post_error(Verb::PostSend, rc));
        }
        Ok(())
    }

    /// Sends the zero-length FIN that tells the peer this side is done.
    pub fn post_fin(&mut self) -> Result<(), RdmaError> {
        let mut bad: *mut ibv_send_wr = ptr::null_mut();
        // SAFETY: the queue pair is live; the FIN is one unchained request with no entries (no memory
        // is read for it), in `self.wrs` for the call.
        let rc = unsafe { ibv_post_send(self.raw_qp(), self.wrs.fin(), &mut bad) };
        if rc != 0 {
            return Err(post_error(Verb::PostFin, rc));
        }
        Ok(())
    }

    fn post_receive(&mut self) -> Result<(), RdmaError> {
        let mut bad: *mut ibv_recv_wr = ptr::null_mut();
        // SAFETY: the queue pair is live; the receive is one unchained request whose entry covers the
        // target area of the registered buffer, which outlives the queue pair (`Drop`), so the data
        // the device writes there later stays in bounds.
        let rc = unsafe { ibv_post_recv(self.raw_qp(), self.wrs.receive(), &mut bad) };
        if rc != 0 {
            return Err(post_error(Verb::PostRecv, rc));
        }
        Ok(())
    }

    fn poll_into(&mut self, recv: bool) -> Result<usize, RdmaError> {
        let cq = if recv { &self.recv_cq } else { &self.send_cq };
        // SAFETY: only the handle is copied out; `self` holds the CQ's `Arc` across the call below.
        let cq: *mut ibv_cq = unsafe { cq.cq().as_ptr() };
        // SAFETY: the CQ is live, and `wcs` has room for the POLL_BATCH completions it may write.
        let n = unsafe { ibv_poll_cq(cq, POLL_BATCH as i32, self.wcs.as_mut_ptr()) };
        if n < 0 {
            return Err(post_error(Verb::PollCq, -n));
        }
        let n = n as usize;
        for wc in &self.wcs[..n] {
            if wc.status != ibv_wc_status::IBV_WC_SUCCESS {
                // SAFETY: ibv_wc_status_str returns a static NUL-terminated string for any value
                // ("unknown" for one it does not know).
                let text = unsafe { CStr::from_ptr(ibv_wc_status_str(wc.status)) }
                    .to_string_lossy()
                    .into_owned();
                return Err(RdmaError::Completion {
                    status: text,
                    vendor_err: wc.vendor_err,
                    receive: recv,
                });
            }
        }
        Ok(n)
    }

    /// Reaps send completions.
    #[inline]
    pub fn poll_send(&mut self) -> Result<SendPoll, RdmaError> {
        let n = self.poll_into(false)?;
        let mut out = SendPoll::default();
        for wc in &self.wcs[..n] {
            if wc.wr_id == FIN_WR_ID {
                out.fin_sent = true;
            } else {
                out.completed += wc.wr_id;
            }
        }
        Ok(out)
    }

    /// Reaps receive completions and posts a fresh receive for each.
    #[inline]
    pub fn poll_recv(&mut self) -> Result<RecvPoll, RdmaError> {
        let n = self.poll_into(true)?;
        let mut out = RecvPoll::default();
        for i in 0..n {
            let wc = self.wcs[i];
            // SAFETY: both members of the union are u32s, so either reads any bits as a valid value.
            let imm = unsafe { wc.imm_data_invalidated_rkey_union.imm_data };
            if wc.wc_flags & ibv_wc_flags::IBV_WC_WITH_IMM.0 != 0 && u32::from_be(imm) == FIN_IMM {
                out.fin = true;
            } else {
                out.messages += 1;
                out.bytes += wc.byte_len as u64;
            }
            self.post_receive()?;
        }
        Ok(out)
    }

    /// Asks for an event on the next completion of either queue (what [`Qp::wait_event`] sleeps on).
    /// A caller that arms before it posts and polls after every wake-up misses no completion.
    pub fn arm(&self) -> Result<(), RdmaError> {
        for cq in [&self.send_cq, &self.recv_cq] {
            // SAFETY: the CQ is live (`self` holds its `Arc`); solicited_only = 0 asks for the next
            // completion of any kind.
            let rc = unsafe { ibv_req_notify_cq(cq.cq().as_ptr(), 0) };
            if rc != 0 {
                return Err(post_error(Verb::ReqNotifyCq, rc));
            }
        }
        Ok(())
    }

    /// Arms the completion queues and sleeps until a completion event or `timeout`. For a side that only
    /// waits (the FIN): a completion that lands between the caller's last poll and the arming raises no
    /// event, so the wait is bounded by `timeout` and the caller polls again.
    pub fn wait_idle(&mut self, timeout: Duration) -> Result<(), RdmaError> {
        self.arm()?;
        self.wait_event(timeout)
    }

    /// With `--use-event` (armed at creation and after every event): sleeps until a completion event
    /// arrives or `timeout` passes, then re-arms. Callers poll again after it returns.
    pub fn wait_event(&mut self, timeout: Duration) -> Result<(), RdmaError> {
        let mut pfd = libc::pollfd {
            fd: self.channel.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid, exclusively borrowed pollfd, and nfds = 1.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready > 0 {
            let mut cq: *mut ibv_cq = ptr::null_mut();
            let mut context: *mut libc::c_void = ptr::null_mut();
            // SAFETY: the channel is live and readable (poll said so, and only this thread reads it),
            // so this does not block; both out-pointers are valid locals.
            let rc = unsafe {
                ibv_get_cq_event(self.channel.comp_channel().as_ptr(), &mut cq, &mut context)
            };
            if rc == 0 {
                // SAFETY: cq is the CQ the event was for, one of this queue pair's (only they use the
                // channel), alive because `self` holds it; one event to acknowledge.
                unsafe { ibv_ack_cq_events(cq, 1) };
            }
        }
        self.arm()
    }

    /// The last byte of the source area (write latency stamps the iteration there).
    #[inline]
    pub fn set_source_last(&mut self, value: u8) {
        // SAFETY: size - 1 < target_offset + size <= the buffer's length, so the byte is in the live
        // mapping; a volatile write because the device reads it behind the compiler's back.
        unsafe { ptr::write_volatile(self.buffer.ptr().add(self.size - 1), value) }
    }

    /// The last byte of the target area, read fresh from memory (the peer's RDMA write changes it).
    #[inline]
    pub fn target_last(&self) -> u8 {
        // SAFETY: target_offset + size - 1 < the buffer's length, so the byte is in the live mapping;
        // a volatile read because the device writes it behind the compiler's back.
        unsafe { ptr::read_volatile(self.buffer.ptr().add(self.target_offset + self.size - 1)) }
    }

    pub fn message_size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(addr: u64) -> ibv_sge {
        ibv_sge {
            addr,
            length: 100,
            lkey: 0x1234,
        }
    }

    /// The send slots of `wrs`, read through the block's own pointer as the library would.
    fn slots(wrs: &WorkRequests) -> &[SendSlot] {
        // SAFETY: the block is live while `wrs` is borrowed, and nothing writes it meanwhile.
        unsafe { &*wrs.send.ptr() }
    }

    fn slot_addr(wrs: &WorkRequests, i: usize) -> *mut SendSlot {
        // SAFETY: callers pass i below the live block's length; only the address is computed.
        unsafe { wrs.send.ptr().cast::<SendSlot>().add(i) }
    }

    #[test]
    fn every_request_points_at_its_own_entry_even_after_a_move() {
        let wrs = WorkRequests::new(3, entry(0x1000), entry(0x2000));
        // Moved twice (into a box, out of it), as a Qp moves to its data thread.
        let wrs = *Box::new(wrs);
        for (i, slot) in slots(&wrs).iter().enumerate() {
            let own = slot_addr(&wrs, i);
            // SAFETY: own is in bounds of the live block; only the field's address is taken.
            assert_eq!(slot.wr.sg_list, unsafe { &raw mut (*own).sge });
            assert_eq!(slot.wr.num_sge, 1);
            assert_eq!(slot.sge.addr, 0x1000);
        }
        let r = wrs.recv.ptr();
        // SAFETY: r points at the live receive block; its fields are plain data.
        unsafe {
            assert_eq!((*r).wr.sg_list, &raw mut (*r).sge);
            assert_eq!(((*r).wr.num_sge, (*r).sge.addr), (1, 0x2000));
            assert!((*r).wr.next.is_null());
        }
        assert_eq!(wrs.receive().cast::<RecvSlot>(), r);
        // SAFETY: the FIN block is live; its fields are plain data and a union of two u32s.
        let fin = unsafe { &*wrs.fin() };
        assert_eq!((fin.num_sge, fin.wr_id), (0, FIN_WR_ID));
        assert!(fin.sg_list.is_null() && fin.next.is_null());
        assert_eq!(fin.opcode, ibv_wr_opcode::IBV_WR_SEND_WITH_IMM);
        // SAFETY: both members of the union are u32s.
        let imm = unsafe { fin.imm_data_invalidated_rkey_union.imm_data };
        assert_eq!(u32::from_be(imm), FIN_IMM);
        assert_eq!(WorkRequests::new(0, entry(0), entry(0)).post_list(), 1);
    }

    #[test]
    fn a_chain_links_count_requests_and_signals_only_the_last() {
        let mut wrs = WorkRequests::new(4, entry(0x1000), entry(0x2000));
        let signaled = ibv_send_flags::IBV_SEND_SIGNALED.0;
        let head = wrs.chain(3, true, 7);
        assert_eq!(head, slot_addr(&wrs, 0).cast::<ibv_send_wr>());
        let s = slots(&wrs);
        for (i, slot) in s.iter().enumerate().take(2) {
            assert_eq!(slot.wr.next, slot_addr(&wrs, i + 1).cast::<ibv_send_wr>());
            assert_eq!((slot.wr.send_flags & signaled, slot.wr.wr_id), (0, 0));
        }
        assert!(s[2].wr.next.is_null());
        assert_eq!(
            (s[2].wr.send_flags & signaled, s[2].wr.wr_id),
            (signaled, 7)
        );

        // An unsignaled chain clears the flag a previous post set; counts are clamped to 1..=4.
        wrs.chain(3, false, 0);
        assert!(slots(&wrs).iter().all(|s| s.wr.send_flags & signaled == 0));
        wrs.chain(0, true, 1);
        assert!(slots(&wrs)[0].wr.next.is_null());
        wrs.chain(9, true, 4);
        let s = slots(&wrs);
        assert!(s[3].wr.next.is_null() && !s[2].wr.next.is_null());
        assert_eq!(s[3].wr.wr_id, 4);
    }

    #[test]
    fn prepare_sets_the_op_the_addresses_and_inline() {
        let mut wrs = WorkRequests::new(2, entry(0x1000), entry(0x2000));
        wrs.prepare(RdmaOp::Write, 0x1000, 0x9040, 0x55, true);
        for s in slots(&wrs) {
            assert_eq!(s.wr.opcode, ibv_wr_opcode::IBV_WR_RDMA_WRITE);
            assert_eq!(s.wr.send_flags, ibv_send_flags::IBV_SEND_INLINE.0);
            // SAFETY: the rdma member was the one written; it is plain integers.
            let rdma = unsafe { s.wr.wr.rdma };
            assert_eq!((rdma.remote_addr, rdma.rkey), (0x9040, 0x55));
        }
        wrs.prepare(RdmaOp::Atomic, 0x1000, 0x9040, 0x55, false);
        for s in slots(&wrs) {
            assert_eq!(s.wr.opcode, ibv_wr_opcode::IBV_WR_ATOMIC_FETCH_AND_ADD);
            assert_eq!(s.wr.send_flags, 0);
            // SAFETY: the atomic member was the one written; it is plain integers.
            let atomic = unsafe { s.wr.wr.atomic };
            assert_eq!(
                (atomic.remote_addr, atomic.compare_add, atomic.rkey),
                (0x9040, 1, 0x55)
            );
        }
        wrs.prepare(RdmaOp::Read, 0x1040, 0x9000, 0x55, false);
        let s = slots(&wrs);
        assert_eq!(s[1].sge.addr, 0x1040, "reads land in the target area");
        assert_eq!(s[1].wr.sg_list, {
            let own = slot_addr(&wrs, 1);
            // SAFETY: own is in bounds of the live block; only the field's address is taken.
            unsafe { &raw mut (*own).sge }
        });
    }

    #[test]
    fn buffers_are_whole_zeroed_pages() {
        let m = Mapping::new(1, false).unwrap();
        assert_eq!(m.len, 4096);
        // SAFETY: the mapping is live and 4096 bytes long; nothing else refers to it.
        let bytes = unsafe { std::slice::from_raw_parts(m.ptr.as_ptr(), m.len) };
        assert!(bytes.iter().all(|&b| b == 0));
        assert_eq!(Mapping::new(4097, false).unwrap().len, 8192);
        assert_eq!(page_size(true), 2 * 1024 * 1024);
    }

    #[test]
    fn areas_and_access() {
        assert_eq!(target_offset(1), 64);
        assert_eq!(target_offset(64), 64);
        assert_eq!(target_offset(65536), 65536);
        assert_eq!(target_offset(65537), 65600);
        assert!(!access_flags(false).contains(AccessFlags::RemoteAtomic));
        assert!(access_flags(true).contains(AccessFlags::RemoteAtomic | AccessFlags::RemoteWrite));
    }

    #[test]
    fn mtus_and_error_messages() {
        for bytes in [256, 512, 1024, 2048, 4096] {
            assert_eq!(mtu_bytes(mtu_from_bytes(bytes).unwrap()), bytes);
        }
        assert!(mtu_from_bytes(1500).is_none() && mtu_from_bytes(0).is_none());
        let e = RdmaError::verbs(Verb::RegisterMr, std::io::Error::from_raw_os_error(12));
        assert!(
            e.to_string()
                .starts_with("RDMA register the data buffer failed: "),
            "{e}"
        );
        let e = post_error(Verb::PostRecv, 12);
        assert!(
            e.to_string().starts_with("could not post a receive: "),
            "{e}"
        );
        assert_eq!(
            Verb::ModifyQpToRts.to_string(),
            "move the queue pair to RTS"
        );
    }
}
