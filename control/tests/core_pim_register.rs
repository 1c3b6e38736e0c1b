//! PIM's register path (RFC 7761 4.4) in the router, on the fake data plane with the real MGM
//! and IGMP and a virtual clock; unicast PIM out is recorded where the daemon hands it to the
//! kernel (`UnicastOut`).
//!
//! First-hop DR (4.4.1), one test per row of the register state machine: data from a
//! directly connected source where we are DR starts Join (the entry flagged
//! `COPY_TO_CONTROL`, each copy a Register to the RP); Register-Stop in Join -> Prune (the flag
//! cleared); the Register-Stop Timer in Prune -> JoinPending with a Null-Register; in
//! JoinPending, no Register-Stop -> Join, a Register-Stop -> Prune; CouldRegister false
//! (not DR, SSM, not directly connected, we are the RP) -> no state; RP(G) changed on a
//! reload -> Join toward the new RP (and no state once the RP is us); no data for
//! Keepalive_Period in Join -> NoInfo. RP (4.4.2): a Register with no receivers gets a
//! Register-Stop; with a member it is decapsulated and forwarded, (S,G) is joined toward the
//! source, and the native data makes the RP send Register-Stop; a Register for a group we are
//! not RP of gets a Register-Stop; malformed Registers and Register-Stops are counted, and
//! 3,000 random ones (with random data copies) are counted without a panic.

mod core_support;

use control::control_core::UnicastOut;
use control::protocols::pim::{Pim, RegisterState};
use control::protocols::shared::Datagram;
use core_support::*;
use dataplane::fib::EntryFlags;
use dataplane::wire::igmp::Repr as Igmp;
use dataplane::wire::pim::{EncodedGroup, Hello, Register, RegisterStop, Repr, ALL_PIM_ROUTERS};
use dataplane::wire::{ether, ipv4};
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

/// The unicast datagrams the core handed to the kernel, in order.
#[derive(Clone, Default)]
struct Kernel(Rc<RefCell<Vec<Datagram>>>);

impl UnicastOut for Kernel {
    fn send(&mut self, d: &Datagram) -> bool {
        self.0.borrow_mut().push(d.clone());
        true
    }
}

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 5);
const G: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const RP: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const OURS_IF2: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 1);

/// if1 10.0.2.1/24: PIM (we are DR, no neighbour) and IGMP, the source's link; if2
/// 10.0.3.1/24: PIM toward 10.0.3.2; the RP of 239/8 is `rp`.
fn text(rp: Ipv4Addr) -> String {
    three_ports(
        ", pim: { hello_interval: 2 }, igmp: { version: 2 }",
        &format!("pim:\n  rp:\n    - {{ address: {rp}, groups: 239.0.0.0/8 }}"),
    )
    .replace(
        "address: 10.0.3.1/24 }",
        "address: 10.0.3.1/24, pim: { hello_interval: 2 } }",
    )
}

struct T {
    r: Router,
    kernel: Kernel,
}

impl T {
    fn new(rp: Ipv4Addr) -> T {
        let mut r = Router::new(&text(rp));
        let kernel = Kernel::default();
        r.core.set_unicast_out(Box::new(kernel.clone()));
        let mut t = T { r, kernel };
        t.advance(secs(1));
        t
    }

    fn advance(&mut self, d: Duration) {
        self.r.advance(d);
    }

    fn input(&mut self) {
        self.r.input();
    }

    /// A mark in the kernel's record: what is sent from now on comes after it.
    fn mark(&self) -> usize {
        self.kernel.0.borrow().len()
    }

    /// Steps one second at a time (at most `max`) while the register state is `state`;
    /// returns the time that took.
    fn wait_while(&mut self, state: RegisterState, max: Duration) -> Duration {
        let start = self.r.now;
        while self.state() == Some(state) && self.r.now - start < max {
            self.advance(ms(250));
        }
        self.r.now - start
    }

    fn pim(&self) -> &Pim {
        self.r.core.protocols().get::<Pim>().unwrap()
    }

    fn state(&self) -> Option<RegisterState> {
        self.pim().registers().dr.get(&(S, G)).map(|e| e.state)
    }

    fn flags(&self) -> Option<EntryFlags> {
        self.r.dp.entry(S, G).map(|e| e.flags)
    }

    fn copying(&self) -> bool {
        self.flags()
            .is_some_and(|f| f.contains(EntryFlags::COPY_TO_CONTROL))
    }

    /// The unicast PIM messages sent since `since`, parsed: (destination, message bytes).
    fn unicast(&self, since: usize) -> Vec<(Ipv4Addr, Vec<u8>)> {
        self.kernel.0.borrow()[since..]
            .iter()
            .map(|d| {
                assert_eq!(d.protocol, ipv4::PROTOCOL_PIM);
                (d.dst, d.payload.clone())
            })
            .collect()
    }

    fn registers(&self, since: usize) -> Vec<(Ipv4Addr, bool, Vec<u8>)> {
        self.unicast(since)
            .into_iter()
            .filter_map(|(dst, bytes)| match Repr::parse_bytes(&bytes).unwrap() {
                Repr::Register(r) => Some((dst, r.null, r.packet.to_vec())),
                _ => None,
            })
            .collect()
    }

    fn register_stops(&self, since: usize) -> Vec<(Ipv4Addr, RegisterStop)> {
        self.unicast(since)
            .into_iter()
            .filter_map(|(dst, bytes)| match Repr::parse_bytes(&bytes).unwrap() {
                Repr::RegisterStop(r) => Some((dst, r)),
                _ => None,
            })
            .collect()
    }

    /// A PIM message from `src` to `dst` punted on `port`.
    fn pim_in(&mut self, port: u16, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        let ip = ip_packet(src, dst, ipv4::PROTOCOL_PIM, 64, payload);
        self.r.dp.punted.push_back((port, frame(dst, &ip)));
        self.input();
    }

    fn register_stop_from_rp(&mut self) {
        let stop = RegisterStop {
            group: EncodedGroup::host(G),
            source: S,
        };
        self.pim_in(2, RP, OURS_IF2, &Repr::RegisterStop(stop).to_bytes());
    }

    /// The first packet of (S,G): a miss on if1's port (the entry is made), then its copies.
    fn first_packet(&mut self) {
        self.r.miss(S, G, 1);
        self.input();
    }

    fn copy(&mut self, seq: u8) -> Vec<u8> {
        let ip = data(S, G, seq);
        self.r.dp.entry_copies.push_back((1, frame(G, &ip)));
        self.input();
        ip
    }
}

/// An IPv4 packet.
fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; ipv4::HEADER_LEN + payload.len()];
    ipv4::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: payload.len(),
        ttl,
        dscp_ecn: 0,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
    ip[ipv4::HEADER_LEN..].copy_from_slice(payload);
    ip
}

/// A UDP-ish data packet of (S,G) numbered `seq`.
fn data(s: Ipv4Addr, g: Ipv4Addr, seq: u8) -> Vec<u8> {
    ip_packet(
        s,
        g,
        ipv4::PROTOCOL_UDP,
        8,
        &[0, 1, 0, 2, 0, 12, 0, 0, seq, seq, seq, seq],
    )
}

fn frame(dst: Ipv4Addr, ip: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    if dst.is_multicast() {
        f.extend_from_slice(&ether::multicast_mac(dst).0);
    } else {
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    }
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    f.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

fn hello_from(t: &mut T, port: u16, src: Ipv4Addr, dr_priority: Option<u32>) {
    let h = Hello {
        holdtime: Some(105),
        generation_id: Some(9),
        dr_priority,
        ..Hello::default()
    };
    t.pim_in(port, src, ALL_PIM_ROUTERS, &Repr::Hello(h).to_bytes());
}

/// NoInfo -> Join (CouldRegister -> true): the entry is flagged, each copy goes to the RP
/// in a Register whose inner packet is the data packet, with the header-only checksum.
#[test]
fn data_from_a_connected_source_is_registered_to_the_rp() {
    let mut t = T::new(RP);
    let since = t.mark();
    t.first_packet();
    assert_eq!(t.state(), Some(RegisterState::Join));
    assert!(t.copying(), "COPY_TO_CONTROL in Join: {:?}", t.flags());
    let sent = t.copy(1);
    let regs = t.registers(since);
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!((regs[0].0, regs[0].1), (RP, false));
    assert_eq!(regs[0].2, sent, "the data packet as it arrived");
    // The checksum covers the 8-byte header only: the parser checks it that way.
    let (_, bytes) = &t.unicast(since)[0];
    assert!(bytes.len() > 8 + ipv4::HEADER_LEN);
    let c = t.pim().registers().counters;
    assert_eq!((c.registers_sent, c.copies_not_join), (1, 0));
    // The show view.
    let v = t.pim().register_view(t.r.now);
    assert_eq!(v.dr.len(), 1);
    assert_eq!((v.dr[0].source, v.dr[0].group, v.dr[0].rp), (S, G, RP));
    assert_eq!(v.dr[0].state, RegisterState::Join);
}

/// The entry a new source's first packet makes is flagged in its very first publication, so
/// the packets the workers held while it was made are copied (registered) too; before, Join
/// waited for the core's next turn and the entry went out once without the flag.
#[test]
fn the_first_publication_of_a_registering_entry_is_already_flagged() {
    let mut t = T::new(RP);
    let before = t.r.dp.publications.len();
    t.first_packet();
    let first = t.r.dp.publications[before..]
        .iter()
        .flat_map(|(_, changes)| changes)
        .find_map(|c| match c {
            Change::Insert((Some(s), g), route) if *s == S && *g == G => Some(route.flags),
            _ => None,
        })
        .expect("the (S,G) entry was published");
    assert!(
        first.contains(EntryFlags::COPY_TO_CONTROL),
        "first publication's flags: {first:?}"
    );
}

/// Join -> Prune on Register-Stop: the flag goes, late copies are counted, not sent; the
/// Register-Stop Timer runs out between 0.5 and 1.5 Register_Suppression_Time less the
/// probe time (25 to 85 s); Prune -> JoinPending with a Null-Register; JoinPending -> Join
/// after Register_Probe_Time without a Register-Stop (the flag comes back).
#[test]
fn register_stop_prunes_then_a_null_register_probes_and_join_returns() {
    let mut t = T::new(RP);
    t.first_packet();
    t.copy(1);
    t.register_stop_from_rp();
    assert_eq!(t.state(), Some(RegisterState::Prune));
    assert!(!t.copying(), "flag cleared in Prune: {:?}", t.flags());
    let since = t.mark();
    t.copy(2);
    assert!(
        t.registers(since).is_empty(),
        "nothing encapsulated in Prune"
    );
    assert_eq!(t.pim().registers().counters.copies_not_join, 1);
    assert_eq!(t.pim().registers().counters.register_stops_received, 1);

    let waited = t.wait_while(RegisterState::Prune, secs(100));
    assert!(
        waited >= secs(25) && waited <= secs(85) + ms(250),
        "Register-Stop Timer {waited:?}"
    );
    assert_eq!(t.state(), Some(RegisterState::JoinPending));
    let regs = t.registers(since);
    assert_eq!(regs.len(), 1, "one Null-Register: {regs:?}");
    let (dst, null, inner) = &regs[0];
    assert_eq!((*dst, *null), (RP, true));
    let p = ipv4::Packet::new_checked(&inner[..]).unwrap();
    assert_eq!(
        (p.src_addr(), p.dst_addr()),
        (S, G),
        "its header names (S,G)"
    );
    assert!(!t.copying(), "nothing encapsulated in JoinPending");
    // Register_Probe_Time (5 s) with no Register-Stop: Join.
    let waited = t.wait_while(RegisterState::JoinPending, secs(10));
    assert!(
        waited >= secs(5) - ms(250) && waited <= secs(5) + ms(250),
        "{waited:?}"
    );
    assert_eq!(t.state(), Some(RegisterState::Join));
    assert!(t.copying());
    let since = t.mark();
    t.copy(3);
    assert_eq!(t.registers(since).len(), 1);
    assert_eq!(t.pim().registers().counters.null_registers_sent, 1);
}

/// JoinPending + Register-Stop -> Prune (the RP still has the SPT); a wildcard Register-Stop
/// for a group without state is counted.
#[test]
fn a_register_stop_answering_the_null_register_keeps_prune() {
    let mut t = T::new(RP);
    t.first_packet();
    t.register_stop_from_rp();
    t.wait_while(RegisterState::Prune, secs(100));
    assert_eq!(t.state(), Some(RegisterState::JoinPending));
    t.register_stop_from_rp();
    assert_eq!(t.state(), Some(RegisterState::Prune));
    t.advance(secs(6));
    assert_eq!(
        t.state(),
        Some(RegisterState::Prune),
        "no Join after the probe time"
    );
    assert!(!t.copying());
    let stop = RegisterStop {
        group: EncodedGroup::host(ip("239.9.9.9")),
        source: Ipv4Addr::UNSPECIFIED,
    };
    t.pim_in(2, RP, OURS_IF2, &Repr::RegisterStop(stop).to_bytes());
    assert_eq!(t.pim().registers().counters.register_stops_no_state, 1);
}

/// Join with no data for Keepalive_Period (210 s): NoInfo, the flag goes.
#[test]
fn the_register_state_goes_when_the_source_stops() {
    let mut t = T::new(RP);
    t.first_packet();
    t.advance(secs(200));
    t.copy(1);
    t.advance(secs(200));
    assert_eq!(t.state(), Some(RegisterState::Join), "the copy kept it");
    t.advance(secs(11));
    assert_eq!(t.state(), None);
    assert!(!t.copying());
}

/// CouldRegister false: not the DR (a neighbour with a higher priority on the source's link),
/// an SSM group, a source that is not on the interface's subnet, or we are the RP.
#[test]
fn no_register_state_unless_could_register() {
    // SSM.
    let mut t = T::new(RP);
    t.r.miss(S, ip("232.1.1.1"), 1);
    t.input();
    assert!(t.pim().registers().dr.is_empty());
    // Not directly connected (arrives on if2 from a remote source).
    t.r.miss(ip("10.9.9.9"), G, 2);
    t.input();
    assert!(t.pim().registers().dr.is_empty());

    // We are the RP.
    let mut t = T::new(OURS_IF2);
    t.first_packet();
    assert!(t.pim().registers().dr.is_empty());

    // Another router is DR on the source's link.
    let mut t = T::new(RP);
    hello_from(&mut t, 1, ip("10.0.2.9"), Some(100));
    assert!(!t.pim().interface(iface(1)).unwrap().is_dr());
    t.first_packet();
    assert!(t.pim().registers().dr.is_empty());
}

/// Join, then we stop being DR (CouldRegister -> false): NoInfo and the flag goes.
#[test]
fn losing_the_dr_role_ends_register_state() {
    let mut t = T::new(RP);
    t.first_packet();
    assert!(t.copying());
    hello_from(&mut t, 1, ip("10.0.2.9"), Some(100));
    t.advance(ms(100));
    assert_eq!(t.state(), None);
    assert!(!t.copying());
}

fn iface(i: usize) -> control::interface::Interface {
    control::interface::Interface::from_config_index(i)
}

/// A Register from the DR 10.0.3.2 (a PIM neighbour on if2) to us, the RP.
fn register(inner: &[u8], null: bool) -> Vec<u8> {
    Repr::Register(Register {
        border: false,
        null,
        packet: inner,
    })
    .to_bytes()
}

const DR: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const REMOTE_S: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 5);

/// The RP config: we (10.0.3.1) are the RP of 239/8; sources of 10.9/16 are behind 10.0.3.2.
fn rp_router() -> T {
    let text = text(OURS_IF2).replace(
        "pim:\n  rp:",
        "rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2, next_hop: 10.0.3.2 }\npim:\n  rp:",
    );
    let mut r = Router::new(&text);
    let kernel = Kernel::default();
    r.core.set_unicast_out(Box::new(kernel.clone()));
    let mut t = T { r, kernel };
    t.advance(secs(1));
    hello_from(&mut t, 2, DR, None);
    t
}

/// The frames the core sent on `port` since `since` whose IP destination is `g`.
fn data_out(t: &T, port: u16, g: Ipv4Addr, since: Duration) -> Vec<Vec<u8>> {
    t.r.dp
        .sent
        .iter()
        .filter(|(at, p, _)| *p == port && *at >= since)
        .filter_map(|(_, _, f)| {
            let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
            let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
            (ip.dst_addr() == g).then(|| eth.payload().to_vec())
        })
        .collect()
}

/// RP, no receivers: Register-Stop at once (SwitchToSptDesired and an empty olist), nothing
/// forwarded; a Null-Register too.
#[test]
fn the_rp_without_receivers_answers_register_stop() {
    let mut t = rp_router();
    let since = t.mark();
    t.pim_in(2, DR, OURS_IF2, &register(&data(REMOTE_S, G, 1), false));
    let stops = t.register_stops(since);
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0].0, DR);
    assert_eq!((stops[0].1.group.addr, stops[0].1.source), (G, REMOTE_S));
    let c = t.pim().registers().counters;
    assert_eq!((c.registers_received, c.register_stops_sent), (1, 1));
    assert_eq!((c.decapsulated, c.dropped_no_olist), (0, 1));
    t.pim_in(
        2,
        DR,
        OURS_IF2,
        &register(&data(REMOTE_S, G, 0)[..20], true),
    );
    assert_eq!(t.register_stops(since).len(), 2);
    assert_eq!(t.pim().registers().counters.null_registers_received, 1);
}

/// RP with a member on if1: the Register's packet goes out of if1 (TTL one less), (S,G) is
/// joined toward the source (a Join to 10.0.3.2 on if2); when the data arrives natively on
/// if2 (the SPT), a Register-Stop goes to the DR, and later Registers are answered with one
/// and not forwarded.
#[test]
fn the_rp_decapsulates_joins_the_source_and_stops_registers_on_the_spt() {
    let mut t = rp_router();
    t.r.igmp_from_host(1, ip("10.0.2.9"), G, Igmp::ReportV2 { group: G });
    t.input();
    t.advance(ms(100));
    let since = t.r.now;
    let mark = t.mark();
    let inner = data(REMOTE_S, G, 1);
    t.pim_in(2, DR, OURS_IF2, &register(&inner, false));
    let out = data_out(&t, 1, G, since);
    assert_eq!(out.len(), 1, "decapsulated out of if1");
    let p = ipv4::Packet::new_checked(&out[0][..]).unwrap();
    assert_eq!(p.ttl(), 7, "TTL decremented");
    assert!(p.verify_checksum(), "header checksum redone");
    assert_eq!(&out[0][20..], &inner[20..], "same payload");
    assert!(
        t.register_stops(mark).is_empty(),
        "no stop while forwarding"
    );
    // The (S,G) Join toward the source, on if2.
    t.advance(ms(100));
    let joins: Vec<_> =
        t.r.dp
            .sent
            .iter()
            .filter(|(at, p, _)| *p == 2 && *at >= since)
            .filter_map(|(_, _, f)| {
                let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
                let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
                match Repr::parse_bytes(ip.payload()).ok()? {
                    Repr::JoinPrune(jp) => Some(jp),
                    _ => None,
                }
            })
            .collect();
    assert!(
        joins.iter().any(|jp| jp.upstream_neighbor == DR
            && jp
                .groups
                .iter()
                .any(|g| g.group.addr == G && g.joins.iter().any(|s| s.addr == REMOTE_S))),
        "Join(S,G) to the DR: {joins:?}"
    );
    // The data arrives natively on if2: SPTbit, Register-Stop to the DR.
    let mark = t.mark();
    t.r.miss(REMOTE_S, G, 2);
    t.input();
    let stops = t.register_stops(mark);
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0].0, DR);
    // A Register after that: a Register-Stop, not forwarded.
    t.advance(ms(10));
    let since = t.r.now;
    let mark = t.mark();
    t.pim_in(2, DR, OURS_IF2, &register(&data(REMOTE_S, G, 2), false));
    assert_eq!(t.register_stops(mark).len(), 1);
    assert!(data_out(&t, 1, G, since).is_empty());
    let c = t.pim().registers().counters;
    assert_eq!((c.decapsulated, c.dropped_spt), (1, 1));
    let v = t.pim().register_view(t.r.now);
    assert_eq!(v.rp.len(), 1);
    assert!(v.rp[0].spt);
    assert_eq!(v.rp[0].from, vec![DR]);
}

/// A Register for a group whose RP is not us: Register-Stop back, counted.
#[test]
fn a_register_to_a_router_that_is_not_the_rp_gets_a_register_stop() {
    let mut t = T::new(RP);
    hello_from(&mut t, 2, DR, None);
    let since = t.mark();
    t.pim_in(2, DR, OURS_IF2, &register(&data(REMOTE_S, G, 1), false));
    assert_eq!(t.register_stops(since).len(), 1);
    assert_eq!(t.pim().registers().counters.dropped_not_rp, 1);
}

/// Malformed: an inner packet that is not IPv4, a unicast inner destination, a truncated
/// Register-Stop: counted, no state, no panic.
#[test]
fn malformed_registers_and_register_stops_are_counted() {
    let mut t = rp_router();
    t.pim_in(2, DR, OURS_IF2, &register(&[0x60; 40], false));
    t.pim_in(2, DR, OURS_IF2, &register(&[0x45; 10], false));
    t.pim_in(
        2,
        DR,
        OURS_IF2,
        &register(&data(REMOTE_S, ip("10.1.1.1"), 1), false),
    );
    assert_eq!(t.pim().registers().counters.dropped_malformed, 3);
    let stop = Repr::RegisterStop(RegisterStop {
        group: EncodedGroup::host(G),
        source: S,
    })
    .to_bytes();
    let before = t.pim().registers().counters.register_stops_received;
    let mut short = stop[..stop.len() - 3].to_vec();
    // Keep the header checksum right for the shorter message.
    short[2] = 0;
    short[3] = 0;
    let sum = ipv4::checksum(&short);
    short[2..4].copy_from_slice(&sum.to_be_bytes());
    t.pim_in(2, DR, OURS_IF2, &short);
    assert_eq!(t.pim().registers().counters.register_stops_received, before);
    assert!(t.pim().registers().rp.is_empty());
}

/// Hostile input: 3,000 random Registers (inner packets that look like IPv4 multicast half of
/// the time, with random lengths, TTLs and header lengths), random Register-Stop bodies and
/// random data copies, at the RP with a receiver: every one is counted, none panics, and the
/// state stays bounded.
#[test]
fn random_registers_register_stops_and_copies_never_panic() {
    let mut t = rp_router();
    t.r.igmp_from_host(1, ip("10.0.2.9"), G, Igmp::ReportV2 { group: G });
    t.input();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..3000u32 {
        let len = (next() % 80) as usize;
        let mut inner: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && len >= 20 {
            // An IPv4 header (any header length, total length, TTL) for G half of the time.
            inner[0] = if next() % 2 == 0 {
                0x45
            } else {
                0x40 | (next() % 16) as u8
            };
            inner[16..20].copy_from_slice(&G.octets());
            if next() % 2 == 0 {
                // Its total length right (a forwardable packet, if the TTL allows).
                inner[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                inner[12] = 10;
            }
        }
        let mut reg = register(&inner, next() % 4 == 0);
        if i % 3 == 0 && i % 2 == 0 {
            // A Register-Stop for a random (S,G) of 239/8.
            let o = next().to_be_bytes();
            reg = Repr::RegisterStop(RegisterStop {
                group: EncodedGroup::host(Ipv4Addr::new(239, o[0], o[1], o[2])),
                source: Ipv4Addr::new(o[3], o[4], o[5], o[6]),
            })
            .to_bytes();
        } else if i % 3 == 0 {
            // Any Register-Stop body (its checksum right, so it reaches the parser).
            reg = vec![0x29, 0, 0, 0];
            reg.extend((0..(next() % 24)).map(|_| next() as u8));
            let sum = ipv4::checksum(&reg);
            reg[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        t.r.dp
            .punted
            .push_back((2, frame(OURS_IF2, &ip_packet(DR, OURS_IF2, 103, 64, &reg))));
        let copy: Vec<u8> = (0..(next() % 60)).map(|_| next() as u8).collect();
        t.r.dp.entry_copies.push_back((1, frame(G, &copy)));
        if i % 50 == 0 {
            t.input();
        }
    }
    for _ in 0..100 {
        t.input();
    }
    let c = t.pim().registers().counters;
    assert_eq!(c.registers_received, 2000, "{c:?}");
    assert!(c.dropped_malformed > 0 && c.decapsulated > 0, "{c:?}");
    // The well-formed Register-Stops (none has state here); the others are refused by the
    // wire checks (counted on the interface).
    assert_eq!(c.register_stops_received, 500, "{c:?}");
    assert_eq!(c.register_stops_no_state, 500, "{c:?}");
    assert!(c.copies_malformed + c.copies_not_join == 3000, "{c:?}");
    assert!(t.pim().registers().rp.len() <= 2000);
    let sent = t.r.dp.sent.len();
    assert!(sent > 0, "decapsulated packets went out");
}

/// RP(G) changed (a reload names another RP): Join toward the new RP, from Prune as from
/// Join; the RP becoming this router ends the state (CouldRegister false).
#[test]
fn a_new_rp_restarts_registering_toward_it() {
    let mut t = T::new(RP);
    t.first_packet();
    t.register_stop_from_rp();
    assert_eq!(t.state(), Some(RegisterState::Prune));
    let other = ip("10.0.3.9");
    let new = control::config::parse(&text(other), "core-test.yaml").unwrap();
    let old = t.r.cfg.clone();
    t.r.core.reload(t.r.now, &old, &new, &mut t.r.dp).unwrap();
    t.r.cfg = new;
    t.input();
    assert_eq!(t.state(), Some(RegisterState::Join));
    assert!(t.copying());
    let since = t.mark();
    t.copy(1);
    let regs = t.registers(since);
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].0, other, "to the new RP");

    let new = control::config::parse(&text(OURS_IF2), "core-test.yaml").unwrap();
    let old = t.r.cfg.clone();
    t.r.core.reload(t.r.now, &old, &new, &mut t.r.dp).unwrap();
    t.input();
    assert_eq!(t.state(), None, "we are the RP now");
    assert!(!t.copying());
}
