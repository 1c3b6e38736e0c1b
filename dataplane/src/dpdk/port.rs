//! Ethernet ports with their rx and tx queues.

use super::{check, DpdkError, Mbuf, Mempool, BURST};
use std::ffi::CString;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::sync::Mutex;

// RTE_ETH_RSS_* are RTE_BIT64() expression macros, which bindgen cannot translate.
const RSS_IPV4: u64 = 1 << 2;
const RSS_FRAG_IPV4: u64 = 1 << 3;
const RSS_NONFRAG_IPV4_UDP: u64 = 1 << 5;
// RTE_ETH_TX_OFFLOAD_MULTI_SEGS, also an RTE_BIT64() macro.
const TX_OFFLOAD_MULTI_SEGS: u64 = 1 << 15;
// RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, an RTE_BIT64() macro too.
const RX_OFFLOAD_IPV4_CKSUM: u64 = 1 << 1;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EtherAddr(pub [u8; 6]);

impl fmt::Display for EtherAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Port counters as the PMD reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the NIC dropped because rx queues were full.
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
    /// Receives that failed for want of an mbuf.
    pub rx_nombuf: u64,
}

/// Creates virtual device `name` (`net_tap_x`) with devargs `args` after EAL started
/// (hot-plug); its port is then found with [`Port::by_name`].
pub fn create_vdev(name: &str, args: &str) -> Result<(), DpdkError> {
    let bad = || DpdkError {
        op: format!("create device {name}"),
        code: 22,
        message: "name or arguments contain a NUL byte".into(),
    };
    let cname = CString::new(name).map_err(|_| bad())?;
    let cargs = CString::new(args).map_err(|_| bad())?;
    // SAFETY: both are valid C strings that outlive the call.
    let ret = unsafe { dpdk_sys::rte_vdev_init(cname.as_ptr(), cargs.as_ptr()) };
    check(ret, || format!("create device {name},{args}")).map(|_| ())
}

/// An Ethernet port (a PCI device or a vdev), named as EAL named it.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    /// Queue handles given out, so each queue has exactly one user (rx/tx bursts on one queue
    /// from two threads would be a data race inside the PMD).
    taken: Mutex<(Vec<bool>, Vec<bool>)>,
    /// The device checks IPv4 header checksums on receive (set by `configure` where offered;
    /// read when rx queues are handed out).
    rx_ip_checksum: std::sync::atomic::AtomicBool,
    /// The driver lock every burst on this port's queues holds (memif: see
    /// [`Port::guard_memif_bursts`]); null for none. Read when queues are handed out.
    burst_lock: AtomicPtr<i32>,
}

/// A driver's spinlock (an `rte_spinlock_t`: an int, 0 free, 1 held) that a queue holds
/// around each burst.
#[derive(Debug, Clone, Copy)]
struct BurstLock(NonNull<AtomicI32>);

// SAFETY: the lock lives in the driver's device data until the port is closed, which happens
// after every queue of the port is dropped; taking and releasing it are atomic operations.
unsafe impl Send for BurstLock {}

impl BurstLock {
    /// Takes the lock (spinning: the driver holds it only for the few system calls of a
    /// disconnect), released when the returned guard drops.
    #[inline]
    fn hold(self) -> HeldBurstLock {
        // SAFETY: see the Send impl: the lock outlives the queue that holds it.
        let lock = unsafe { self.0.as_ref() };
        while lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while lock.load(Ordering::Relaxed) != 0 {
                std::hint::spin_loop();
            }
        }
        HeldBurstLock(self)
    }
}

struct HeldBurstLock(BurstLock);

impl Drop for HeldBurstLock {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `hold`.
        unsafe { self.0 .0.as_ref() }.store(0, Ordering::Release);
    }
}

impl Port {
    /// Finds the port EAL created for `name` (`net_af_packet0`, `0000:3b:00.0`, ...).
    pub fn by_name(name: &str) -> Result<Port, DpdkError> {
        let cname = CString::new(name).map_err(|_| DpdkError {
            op: "find port".into(),
            code: 22,
            message: "port name contains a NUL byte".into(),
        })?;
        let mut id = 0u16;
        // SAFETY: cname is a valid C string and id a valid out pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        check(ret, || {
            format!("find port {name} (is the device in the EAL arguments?)")
        })?;
        Ok(Port {
            id,
            name: name.to_owned(),
            taken: Mutex::new((Vec::new(), Vec::new())),
            rx_ip_checksum: std::sync::atomic::AtomicBool::new(false),
            burst_lock: AtomicPtr::new(std::ptr::null_mut()),
        })
    }

    /// Makes every queue of this memif port handed out from now on hold the driver's
    /// control-channel lock around each burst. DPDK 22.11's memif driver unmaps a
    /// connection's shared memory when the peer goes away (in EAL's interrupt thread) or the
    /// port stops, and its bursts check the connection only on entry: a worker inside a
    /// burst at that moment touched unmapped memory and mrouter died (issue 18). The teardown
    /// takes this lock between marking the connection down and unmapping, so a burst made
    /// under it either ends before the unmapping or sees the connection down. `id`, `server`
    /// and `socket` are the port's devargs (`id=`, `role=`, `socket=`), checked against the
    /// driver's data (whose layout is DPDK 22.11's: see `mrouter_memif_cc_lock` in
    /// dpdk-sys's shim.c). False when the lock was not found (another DPDK version, or the
    /// devargs do not match): bursts then go without it. Call it before taking queues.
    pub fn guard_memif_bursts(&self, id: u32, server: bool, socket: &str) -> bool {
        let Ok(csocket) = CString::new(socket) else {
            return false;
        };
        // SAFETY: csocket is a valid C string; the function only reads DPDK's device data.
        let lock = unsafe {
            dpdk_sys::mrouter_memif_cc_lock(self.id, id, i32::from(server), csocket.as_ptr())
        };
        self.burst_lock.store(lock, Ordering::Relaxed);
        !lock.is_null()
    }

    /// Whether bursts on this port's queues hold a driver lock ([`Port::guard_memif_bursts`]).
    pub fn bursts_guarded(&self) -> bool {
        !self.burst_lock.load(Ordering::Relaxed).is_null()
    }

    fn burst_lock(&self) -> Option<BurstLock> {
        // AtomicI32 has the size and alignment of the driver's int.
        NonNull::new(self.burst_lock.load(Ordering::Relaxed).cast::<AtomicI32>()).map(BurstLock)
    }

    /// The DPDK port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The EAL device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// NUMA socket of the device (0 where unknown).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: plain query on a valid port id.
        unsafe { dpdk_sys::rte_eth_dev_socket_id(self.id) }.max(0)
    }

    /// The driver's name (`net_af_packet`, `net_pcap`, ...).
    pub fn driver_name(&self) -> String {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: info is a valid out struct for a valid port.
        if unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) } != 0
            || info.driver_name.is_null()
        {
            return String::new();
        }
        // SAFETY: driver_name is a static NUL-terminated string owned by the PMD.
        unsafe { std::ffi::CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned()
    }

    /// The most rx and tx queues the device offers.
    pub fn max_queues(&self) -> (u16, u16) {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: info is a valid out struct for a valid port.
        if unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) } != 0 {
            return (1, 1);
        }
        (info.max_rx_queues, info.max_tx_queues)
    }

    /// Configures `rx_queues` x `tx_queues` with `desc` descriptors each; RSS over IP when
    /// there is more than one rx queue and the device can hash.
    pub fn configure(
        &self,
        rx_queues: u16,
        tx_queues: u16,
        desc: u16,
        pool: &Mempool,
    ) -> Result<(), DpdkError> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: info is a valid out struct for a valid port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) };
        check(ret, || format!("port {}: device info", self.name))?;
        if rx_queues > info.max_rx_queues || tx_queues > info.max_tx_queues {
            return Err(DpdkError {
                op: format!("configure port {}", self.name),
                code: 22,
                message: format!(
                    "asked for {rx_queues} rx / {tx_queues} tx queues, the device has at most {} / {}",
                    info.max_rx_queues, info.max_tx_queues
                ),
            });
        }
        let mut conf = dpdk_sys::rte_eth_conf::default();
        // Chained mbufs (header + shared payload) need the multi-segment tx offload where the
        // device has it.
        conf.txmode.offloads |= info.tx_offload_capa & TX_OFFLOAD_MULTI_SEGS;
        // IPv4 header checksums checked by the device where it can: the workers then trust its
        // "good" flag and verify in software only what it did not check.
        conf.rxmode.offloads |= info.rx_offload_capa & RX_OFFLOAD_IPV4_CKSUM;
        self.rx_ip_checksum.store(
            info.rx_offload_capa & RX_OFFLOAD_IPV4_CKSUM != 0,
            std::sync::atomic::Ordering::Relaxed,
        );
        if rx_queues > 1 && info.flow_type_rss_offloads != 0 {
            conf.rxmode.mq_mode = dpdk_sys::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf =
                (RSS_IPV4 | RSS_FRAG_IPV4 | RSS_NONFRAG_IPV4_UDP) & info.flow_type_rss_offloads;
        }
        // SAFETY: conf is a valid configuration for a stopped port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_configure(self.id, rx_queues, tx_queues, &conf) };
        check(ret, || format!("configure port {}", self.name))?;
        let socket = self.socket_id() as u32;
        for q in 0..rx_queues {
            // SAFETY: the pool outlives the port (pools are never freed); NULL conf = defaults.
            let ret = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    self.id,
                    q,
                    desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            check(ret, || format!("port {}: rx queue {q} setup", self.name))?;
        }
        for q in 0..tx_queues {
            // SAFETY: NULL conf = the driver's defaults.
            let ret = unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(self.id, q, desc, socket, std::ptr::null())
            };
            check(ret, || format!("port {}: tx queue {q} setup", self.name))?;
        }
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) = (
            vec![false; rx_queues as usize],
            vec![false; tx_queues as usize],
        );
        Ok(())
    }

    /// Sets the device's MTU (a configured, stopped port).
    pub fn set_mtu(&self, mtu: u16) -> Result<(), DpdkError> {
        // SAFETY: plain call on a valid port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_set_mtu(self.id, mtu) };
        check(ret, || format!("port {}: set MTU {mtu}", self.name)).map(|_| ())
    }

    /// Whether the port can send chained (multi-segment) mbufs: it advertises the
    /// multi-segment tx offload, or its driver is one known to handle chains without it
    /// (net_pcap linearises them, net_null frees them, net_ring passes them on).
    pub fn supports_chains(&self) -> bool {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: info is a valid out struct for a valid port.
        if unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) } != 0 {
            return false;
        }
        info.tx_offload_capa & TX_OFFLOAD_MULTI_SEGS != 0
            || matches!(
                self.driver_name().as_str(),
                "net_pcap" | "net_null" | "net_ring"
            )
    }

    /// Starts the port.
    pub fn start(&self) -> Result<(), DpdkError> {
        // SAFETY: the port is configured.
        check(unsafe { dpdk_sys::rte_eth_dev_start(self.id) }, || {
            format!("start port {}", self.name)
        })
        .map(|_| ())
    }

    /// Stops the port (queues stay configured; [`Port::start`] starts it again). Call only
    /// when no lcore polls it or sends on it.
    pub fn stop(&self) -> Result<(), DpdkError> {
        // SAFETY: the caller guarantees no queue of the port is in use.
        check(unsafe { dpdk_sys::rte_eth_dev_stop(self.id) }, || {
            format!("stop port {}", self.name)
        })
        .map(|_| ())
    }

    /// Receives every multicast frame. Falls back to promiscuous mode where the driver has no
    /// all-multicast switch; returns which mode is on.
    pub fn enable_allmulticast(&self) -> Result<&'static str, DpdkError> {
        // SAFETY: plain call on a valid port.
        if unsafe { dpdk_sys::rte_eth_allmulticast_enable(self.id) } == 0 {
            return Ok("allmulticast");
        }
        // SAFETY: plain call on a valid port.
        let ret = unsafe { dpdk_sys::rte_eth_promiscuous_enable(self.id) };
        check(ret, || {
            format!(
                "port {}: neither allmulticast nor promiscuous mode",
                self.name
            )
        })?;
        Ok("promiscuous")
    }

    /// The port's MAC address (the source of every frame we send on it).
    pub fn mac(&self) -> EtherAddr {
        let mut a = dpdk_sys::rte_ether_addr::default();
        // SAFETY: a is a valid out struct.
        unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut a) };
        EtherAddr(a.addr_bytes)
    }

    /// The port's MTU (the largest IPv4 packet it sends, Ethernet header not counted); 1500
    /// when the driver cannot say.
    pub fn mtu(&self) -> u16 {
        let mut mtu = 0u16;
        // SAFETY: mtu is a valid out value for a valid port id.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_mtu(self.id, &mut mtu) };
        if ret == 0 && mtu > 0 {
            mtu
        } else {
            1500
        }
    }

    /// Sets the link administratively up or down (for net_tap: the kernel interface's
    /// `IFF_UP`). Drivers without the operation say so in the error.
    pub fn set_link(&self, up: bool) -> Result<(), DpdkError> {
        // SAFETY: plain calls on a valid port id.
        let ret = unsafe {
            if up {
                dpdk_sys::rte_eth_dev_set_link_up(self.id)
            } else {
                dpdk_sys::rte_eth_dev_set_link_down(self.id)
            }
        };
        check(ret, || {
            format!(
                "port {}: set link {}",
                self.name,
                if up { "up" } else { "down" }
            )
        })
        .map(|_| ())
    }

    /// Whether the link is up now (does not wait for auto-negotiation).
    pub fn link_up(&self) -> bool {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: link is a valid out struct for a valid port id.
        let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut link) };
        ret == 0 && link.link_status() != 0
    }

    /// Current counters.
    pub fn stats(&self) -> PortStats {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: s is a valid out struct.
        unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Stops and closes the port (pcap ports flush their files here). Call only after every
    /// queue user has stopped.
    pub fn close(&self) -> Result<(), DpdkError> {
        // SAFETY: no lcore polls the port any more (callers join workers first).
        check(unsafe { dpdk_sys::rte_eth_dev_stop(self.id) }, || {
            format!("stop port {}", self.name)
        })?;
        // SAFETY: as above; the port is stopped.
        check(unsafe { dpdk_sys::rte_eth_dev_close(self.id) }, || {
            format!("close port {}", self.name)
        })
        .map(|_| ())
    }

    /// The only handle to rx queue `q`; `None` if it does not exist or was already taken.
    pub fn take_rx_queue(&self, q: u16) -> Option<RxQueue> {
        let mut t = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let slot = t.0.get_mut(q as usize)?;
        if std::mem::replace(slot, true) {
            return None;
        }
        Some(RxQueue {
            port: self.id,
            queue: q,
            hw_ip_checksum: self
                .rx_ip_checksum
                .load(std::sync::atomic::Ordering::Relaxed),
            lock: self.burst_lock(),
        })
    }

    /// The only handle to tx queue `q`; `None` if it does not exist or was already taken.
    pub fn take_tx_queue(&self, q: u16) -> Option<TxQueue> {
        let mut t = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let slot = t.1.get_mut(q as usize)?;
        if std::mem::replace(slot, true) {
            return None;
        }
        Some(TxQueue {
            port: self.id,
            queue: q,
            len: 0,
            pkts: [std::ptr::null_mut(); TX_BUFFER],
            lock: self.burst_lock(),
        })
    }
}

/// The single user of one rx queue (DPDK rx queues are not thread-safe).
#[derive(Debug)]
pub struct RxQueue {
    port: u16,
    queue: u16,
    hw_ip_checksum: bool,
    /// Held around each burst (memif: see [`Port::guard_memif_bursts`]).
    lock: Option<BurstLock>,
}

// SAFETY: the queue handle is unique (see Port::take_rx_queue); moving it to a worker lcore
// moves the right to poll the queue.
unsafe impl Send for RxQueue {}

impl RxQueue {
    /// DPDK port id.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Queue index.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Whether the device checks IPv4 header checksums on this queue (its mbufs then carry a
    /// good/bad/unknown flag, [`Mbuf::ip_checksum_good`]).
    #[inline]
    pub fn hw_ip_checksum(&self) -> bool {
        self.hw_ip_checksum
    }

    /// Receives up to [`BURST`] packets, appended to `out` (which must have room for them).
    #[inline]
    pub fn rx_burst(&mut self, out: &mut Vec<Mbuf>) -> usize {
        out.reserve(BURST);
        let spare = out.spare_capacity_mut();
        // SAFETY: Mbuf is repr(transparent) over a non-null rte_mbuf pointer; DPDK writes n
        // valid owned pointers into the spare capacity (at least BURST slots), which we then
        // mark initialised. The queue handle is unique, so no other thread polls it.
        unsafe {
            let held = self.lock.map(BurstLock::hold);
            let n = dpdk_sys::rte_eth_rx_burst(
                self.port,
                self.queue,
                spare.as_mut_ptr() as *mut *mut dpdk_sys::rte_mbuf,
                BURST as u16,
            ) as usize;
            drop(held);
            out.set_len(out.len() + n);
            n
        }
    }
}

/// Packets buffered per tx queue before a burst is forced out.
pub const TX_BUFFER: usize = 64;

/// The single user of one tx queue, with a buffer so packets go out in bursts.
#[derive(Debug)]
pub struct TxQueue {
    port: u16,
    queue: u16,
    len: usize,
    pkts: [*mut dpdk_sys::rte_mbuf; TX_BUFFER],
    /// Held around each burst (memif: see [`Port::guard_memif_bursts`]).
    lock: Option<BurstLock>,
}

// SAFETY: the queue handle is unique (see Port::take_tx_queue) and the buffered pointers are
// owned mbufs, which may move between lcores.
unsafe impl Send for TxQueue {}

impl TxQueue {
    /// DPDK port id.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Queue index.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Buffers `m`; when the buffer is full it is flushed first. Returns how many packets a
    /// forced flush could not send (they are freed: the queue was full).
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> usize {
        // `>=`, never more in fact: the compiler then knows the index below is in range.
        let dropped = if self.len >= TX_BUFFER {
            self.flush()
        } else {
            0
        };
        self.pkts[self.len] = m.into_raw();
        self.len += 1;
        dropped
    }

    /// Sends what is buffered; returns how many could not be sent (freed).
    #[inline]
    pub fn flush(&mut self) -> usize {
        if self.len == 0 {
            return 0;
        }
        let held = self.lock.map(BurstLock::hold);
        // SAFETY: pkts[..len] are owned mbuf pointers; tx_burst takes ownership of the first
        // `sent`. The queue handle is unique.
        let sent = unsafe {
            dpdk_sys::rte_eth_tx_burst(
                self.port,
                self.queue,
                self.pkts.as_mut_ptr(),
                self.len as u16,
            )
        } as usize;
        drop(held);
        let unsent = self.len - sent;
        if unsent > 0 {
            // SAFETY: pkts[sent..len] are still ours; free them in one call.
            unsafe {
                dpdk_sys::rte_pktmbuf_free_bulk(self.pkts.as_mut_ptr().add(sent), unsent as u32)
            };
        }
        self.len = 0;
        unsent
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: pkts[..len] are owned mbufs that were never sent.
            unsafe { dpdk_sys::rte_pktmbuf_free_bulk(self.pkts.as_mut_ptr(), self.len as u32) };
        }
    }
}
