//! PIM's unicast messages (Register, Register-Stop) out through the kernel: a raw IPv4 socket
//! (`IPPROTO_RAW`, the IP header ours) in mrouter's namespace. The kernel routes each one
//! (the twins' connected subnets, its own routes), picks its source address (the header's is
//! left zero), resolves the next hop's MAC with ARP on the twin and writes the frame to the
//! twin, whose frames leave through the port's control tx path (`control_core/twins.rs`).
//!
//! Why the kernel and not a frame of our own: mrouter keeps no ARP table and no unicast FIB
//! (the twins exist so the kernel does that), and Registers are few (bounded by the copy
//! path: at most `PUNTED_PER_TURN` a control turn); one `sendto` each costs the control core a
//! system call. An `IPPROTO_RAW` socket only sends (the kernel queues nothing on it).
//! Non-blocking: a full socket buffer is a refusal, counted by the core. The kernel does not
//! fragment what such a socket sends: a Register of a packet within 28 bytes of the MTU is
//! refused (EMSGSIZE) and counted.

use crate::control_core::UnicastOut;
use crate::protocols::shared::Datagram;
use dataplane::wire::ipv4;
use nix::sys::socket::{
    sendto, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

/// A raw socket that sends unicast datagrams of the protocols.
pub struct RawPim {
    fd: OwnedFd,
    /// `sendto` failures (the first one is logged).
    pub errors: u64,
}

impl RawPim {
    /// Opens the socket (needs CAP_NET_RAW).
    pub fn open() -> nix::Result<RawPim> {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        )?;
        Ok(RawPim { fd, errors: 0 })
    }
}

/// The datagram with its IPv4 header, source zero (the kernel fills it in), or `None` if it
/// does not fit one datagram.
pub fn packet(d: &Datagram) -> Option<Vec<u8>> {
    if d.payload.len() > 65_535 - ipv4::HEADER_LEN {
        return None;
    }
    let mut ip = vec![0u8; ipv4::HEADER_LEN + d.payload.len()];
    ipv4::Repr {
        src_addr: Ipv4Addr::UNSPECIFIED,
        dst_addr: d.dst,
        protocol: d.protocol,
        payload_len: d.payload.len(),
        ttl: d.ttl,
        dscp_ecn: d.dscp_ecn,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
    ip[ipv4::HEADER_LEN..].copy_from_slice(&d.payload);
    Some(ip)
}

impl UnicastOut for RawPim {
    fn send(&mut self, d: &Datagram) -> bool {
        if d.dst.is_multicast() || d.dst.is_broadcast() || d.dst.is_unspecified() {
            return false;
        }
        let Some(ip) = packet(d) else {
            return false;
        };
        let to = SockaddrIn::from(SocketAddrV4::new(d.dst, 0));
        match sendto(self.fd.as_raw_fd(), &ip, &to, MsgFlags::MSG_DONTWAIT) {
            Ok(_) => true,
            Err(e) => {
                self.errors += 1;
                if self.errors == 1 {
                    eprintln!(
                        "mrouter: warning: unicast datagram to {}: {e} (counted as protocol_unicast_refused)",
                        d.dst
                    );
                }
                false
            }
        }
    }
}
