//! The verbs calls, and the only `unsafe` of the RDMA backend.
//!
//! Device, protection domain, completion queues, completion channel and RC queue pairs are `sideway`
//! objects (RAII, and `sideway` reaches libibverbs through `rdma-mummy-sys`, which dlopens it at run time,
//! so the binary starts on hosts without rdma-core). The data path does not use `sideway`'s post and poll
//! guards, which allocate per call: it posts pre-built work-request chains with `ibv_post_send` /
//! `ibv_post_recv` and reaps into a pre-allocated completion array with `ibv_poll_cq`, on the same
//! objects, as perftest does. Buffers are anonymous mmaps (optionally huge pages), registered once.

use super::{QpEndpoint, RdmaError};
use crate::plan::RdmaOp;
use rdma_mummy_sys::{
    atomic_t, ibv_ack_cq_events, ibv_cq, ibv_get_cq_event, ibv_poll_cq, ibv_post_recv,
    ibv_post_send, ibv_recv_wr, ibv_req_notify_cq, ibv_send_flags, ibv_send_wr, ibv_sge, ibv_wc,
    ibv_wc_flags, ibv_wc_status, ibv_wc_status_str, ibv_wr_opcode,
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
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
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
            .map_err(|e| RdmaError::verbs("open device", e))?;
        let attr = context
            .query_port(port)
            .map_err(|e| RdmaError::verbs("query port", e))?;
        let info = PortInfo {
            active_mtu: mtu_bytes(attr.active_mtu()),
            lid: attr.lid(),
            infiniband: attr.link_layer() == LinkLayer::InfiniBand,
        };
        let pd = context
            .alloc_pd()
            .map_err(|e| RdmaError::verbs("allocate protection domain", e))?;
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
            .map_err(|e| RdmaError::verbs("query GID", e))?;
        Ok(Ipv6Addr::from(gid.raw))
    }

    /// The device's limit on outstanding RDMA reads per queue pair (as initiator).
    pub fn max_outstanding_reads(&self) -> Result<u32, RdmaError> {
        let attr = self
            .context
            .query_device()
            .map_err(|e| RdmaError::verbs("query device", e))?;
        Ok(attr.max_qp_init_rd_atom().max(0) as u32)
    }
}

/// An anonymous mapping, page- or huge-page-aligned, zero-filled.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by one Qp; the Qp moves to its data thread whole.
unsafe impl Send for Mapping {}

impl Mapping {
    fn new(len: usize, hugepages: bool) -> Result<Mapping, RdmaError> {
        let huge = 2 * 1024 * 1024;
        let len = if hugepages {
            len.div_ceil(huge) * huge
        } else {
            len.div_ceil(4096) * 4096
        };
        let flags =
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | if hugepages { libc::MAP_HUGETLB } else { 0 };
        // SAFETY: an anonymous private mapping with no address hint; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            return Err(if hugepages {
                RdmaError::HugePages(e)
            } else {
                RdmaError::verbs("map the data buffer", e)
            });
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from a successful mmap and nothing refers to it any more (the memory
        // region that registered it is dropped first, see Qp's field order).
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// How a queue pair is built.
#[derive(Debug, Clone)]
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
/// area (where the peer writes and where receives land), each `message_size` bytes.
pub struct Qp {
    // Field order is drop order: queue pair before its CQs, memory region before its mapping.
    qp: BasicQueuePair,
    send_cq: Arc<BasicCompletionQueue>,
    recv_cq: Arc<BasicCompletionQueue>,
    channel: Option<Arc<CompletionChannel>>,
    mr: Arc<MemoryRegion>,
    mapping: Mapping,
    size: usize,
    target_offset: usize,
    psn: u32,
    remote_addr: u64,
    remote_rkey: u32,
    inline_size: u32,
    send_wrs: Vec<ibv_send_wr>,
    send_sges: Vec<ibv_sge>,
    recv_wr: ibv_recv_wr,
    recv_sge: ibv_sge,
    fin_wr: ibv_send_wr,
    wcs: Vec<ibv_wc>,
}

// SAFETY: the raw pointers inside the pre-built work requests point into this Qp's own heap storage and
// mapping; the Qp is used by one thread at a time (it moves to its data thread whole).
unsafe impl Send for Qp {}

fn zeroed_send_wr() -> ibv_send_wr {
    // SAFETY: ibv_send_wr is a plain C struct (integers, raw pointers, unions of those); all-zero is
    // a valid value for every field.
    unsafe { std::mem::zeroed() }
}

impl Qp {
    /// Creates the queue pair, moves it to INIT and posts its receives.
    pub fn create(device: &Device, config: &QpConfig) -> Result<Qp, RdmaError> {
        let size = config.message_size.max(1);
        let target_offset = size.div_ceil(64) * 64;
        let mapping = Mapping::new(target_offset + size, config.hugepages)?;
        // Remote atomics only when asked for: a device without atomic support may refuse the flag.
        let mut access =
            AccessFlags::LocalWrite | AccessFlags::RemoteWrite | AccessFlags::RemoteRead;
        if config.atomic {
            access |= AccessFlags::RemoteAtomic;
        }
        // SAFETY: the mapping is valid for mapping.len bytes and outlives the memory region (drop order
        // of Qp's fields).
        let mr = unsafe { device.pd.reg_mr(mapping.ptr as usize, mapping.len, access) }
            .map_err(|e| RdmaError::verbs("register the data buffer", e))?;
        // Every QP gets a completion channel: `--use-event` sleeps on it, and a side with nothing to do
        // but wait for the peer's FIN blocks on it instead of spinning or waking up periodically.
        let channel = Some(
            device
                .context
                .create_comp_channel()
                .map_err(|e| RdmaError::verbs("create a completion channel", e))?,
        );
        let build_cq = |cqe: u32| {
            let mut builder = device.context.create_cq_builder();
            builder.setup_cqe(cqe);
            if let Some(ch) = &channel {
                builder.setup_comp_channel(ch, 0);
            }
            builder
                .build()
                .map_err(|e| RdmaError::verbs("create a completion queue", e))
        };
        let send_cq = build_cq(config.send_depth + 2)?;
        let recv_cq = build_cq(config.recv_depth + 2)?;
        let mut builder = device.pd.create_qp_builder();
        builder
            .setup_max_send_wr(config.send_depth + 1)
            .setup_max_recv_wr(config.recv_depth)
            .setup_max_send_sge(1)
            .setup_max_recv_sge(1)
            .setup_max_inline_data(config.max_inline)
            .setup_send_cq(Arc::clone(&send_cq))
            .setup_recv_cq(Arc::clone(&recv_cq));
        let mut qp = builder
            .build()
            .map_err(|e| RdmaError::verbs("create a queue pair", e))?;
        let mut attr = QueuePairAttribute::new();
        attr.setup_state(QueuePairState::Init)
            .setup_pkey_index(0)
            .setup_port(device.port)
            .setup_access_flags(access);
        qp.modify(&attr)
            .map_err(|e| RdmaError::verbs("move the queue pair to INIT", e))?;

        let base = mapping.ptr as u64;
        let lkey = mr.lkey();
        let post_list = config.post_list.max(1) as usize;
        let send_sges = vec![
            ibv_sge {
                addr: base,
                length: size as u32,
                lkey,
            };
            post_list
        ];
        let send_wrs = (0..post_list).map(|_| zeroed_send_wr()).collect();
        let mut fin_wr = zeroed_send_wr();
        fin_wr.wr_id = FIN_WR_ID;
        fin_wr.opcode = ibv_wr_opcode::IBV_WR_SEND_WITH_IMM;
        fin_wr.send_flags = ibv_send_flags::IBV_SEND_SIGNALED.0;
        fin_wr.imm_data_invalidated_rkey_union = imm_data_invalidated_rkey_union_t {
            imm_data: FIN_IMM.to_be(),
        };
        let mut this = Qp {
            qp,
            send_cq,
            recv_cq,
            channel,
            mr,
            mapping,
            size,
            target_offset,
            psn: rand::random::<u32>() & 0x00ff_ffff,
            remote_addr: 0,
            remote_rkey: 0,
            inline_size: 0,
            send_wrs,
            send_sges,
            recv_wr: ibv_recv_wr {
                wr_id: 0,
                next: std::ptr::null_mut(),
                sg_list: std::ptr::null_mut(),
                num_sge: 1,
            },
            recv_sge: ibv_sge {
                addr: base + target_offset as u64,
                length: size as u32,
                lkey,
            },
            fin_wr,
            // SAFETY: ibv_wc is plain C data; zero is valid and ibv_poll_cq overwrites what it returns.
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
            rkey: self.mr.rkey(),
            addr: self.mapping.ptr as u64,
            len: self.mapping.len as u64,
        }
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
            .map_err(|e| RdmaError::verbs("move the queue pair to RTR", e))?;
        let mut attr = QueuePairAttribute::new();
        attr.setup_state(QueuePairState::ReadyToSend)
            .setup_sq_psn(self.psn)
            .setup_timeout(14)
            .setup_retry_cnt(7)
            .setup_rnr_retry(7)
            .setup_max_read_atomic(reads);
        self.qp
            .modify(&attr)
            .map_err(|e| RdmaError::verbs("move the queue pair to RTS", e))?;

        self.remote_addr = remote.addr;
        self.remote_rkey = remote.rkey;
        self.inline_size = inline_size;
        let (opcode, remote_offset, local_offset) = match op {
            // Writes land in the peer's target area; reads pull the peer's source area into ours.
            RdmaOp::Write => (ibv_wr_opcode::IBV_WR_RDMA_WRITE, self.target_offset, 0),
            RdmaOp::Read => (ibv_wr_opcode::IBV_WR_RDMA_READ, 0, self.target_offset),
            RdmaOp::Send => (ibv_wr_opcode::IBV_WR_SEND, 0, 0),
            // Fetch-and-add on the first (8-byte aligned) word of the peer's target area; the old
            // value lands in our source area.
            RdmaOp::Atomic => (
                ibv_wr_opcode::IBV_WR_ATOMIC_FETCH_AND_ADD,
                self.target_offset,
                0,
            ),
        };
        let inline = !op.returns_data() && (self.size as u32) <= inline_size;
        let base = self.mapping.ptr as u64;
        for sge in &mut self.send_sges {
            sge.addr = base + local_offset as u64;
        }
        for wr in &mut self.send_wrs {
            wr.opcode = opcode;
            wr.num_sge = 1;
            wr.send_flags = if inline {
                ibv_send_flags::IBV_SEND_INLINE.0
            } else {
                0
            };
            if op == RdmaOp::Atomic {
                wr.wr.atomic = atomic_t {
                    remote_addr: remote.addr + remote_offset as u64,
                    compare_add: 1,
                    swap: 0,
                    rkey: remote.rkey,
                };
            } else {
                wr.wr.rdma.remote_addr = remote.addr + remote_offset as u64;
                wr.wr.rdma.rkey = remote.rkey;
            }
        }
        Ok(())
    }

    /// Posts `count` (at most the post list) chained work requests of the connected op; the last is
    /// signaled when `signal` is set and its completion then stands for `covers` work requests.
    #[inline]
    pub fn post(&mut self, count: usize, signal: bool, covers: u64) -> Result<(), RdmaError> {
        let count = count.clamp(1, self.send_wrs.len());
        let wrs = self.send_wrs.as_mut_ptr();
        let sges = self.send_sges.as_mut_ptr();
        for i in 0..count {
            // SAFETY: i < count <= send_wrs.len() == send_sges.len(); both vectors are never resized, so
            // the pointers stay valid for the post below.
            unsafe {
                let wr = &mut *wrs.add(i);
                wr.sg_list = sges.add(i);
                wr.next = if i + 1 < count {
                    wrs.add(i + 1)
                } else {
                    std::ptr::null_mut()
                };
                let last = i + 1 == count;
                let signaled = ibv_send_flags::IBV_SEND_SIGNALED.0;
                if last && signal {
                    wr.send_flags |= signaled;
                    wr.wr_id = covers;
                } else {
                    wr.send_flags &= !signaled;
                    wr.wr_id = 0;
                }
            }
        }
        let mut bad: *mut ibv_send_wr = std::ptr::null_mut();
        // SAFETY: the queue pair is live (self.qp), the chain is well formed (above), every sge points
        // into the registered mapping, and the remote address/rkey came from the peer's endpoint.
        let rc = unsafe { ibv_post_send(self.qp.qp().as_ptr(), wrs, &mut bad) };
        if rc != 0 {
            return Err(RdmaError::Post {
                what: "post a send work request",
                source: std::io::Error::from_raw_os_error(rc),
            });
        }
        Ok(())
    }

    /// Sends the zero-length FIN that tells the peer this side is done.
    pub fn post_fin(&mut self) -> Result<(), RdmaError> {
        let mut bad: *mut ibv_send_wr = std::ptr::null_mut();
        self.fin_wr.next = std::ptr::null_mut();
        self.fin_wr.num_sge = 0;
        // SAFETY: a zero-SGE send on a live queue pair; fin_wr lives in self for the call.
        let rc = unsafe { ibv_post_send(self.qp.qp().as_ptr(), &mut self.fin_wr, &mut bad) };
        if rc != 0 {
            return Err(RdmaError::Post {
                what: "post the end-of-test message",
                source: std::io::Error::from_raw_os_error(rc),
            });
        }
        Ok(())
    }

    fn post_receive(&mut self) -> Result<(), RdmaError> {
        self.recv_wr.sg_list = &mut self.recv_sge;
        self.recv_wr.next = std::ptr::null_mut();
        let mut bad: *mut ibv_recv_wr = std::ptr::null_mut();
        // SAFETY: recv_wr and recv_sge live in self for the call; the sge points into the registered
        // mapping's target area.
        let rc = unsafe { ibv_post_recv(self.qp.qp().as_ptr(), &mut self.recv_wr, &mut bad) };
        if rc != 0 {
            return Err(RdmaError::Post {
                what: "post a receive",
                source: std::io::Error::from_raw_os_error(rc),
            });
        }
        Ok(())
    }

    fn poll_into(&mut self, recv: bool) -> Result<usize, RdmaError> {
        let cq: *mut ibv_cq = if recv {
            // SAFETY: only the pointer is taken; the CQ lives as long as self.
            unsafe { self.recv_cq.cq().as_ptr() }
        } else {
            // SAFETY: as above.
            unsafe { self.send_cq.cq().as_ptr() }
        };
        // SAFETY: wcs has POLL_BATCH entries and the CQ is live.
        let n = unsafe { ibv_poll_cq(cq, POLL_BATCH as i32, self.wcs.as_mut_ptr()) };
        if n < 0 {
            return Err(RdmaError::Post {
                what: "poll the completion queue",
                source: std::io::Error::from_raw_os_error(-n),
            });
        }
        let n = n as usize;
        for wc in &self.wcs[..n] {
            if wc.status != ibv_wc_status::IBV_WC_SUCCESS {
                // SAFETY: ibv_wc_status_str returns a static C string for any status value.
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
            // SAFETY: reading the imm_data member of a union of two u32s is always defined.
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

    fn arm(&self) -> Result<(), RdmaError> {
        for cq in [&self.send_cq, &self.recv_cq] {
            // SAFETY: the CQ is live; solicited_only = 0 asks for the next completion of any kind.
            let rc = unsafe { ibv_req_notify_cq(cq.cq().as_ptr(), 0) };
            if rc != 0 {
                return Err(RdmaError::Post {
                    what: "arm completion notification",
                    source: std::io::Error::from_raw_os_error(rc),
                });
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
        let Some(channel) = &self.channel else {
            return Ok(());
        };
        let mut pfd = libc::pollfd {
            fd: channel.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready > 0 {
            let mut cq: *mut ibv_cq = std::ptr::null_mut();
            let mut context: *mut libc::c_void = std::ptr::null_mut();
            // SAFETY: the channel is live and readable (poll said so), so this does not block; the
            // event returned is acknowledged right away.
            let rc =
                unsafe { ibv_get_cq_event(channel.comp_channel().as_ptr(), &mut cq, &mut context) };
            if rc == 0 {
                // SAFETY: cq is the CQ the event was for, one event to acknowledge.
                unsafe { ibv_ack_cq_events(cq, 1) };
            }
        }
        self.arm()
    }

    /// The last byte of the source area (write latency stamps the iteration there).
    #[inline]
    pub fn set_source_last(&mut self, value: u8) {
        // SAFETY: size - 1 lies inside the mapping's source area.
        unsafe { std::ptr::write_volatile(self.mapping.ptr.add(self.size - 1), value) }
    }

    /// The last byte of the target area, read fresh from memory (the peer's RDMA write changes it).
    #[inline]
    pub fn target_last(&self) -> u8 {
        // SAFETY: target_offset + size - 1 lies inside the mapping; a volatile read because the HCA
        // writes it behind the compiler's back.
        unsafe { std::ptr::read_volatile(self.mapping.ptr.add(self.target_offset + self.size - 1)) }
    }

    pub fn message_size(&self) -> usize {
        self.size
    }
}
