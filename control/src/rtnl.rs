//! A small synchronous rtnetlink client for the control core: requests that wait for the
//! kernel's acknowledgement (an address on a kernel twin), dumps (the kernel's IPv4 routes and
//! addresses), and a non-blocking subscription to route, address and link changes, read a
//! bounded number of messages per control turn.
//!
//! The messages are built and parsed by `netlink-packet-route` (the rust-netlink project's,
//! which `rtnetlink` is built on) over `netlink-sys` sockets: no netlink parsing of our own, and
//! no async runtime (the control core has its own loop). Messages the crate cannot parse are
//! skipped and counted by the caller ([`Received::Unparsed`]).

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io;
use std::net::{IpAddr, Ipv4Addr};

/// Multicast groups of rtnetlink (linux/rtnetlink.h `RTMGRP_*`): link, IPv4 address, IPv4 route.
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;

/// One message read from the kernel.
#[derive(Debug)]
pub enum Received {
    /// An rtnetlink message.
    Message(RouteNetlinkMessage),
    /// The end of a dump.
    Done,
    /// A datagram or message the crate could not parse (or a kernel error): ignored.
    Unparsed,
}

/// A netlink route socket.
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    /// A socket for requests and dumps (blocking: the kernel answers at once).
    pub fn new() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { socket, seq: 0 })
    }

    /// A non-blocking socket subscribed to link, IPv4 address and IPv4 route changes.
    pub fn subscribe() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(
            0,
            RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE,
        ))?;
        socket.set_non_blocking(true)?;
        // A burst of route changes (a routing daemon's full table) must not overflow the
        // queue between two turns: 4 MiB holds tens of thousands of route messages.
        let _ = socket.set_rx_buf_sz(4usize << 20);
        Ok(Rtnl { socket, seq: 0 })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        self.seq = self.seq.wrapping_add(1);
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        Ok(())
    }

    /// Reads one datagram and parses every message in it (non-blocking sockets: `WouldBlock`
    /// when there is none).
    pub fn recv(&mut self) -> io::Result<Vec<Received>> {
        let (data, _) = self.socket.recv_from_full()?;
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[at..]) else {
                out.push(Received::Unparsed);
                break;
            };
            let len = msg.header.length as usize;
            out.push(match msg.payload {
                NetlinkPayload::InnerMessage(m) => Received::Message(m),
                NetlinkPayload::Done(_) => Received::Done,
                NetlinkPayload::Error(e) if e.code.is_none() => Received::Done,
                _ => Received::Unparsed,
            });
            if len == 0 {
                break;
            }
            at += (len + 3) & !3;
        }
        Ok(out)
    }

    /// Sends `msg` with an acknowledgement asked for and waits for it.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            if msg.header.sequence_number != self.seq {
                continue;
            }
            return match msg.payload {
                NetlinkPayload::Error(e) if e.code.is_some() => Err(e.to_io()),
                _ => Ok(()),
            };
        }
    }

    /// Sets `address/prefix_len` on interface `ifindex` (replacing the same address if it is
    /// there already).
    pub fn add_address(
        &mut self,
        ifindex: u32,
        address: Ipv4Addr,
        prefix_len: u8,
    ) -> io::Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix_len;
        msg.header.index = ifindex;
        msg.attributes = vec![
            AddressAttribute::Local(IpAddr::V4(address)),
            AddressAttribute::Address(IpAddr::V4(address)),
        ];
        if prefix_len < 31 {
            let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
            let broadcast = Ipv4Addr::from(u32::from(address) | host);
            msg.attributes.push(AddressAttribute::Broadcast(broadcast));
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// Asks for every IPv4 route; the answers arrive through [`Rtnl::recv`], ending with
    /// [`Received::Done`].
    pub fn dump_routes(&mut self) -> io::Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        self.send(
            RouteNetlinkMessage::GetRoute(msg),
            NLM_F_REQUEST | NLM_F_DUMP,
        )
    }
}
