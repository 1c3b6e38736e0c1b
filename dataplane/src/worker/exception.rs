//! The exception path's choice in the worker: which frames that the router neither forwards nor
//! consumes go to the control core (and from there to the port's kernel twin) instead of being
//! dropped. Only frames the full classifier refused come here (a cold branch): the fast path of
//! routed multicast never looks at this.
//!
//! Per port, switched by the control core (a port whose interface has no kernel twin keeps the
//! old verdicts, so `not_ipv4` and `not_multicast` mean what they always meant there):
//!
//! - ARP, broadcast or addressed to the port's MAC: the kernel answers and learns neighbours;
//! - IPv4 that is not multicast, addressed to the port's MAC or broadcast (ping, TCP to the
//!   router, a routing daemon's unicast): the kernel takes what is for its addresses;
//! - (224.0.0.0/24, IGMP and PIM are punted whatever this says: `classify` calls them control.)
//!
//! Frames for other MACs (a promiscuous port sees its neighbours' unicast) stay drops: the
//! kernel would drop them too, after the copy and the system call.

use super::DropReason;
use crate::wire::ether;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which ports punt their exception traffic, with each port's MAC. Writer: the control core
/// (when a twin starts or stops). Readers: the workers, in the slow classification branch.
#[derive(Debug)]
pub struct ExceptionPorts {
    on: Box<[AtomicBool]>,
    macs: Box<[[u8; 6]]>,
}

impl ExceptionPorts {
    /// Every port off, with the ports' MACs by port index.
    pub fn new(macs: &[[u8; 6]]) -> ExceptionPorts {
        ExceptionPorts {
            on: macs.iter().map(|_| AtomicBool::new(false)).collect(),
            macs: macs.into(),
        }
    }

    /// Punts port `port`'s exception traffic from now on (`on`), or drops it as before.
    /// Relaxed: the flag carries no data; a worker seeing it a few packets late is fine.
    pub fn set(&self, port: usize, on: bool) {
        if let Some(f) = self.on.get(port) {
            f.store(on, Ordering::Relaxed);
        }
    }

    /// Whether port `port` punts its exception traffic.
    pub fn is_on(&self, port: usize) -> bool {
        self.on.get(port).is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Whether `frame`, which the classifier refused with `reason` on port `port`, goes to the
    /// control core instead (see the module doc).
    #[inline]
    pub fn wants(&self, port: u16, frame: &[u8], reason: DropReason) -> bool {
        let p = usize::from(port);
        if !self.is_on(p) {
            return false;
        }
        let Ok(eth) = ether::Frame::new_checked(frame) else {
            return false;
        };
        let dst = eth.dst_addr();
        let for_us = dst.is_broadcast() || self.macs.get(p).is_some_and(|m| dst.0 == *m);
        match reason {
            DropReason::NotIpv4 => for_us && eth.ethertype() == ether::ETHERTYPE_ARP,
            DropReason::NotMulticast => for_us,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};

    const PORT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn unicast_to(dst_mac: [u8; 6]) -> Vec<u8> {
        let mut f = build_udp_frame(
            EthernetAddress([2, 0, 0, 0, 0, 9]),
            "10.0.1.2".parse().unwrap(),
            "10.0.1.1".parse().unwrap(),
            64,
            b"x",
        );
        f[..6].copy_from_slice(&dst_mac);
        f
    }

    fn arp_to(dst_mac: [u8; 6]) -> Vec<u8> {
        let mut f = unicast_to(dst_mac);
        f[12..14].copy_from_slice(&ether::ETHERTYPE_ARP.to_be_bytes());
        f
    }

    #[test]
    fn off_keeps_every_drop() {
        let e = ExceptionPorts::new(&[PORT_MAC]);
        assert!(!e.wants(0, &arp_to([0xff; 6]), DropReason::NotIpv4));
        assert!(!e.wants(0, &unicast_to(PORT_MAC), DropReason::NotMulticast));
    }

    #[test]
    fn on_punts_arp_and_unicast_for_the_port_only() {
        let e = ExceptionPorts::new(&[PORT_MAC, [2, 0, 0, 0, 0, 2]]);
        e.set(0, true);
        assert!(e.wants(0, &arp_to([0xff; 6]), DropReason::NotIpv4));
        assert!(e.wants(0, &arp_to(PORT_MAC), DropReason::NotIpv4));
        assert!(e.wants(0, &unicast_to(PORT_MAC), DropReason::NotMulticast));
        assert!(e.wants(0, &unicast_to([0xff; 6]), DropReason::NotMulticast));
        // Someone else's unicast, IPv6, bad headers, other ports: still drops.
        let other = [2, 0, 0, 0, 0, 7];
        assert!(!e.wants(0, &arp_to(other), DropReason::NotIpv4));
        assert!(!e.wants(0, &unicast_to(other), DropReason::NotMulticast));
        let mut v6 = unicast_to(PORT_MAC);
        v6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert!(!e.wants(0, &v6, DropReason::NotIpv4));
        assert!(!e.wants(0, &unicast_to(PORT_MAC), DropReason::BadHeader));
        assert!(!e.wants(1, &unicast_to(PORT_MAC), DropReason::NotMulticast));
        assert!(!e.wants(7, &unicast_to(PORT_MAC), DropReason::NotMulticast));
        assert!(!e.wants(0, &[0xff; 5], DropReason::NotIpv4));
        e.set(0, false);
        assert!(!e.wants(0, &arp_to([0xff; 6]), DropReason::NotIpv4));
    }
}
