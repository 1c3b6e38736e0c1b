//! A kernel twin's device: a DPDK `net_tap` port the control core creates after EAL started.
//! The tap PMD makes a Linux tap interface (`iface=`) in the process's network namespace, with
//! the MAC address given (`mac=`); what the control core sends on the port the kernel receives
//! on that interface, and what the kernel sends there the port receives.
//!
//! Why net_tap and not virtio-user with vhost-net (DPDK's other exception path): vhost-net
//! saves the copy and the system call per frame by sharing virtio rings with the kernel's
//! vhost thread, which pays off at millions of frames a second. The exception path carries
//! ARP, ping and routing protocols (thousands of frames a second, bounded and rate-limited by
//! the control core), where a system call per frame costs little (the tap PMD reads and
//! writes one frame per `readv`/`writev`, a few microseconds), and vhost-net needs
//! `/dev/vhost-net` (`CONFIG_VHOST_NET`), which kernels without modules (this project's
//! machine) often lack, while `/dev/net/tun` is everywhere. The tap also takes its MTU and
//! link state from the ethdev calls (`rte_eth_dev_set_mtu`, `rte_eth_dev_set_link_up/down`),
//! so no second path to the kernel is needed for those.
//!
//! The tap is polled by the control core only (one rx and one tx queue, never a worker's).

use crate::dpdk::{create_vdev, DpdkError, EtherAddr, Mbuf, Mempool, Port, RxQueue, TxQueue};

/// Descriptors of the tap's queues (the kernel side has its own queue; this bounds what the
/// port holds between two control turns).
pub const TAP_DESC: u16 = 512;

/// One kernel twin's tap port.
pub struct KernelTap {
    port: Port,
    rx: RxQueue,
    tx: TxQueue,
    iface: String,
}

impl KernelTap {
    /// Creates DPDK device `vdev` (a `net_tap` name, unique in the process) with kernel
    /// interface `iface` (at most 15 bytes), MAC `mac` and MTU `mtu`, and starts it (the
    /// kernel interface is then up).
    pub fn create(
        vdev: &str,
        iface: &str,
        mac: [u8; 6],
        mtu: u16,
        pool: &Mempool,
    ) -> Result<KernelTap, DpdkError> {
        create_vdev(vdev, &format!("iface={iface},mac={}", EtherAddr(mac)))?;
        let port = Port::by_name(vdev)?;
        port.configure(1, 1, TAP_DESC, pool)?;
        port.set_mtu(mtu)?;
        port.start()?;
        let (Some(rx), Some(tx)) = (port.take_rx_queue(0), port.take_tx_queue(0)) else {
            return Err(DpdkError {
                op: format!("tap {iface}"),
                code: 22,
                message: "queues not available".into(),
            });
        };
        Ok(KernelTap {
            port,
            rx,
            tx,
            iface: iface.to_string(),
        })
    }

    /// The kernel interface's name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Frames the kernel sent on the interface, up to a burst, appended to `out`.
    pub fn recv(&mut self, out: &mut Vec<Mbuf>) -> usize {
        self.rx.rx_burst(out)
    }

    /// Hands `m` to the kernel; false if it was refused (freed).
    pub fn send(&mut self, m: Mbuf) -> bool {
        let refused = self.tx.push(m) + self.tx.flush();
        refused == 0
    }

    /// Sets the kernel interface up or down.
    pub fn set_link(&self, up: bool) -> Result<(), DpdkError> {
        self.port.set_link(up)
    }

    /// Stops and closes the device (its kernel interface goes away); the mbufs its queues
    /// held go back to the pool.
    pub fn close(self) -> Result<(), DpdkError> {
        let KernelTap { port, rx, tx, .. } = self;
        drop((rx, tx));
        port.close()
    }
}
