//! PIM messages checked on receipt and built for sending, with `dataplane::wire::pim`.

use super::error::RejectReason;
use super::interface::Interface;
use crate::protocols::shared::Datagram;
use dataplane::wire::ipv4;
use dataplane::wire::pim::{self, Hello, Repr, ALL_PIM_ROUTERS};
use std::net::Ipv4Addr;

/// A received message that passed the checks.
#[derive(Debug)]
pub enum Message<'a> {
    /// A Hello.
    Hello(Hello),
    /// Any other message, parsed (a Register's data packet borrowed from the input): counted
    /// by type, not yet processed; the join/prune, register, assert and bootstrap machinery
    /// takes it from here.
    Other(Repr<'a>),
}

/// Checks a received PIM message (`payload`: the IP payload) from `src` to `dst` on `i`:
/// the wire format (version, checksum, type, every field), and for a Hello its destination
/// (ALL-PIM-ROUTERS) and source (a unicast address that is not ours).
pub fn validate<'a>(
    i: &Interface,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &'a [u8],
) -> Result<Message<'a>, RejectReason> {
    let repr = Repr::parse_bytes(payload).map_err(RejectReason::from_wire)?;
    if src == i.address {
        return Err(RejectReason::OwnAddress);
    }
    match repr {
        Repr::Hello(hello) => {
            if dst != ALL_PIM_ROUTERS {
                return Err(RejectReason::BadDestination);
            }
            if ipv4::is_multicast(src)
                || src.is_unspecified()
                || src.is_broadcast()
                || src.is_loopback()
            {
                return Err(RejectReason::BadSource);
            }
            Ok(Message::Hello(hello))
        }
        other => Ok(Message::Other(other)),
    }
}

/// Counts a message other than Hello by its type.
pub fn count_other(i: &mut Interface, msg: &Repr<'_>) {
    let c = &mut i.counters.received;
    match msg.msg_type() {
        pim::TYPE_JOIN_PRUNE => c.join_prune += 1,
        pim::TYPE_REGISTER => c.register += 1,
        pim::TYPE_REGISTER_STOP => c.register_stop += 1,
        pim::TYPE_ASSERT => c.assert += 1,
        pim::TYPE_BOOTSTRAP => c.bootstrap += 1,
        pim::TYPE_CANDIDATE_RP_ADV => c.candidate_rp_adv += 1,
        _ => i.reject(RejectReason::UnknownType),
    }
}

/// `i`'s Hello (a goodbye: holdtime 0).
pub fn hello(i: &Interface, goodbye: bool) -> Datagram {
    link_local(i, Repr::Hello(i.hello(goodbye)).to_bytes())
}

/// A PIM message out of `i` to ALL-PIM-ROUTERS from its address, TTL 1, DSCP CS6.
pub fn link_local(i: &Interface, payload: Vec<u8>) -> Datagram {
    super::tree::types::link_local_datagram(i.id, i.address, payload)
}
