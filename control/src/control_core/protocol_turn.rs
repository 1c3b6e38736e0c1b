//! The protocols' part of a turn, each protocol reached through
//! [`crate::protocols::Protocol`]: the punted frames they consume, their timers, their
//! membership changes into the MGM, their messages out of the ports.

use crate::control_core::data_plane::DataPlane;
use crate::control_core::events::CoreEvent;
use crate::control_core::state::State;
use crate::interface::Interface;
use crate::protocols::shared::{
    Datagram, MembershipEvent, ReceivedPacket, Transmit, ROUTE_CONFIG, ROUTE_CONNECTED,
    ROUTE_KERNEL,
};
use dataplane::wire::{ether, ipv4};
use mgm::{MembershipFlags, ProtocolHandle, Scope};
use std::time::Duration;

/// Control packets taken from the punt rings per turn.
pub const PUNTED_PER_TURN: usize = 64;

/// Takes up to [`PUNTED_PER_TURN`] punted frames, counts them by kind and returns (port,
/// frame) for the protocols: every IGMP frame, and any other a running protocol consumes
/// on the interface it arrived on (`Protocol::consumes`). On a port with a kernel twin, what
/// no protocol takes (but PIM) goes to the twin (`twins.rs`): ARP, unicast to the router,
/// broadcast, OSPF's 224.0.0.5/6; elsewhere the rest is counted and freed.
pub fn drain_punted(
    st: &mut State,
    dp: &mut dyn DataPlane,
    now: Duration,
) -> (usize, Vec<(u16, Vec<u8>)>) {
    let State {
        counters,
        host,
        ports,
        twins,
        ..
    } = st;
    let mut for_protocols = Vec::new();
    let mut to_kernel = Vec::new();
    let taken = dp.drain_punted(PUNTED_PER_TURN, &mut |port, frame| {
        let ip = ether::Frame::new_checked(frame)
            .ok()
            .filter(|f| f.ethertype() == ether::ETHERTYPE_IPV4)
            .and_then(|f| ipv4::Packet::new_checked(f.payload()).ok())
            .map(|ip| (ip.protocol(), ip.dst_u32() >> 8 == 0xe0_00_00));
        let proto = ip.map(|(proto, _)| proto);
        let twin = twins.has_twin(port);
        match ip {
            Some((ipv4::PROTOCOL_IGMP, _)) => counters.punted_igmp += 1,
            Some((ipv4::PROTOCOL_PIM, _)) => counters.punted_pim += 1,
            // Only a port with a twin punts what is not link-local multicast.
            Some((_, false)) | None if twin => counters.punted_exception += 1,
            _ => counters.punted_link_local += 1,
        }
        let wanted = proto.is_some_and(|proto| {
            proto == ipv4::PROTOCOL_IGMP
                || Interface::from_id(ports.interface(port))
                    .is_some_and(|iface| host.protocols.consumes(proto, iface))
        });
        if wanted {
            for_protocols.push((port, frame.to_vec()));
        } else if twin && proto != Some(ipv4::PROTOCOL_PIM) {
            to_kernel.push((port, frame.to_vec()));
        }
    });
    for (port, frame) in to_kernel {
        st.twins.to_kernel(dp, now, port, &frame);
    }
    // Copies of flagged entries' packets (at most PUNTED_PER_TURN a turn; the workers count
    // what their copy rings cannot take): to every protocol, each takes its own (PIM's
    // register path: the entries it flagged).
    let mut copies = Vec::new();
    let n = dp.drain_entry_copies(PUNTED_PER_TURN, &mut |port, frame| {
        let ip = ether::Frame::new_checked(frame)
            .ok()
            .filter(|f| f.ethertype() == ether::ETHERTYPE_IPV4)
            .map(|f| f.payload().to_vec());
        copies.push((port, ip));
    });
    st.counters.entry_copies_received += n as u64;
    let handles: Vec<ProtocolHandle> = st.host.protocols.iter().map(|(h, _)| h).collect();
    for (port, ip) in copies {
        let (Some(iface), Some(ip)) = (Interface::from_id(st.ports.interface(port)), ip) else {
            continue;
        };
        for &h in &handles {
            if let Some(p) = st.host.protocols.by_handle_mut(h) {
                p.handle_entry_copy(now, iface, &ip);
            }
        }
    }
    (taken + n, for_protocols)
}

/// Sends one IGMP message out of its interface's port.
fn send_igmp(st: &mut State, dp: &mut dyn DataPlane, t: &Transmit) {
    let mut frame = Vec::with_capacity(64);
    frame.extend_from_slice(&ether::multicast_mac(t.dst).0);
    frame.extend_from_slice(&[0; 6]); // the port's MAC, set by the data plane
    frame.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(&t.ip_packet());
    // A VLAN interface's frames take its tag.
    let Some((port, frame)) = st.ports.frame_out(t.iface.id(), &frame) else {
        return;
    };
    if dp.send_frame(port, &frame) {
        st.counters.igmp_sent += 1;
    } else {
        st.counters.igmp_send_failed += 1;
    }
}

/// Sends one datagram of a protocol's own: a multicast one out of its interface's port, a
/// unicast one through the kernel (`UnicastOut`, which routes it and resolves the next hop;
/// refused and counted without one).
fn send_datagram(st: &mut State, dp: &mut dyn DataPlane, d: &Datagram) {
    if !d.dst.is_multicast() {
        let sent = st.unicast.as_mut().is_some_and(|u| u.send(d));
        if sent {
            st.counters.unicast_sent += 1;
        } else {
            st.counters.unicast_refused += 1;
            st.counters.datagrams_refused += 1;
        }
        return;
    }
    let Some(frame) = d.frame() else {
        st.counters.datagrams_refused += 1;
        return;
    };
    let Some((port, frame)) = st.ports.frame_out(d.iface.id(), &frame) else {
        st.counters.datagrams_refused += 1;
        return;
    };
    if dp.send_frame(port, &frame) {
        st.counters.datagrams_sent += 1;
    } else {
        st.counters.datagrams_refused += 1;
    }
}

/// Sends a whole IPv4 packet a protocol forwards (a multicast destination: PIM's
/// decapsulated Registers) out of `iface`'s port.
fn send_forward(st: &mut State, dp: &mut dyn DataPlane, iface: Interface, ip: &[u8]) {
    let Some(dst) = ipv4::Packet::new_checked(ip)
        .ok()
        .map(|p| p.dst_addr())
        .filter(|d| d.is_multicast())
    else {
        st.counters.forwards_refused += 1;
        return;
    };
    let mut frame = Vec::with_capacity(14 + ip.len());
    frame.extend_from_slice(&ether::multicast_mac(dst).0);
    frame.extend_from_slice(&[0; 6]); // the port's MAC, set by the data plane
    frame.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(ip);
    let Some((port, frame)) = st.ports.frame_out(iface.id(), &frame) else {
        st.counters.forwards_refused += 1;
        return;
    };
    if dp.send_frame(port, &frame) {
        st.counters.forwards_sent += 1;
    } else {
        st.counters.forwards_refused += 1;
    }
}

/// A protocol's packets to forward and the entries whose flags it changed: the packets go
/// out, the entries' routes are built again and published.
fn forwards_and_refreshes(
    st: &mut State,
    dp: &mut dyn DataPlane,
    now: Duration,
    handle: ProtocolHandle,
) {
    let Some(p) = st.host.protocols.by_handle_mut(handle) else {
        return;
    };
    let forwards: Vec<(Interface, Vec<u8>)> = std::iter::from_fn(|| p.poll_forward()).collect();
    let refresh: std::collections::HashSet<(std::net::Ipv4Addr, std::net::Ipv4Addr)> =
        std::iter::from_fn(|| p.poll_entry_refresh()).collect();
    for (iface, ip) in forwards {
        send_forward(st, dp, iface, &ip);
    }
    if !refresh.is_empty() {
        let n = crate::control_core::fib_sync::refresh_entries(st, dp, now, |m| {
            refresh.contains(&(m.source, m.group))
        });
        if n > 0 {
            dp.publish();
            st.counters.publishes += 1;
            st.counters.entry_flag_refreshes += n as u64;
        }
    }
}

/// The protocols' part of a turn:
/// 1. every received control packet goes to the first protocol, in registration order,
///    that consumes it (the proxy takes IGMP on its upstream interface, IGMP the rest);
/// 2. each protocol fires its due timers, and its membership changes go into the MGM (as
///    the protocol) and its messages out of their ports;
/// 3. each takes in the alerts the MGM calls of this turn delivered (the proxy's join and
///    prune alerts from IGMP's memberships), fires what is then due, and sends.
pub fn run_protocols(
    st: &mut State,
    dp: &mut dyn DataPlane,
    now: Duration,
    received: Vec<(u16, Vec<u8>)>,
) {
    for (port, frame) in received {
        let Some(iface) = Interface::from_id(st.ports.interface(port)) else {
            continue;
        };
        let Ok(eth) = ether::Frame::new_checked(frame.as_slice()) else {
            continue;
        };
        let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
            continue;
        };
        let packet = ReceivedPacket {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            protocol: ip.protocol(),
            ttl: ip.ttl(),
            router_alert: ip.has_router_alert(),
            payload: ip.payload(),
        };
        if let Some(p) = st.host.protocols.consumer_mut(packet.protocol, iface) {
            p.handle_packet(now, iface, &packet);
        }
    }
    let handles: Vec<ProtocolHandle> = st.host.protocols.iter().map(|(h, _)| h).collect();
    for &handle in &handles {
        let Some(p) = st.host.protocols.by_handle_mut(handle) else {
            continue;
        };
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.handle_timeout(now);
        }
        answer_rpf(st, now, handle, false);
        let Some(p) = st.host.protocols.by_handle_mut(handle) else {
            continue;
        };
        // Taken out first: the MGM calls below borrow the host the protocol lives in.
        let events: Vec<MembershipEvent> = std::iter::from_fn(|| p.poll_event()).collect();
        let out: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit()).collect();
        let datagrams: Vec<Datagram> = std::iter::from_fn(|| p.poll_datagram()).collect();
        let name = p.name();
        let logs: Vec<String> = std::iter::from_fn(|| p.poll_log()).collect();
        let refresh: Vec<_> = std::iter::from_fn(|| p.poll_revalidate()).collect();
        memberships(st, now, handle, events);
        revalidate(st, now, refresh);
        for t in out {
            send_igmp(st, dp, &t);
        }
        for d in datagrams {
            send_datagram(st, dp, &d);
        }
        forwards_and_refreshes(st, dp, now, handle);
        st.events.extend(
            logs.into_iter()
                .map(|message| CoreEvent::Protocol { name, message }),
        );
    }
    for &handle in &handles {
        let Some(p) = st.host.protocols.by_handle_mut(handle) else {
            continue;
        };
        p.handle_alerts(now);
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.handle_timeout(now);
        }
        answer_rpf(st, now, handle, false);
        let Some(p) = st.host.protocols.by_handle_mut(handle) else {
            continue;
        };
        // A routing protocol's outgoing interfaces that its alerts changed (PIM's, from
        // IGMP's local joins) go into the MGM in the same turn.
        let events: Vec<MembershipEvent> = std::iter::from_fn(|| p.poll_event()).collect();
        let out: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit()).collect();
        let datagrams: Vec<Datagram> = std::iter::from_fn(|| p.poll_datagram()).collect();
        let refresh: Vec<_> = std::iter::from_fn(|| p.poll_revalidate()).collect();
        memberships(st, now, handle, events);
        revalidate(st, now, refresh);
        for t in out {
            send_igmp(st, dp, &t);
        }
        for d in datagrams {
            send_datagram(st, dp, &d);
        }
        forwards_and_refreshes(st, dp, now, handle);
    }
}

/// Builds the entries a protocol named again (`Protocol::poll_revalidate`): one (S,G), or
/// every entry of the group for `None`. An entry that does not exist is nothing to do.
fn revalidate(
    st: &mut State,
    now: Duration,
    entries: Vec<(Option<std::net::Ipv4Addr>, std::net::Ipv4Addr)>,
) {
    for (source, group) in entries {
        let sources: Vec<std::net::Ipv4Addr> = match source {
            Some(s) => vec![s],
            None => st
                .mgm
                .mfes(now)
                .filter(|m| m.group == group)
                .map(|m| m.source)
                .collect(),
        };
        for s in sources {
            if st.mgm.revalidate(now, &mut st.host, s, group).is_ok() {
                st.counters.protocol_revalidations += 1;
            }
        }
    }
}

/// Answers protocol `handle`'s RPF questions from the router's RIB (`RouterHost::rpf_lookup`:
/// connected subnets, `rpf_routes`, the kernel's routes): the new ones it asks, or with `all`
/// every address it follows (the routes changed).
fn answer_rpf(st: &mut State, now: Duration, handle: ProtocolHandle, all: bool) {
    let Some(p) = st.host.protocols.by_handle_mut(handle) else {
        return;
    };
    let mut asked: Vec<std::net::Ipv4Addr> = std::iter::from_fn(|| p.poll_rpf_query()).collect();
    if all {
        asked.extend(p.rpf_tracked());
    }
    if asked.is_empty() {
        return;
    }
    // Each route says where it came from (PIM's assert metric preference reads it).
    let answers: Vec<_> = asked
        .into_iter()
        .map(|a| {
            let route = st.host.rpf_with_origin(a).map(|(mut r, kernel)| {
                r.route.protocol = if kernel {
                    ROUTE_KERNEL
                } else if r.upstream.is_unspecified() {
                    ROUTE_CONNECTED
                } else {
                    ROUTE_CONFIG
                };
                r
            });
            (a, route)
        })
        .collect();
    if let Some(p) = st.host.protocols.by_handle_mut(handle) {
        p.handle_rpf(now, &answers);
    }
}

/// The routes changed (the kernel's, or a reload's): every protocol's followed addresses are
/// answered again; what that changes goes out in the protocols' next turn.
pub fn refresh_rpf(st: &mut State, now: Duration) {
    let handles: Vec<ProtocolHandle> = st.host.protocols.iter().map(|(h, _)| h).collect();
    for handle in handles {
        answer_rpf(st, now, handle, true);
    }
}

/// The protocols' earliest deadline.
pub fn protocols_timeout(st: &State) -> Option<Duration> {
    st.host
        .protocols
        .iter()
        .filter_map(|(_, p)| p.poll_timeout())
        .min()
}

/// A protocol's membership changes into the MGM, as the protocol `handle`: IGMP's local
/// membership counted as IGMP joins and leaves, a routing protocol's (PIM's outgoing
/// interfaces) as routing joins and leaves.
fn memberships(
    st: &mut State,
    now: Duration,
    handle: ProtocolHandle,
    events: Vec<MembershipEvent>,
) {
    for event in events {
        let (join, iface, source, group) = match event {
            MembershipEvent::Join {
                iface,
                source,
                group,
            } => (true, iface, source, group),
            MembershipEvent::Leave {
                iface,
                source,
                group,
            } => (false, iface, source, group),
        };
        let scope = match source {
            Some(s) => Scope::source_group(s, group),
            None => Scope::any_source(group),
        };
        let igmp = st.mgm.is_igmp(handle);
        let Ok(scope) = scope else {
            if igmp {
                st.counters.igmp_membership_errors += 1;
            } else {
                st.counters.routing_membership_errors += 1;
            }
            continue;
        };
        let id = iface.id();
        let result = if join {
            st.mgm
                .add_group_membership(now, &mut st.host, handle, scope, id, MembershipFlags::JOIN)
        } else {
            st.mgm.delete_group_membership(
                now,
                &mut st.host,
                handle,
                scope,
                id,
                MembershipFlags::JOIN,
            )
        };
        let c = &mut st.counters;
        *match (result, igmp) {
            (Ok(()), true) if join => &mut c.igmp_joins,
            (Ok(()), true) => &mut c.igmp_leaves,
            (Err(_), true) => &mut c.igmp_membership_errors,
            (Ok(()), false) if join => &mut c.routing_joins,
            (Ok(()), false) => &mut c.routing_leaves,
            (Err(_), false) => &mut c.routing_membership_errors,
        } += 1;
    }
}
