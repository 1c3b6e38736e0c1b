//! The kernel twins and the kernel's routes on the control core, without DPDK or a kernel: the
//! fake data plane records the taps, and a route source of the test's own stands for the
//! kernel's table (the end-to-end tests with real taps, `ip route` and FRR are `e2e_twin.rs`,
//! `e2e_rpf_kernel.rs` and `e2e_frr_ospf.rs`).

mod core_support;

use control::control_core::{
    KernelRibCounters, KernelRoutes, TwinPlan, FROM_KERNEL_PER_TURN, TWIN_BURST,
};
use core_support::*;
use dataplane::wire::{build_udp_frame, ether, EthernetAddress};
use mgm::{InterfaceId, MulticastRib, RpfLookup, RpfRoute};
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// The test's kernel table: routes it sets, and the prefixes it says changed.
#[derive(Default)]
struct Table {
    rib: MulticastRib,
    changed: Vec<(Ipv4Addr, u8)>,
}

struct FakeRoutes(Rc<RefCell<Table>>);

impl KernelRoutes for FakeRoutes {
    fn poll(&mut self) -> Vec<(Ipv4Addr, u8)> {
        std::mem::take(&mut self.0.borrow_mut().changed)
    }

    fn lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.0.borrow().rib.rpf_lookup(source)
    }

    fn counters(&self) -> KernelRibCounters {
        KernelRibCounters::default()
    }
}

fn plan(iface: usize, tap: usize) -> TwinPlan {
    TwinPlan {
        iface,
        port: iface as u16,
        name: format!("if{iface}"),
        tap,
        ifindex: 100 + iface as u32,
    }
}

/// if0 and if1 with twins (taps 0 and 1), if2 without; the kernel's routes from `table`;
/// members of 239.1.1.1 on if1.
fn router(table: &Rc<RefCell<Table>>) -> Router {
    // IGMP's static join on if1 is the membership (a static route's incoming interface would
    // override RPF).
    let mut r = Router::new(&three_ports(
        ", igmp: { static_joins: [ { group: 239.1.1.1 } ] }",
        "",
    ));
    r.dp.add_tap_for_test("if0");
    r.dp.add_tap_for_test("if1");
    let now = r.now;
    r.core.start_twins(
        now,
        vec![plan(0, 0), plan(1, 1)],
        Some(Box::new(FakeRoutes(Rc::clone(table)))),
        &mut r.dp,
    );
    r
}

fn arp_broadcast() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    f.extend_from_slice(&ether::ETHERTYPE_ARP.to_be_bytes());
    f.extend_from_slice(&[0; 28]);
    f
}

fn ping_to_router() -> Vec<u8> {
    let mut f = build_udp_frame(
        EthernetAddress([2, 0, 0, 0, 0, 9]),
        ip("10.0.1.2"),
        ip("10.0.1.1"),
        64,
        b"ping",
    );
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0]);
    f
}

#[test]
fn exception_frames_go_to_their_ports_twin_and_the_kernels_frames_out_of_the_port() {
    let table = Rc::new(RefCell::new(Table::default()));
    let mut r = router(&table);
    assert_eq!(r.dp.exception_ports, vec![0, 1], "ports with a twin punt");
    r.dp.punted.push_back((0, arp_broadcast()));
    r.dp.punted.push_back((1, ping_to_router()));
    // No twin on port 2: counted and freed, as before twins.
    r.dp.punted.push_back((2, arp_broadcast()));
    r.input();
    assert_eq!(
        r.dp.to_kernel,
        vec![(0, arp_broadcast()), (1, ping_to_router())]
    );
    let c = r.core.counters();
    assert_eq!((c.punted_exception, c.punted_link_local), (2, 1));
    assert_eq!(r.core.twins().of_interface(0).unwrap().1.to_kernel, 1);
    assert!(r.core.twins().of_interface(2).is_none());

    // The kernel answers on if1's twin: the frame leaves through port 1.
    let sent = r.dp.sent.len();
    r.dp.from_kernel.push_back((1, ping_to_router()));
    assert!(r.input());
    assert_eq!(r.dp.sent.len(), sent + 1);
    assert_eq!(r.dp.sent[sent].1, 1);
    assert_eq!(r.core.twins().totals().from_kernel, 1);
}

#[test]
fn a_flood_is_rate_limited_and_counted_and_the_bucket_refills_with_time() {
    let table = Rc::new(RefCell::new(Table::default()));
    let mut r = router(&table);
    let flood = 2 * TWIN_BURST as usize;
    for _ in 0..flood {
        r.dp.punted.push_back((0, arp_broadcast()));
    }
    while !r.dp.punted.is_empty() {
        r.input(); // all at the same instant: the bucket does not refill
    }
    let t = r.core.twins().totals();
    assert_eq!(t.to_kernel, TWIN_BURST as u64);
    assert_eq!(t.rate_limited, (flood - TWIN_BURST as usize) as u64);
    // 10 ms later the bucket holds 100 frames again.
    r.now += ms(10);
    for _ in 0..200 {
        r.dp.punted.push_back((0, arp_broadcast()));
    }
    while !r.dp.punted.is_empty() {
        r.input();
    }
    let t = r.core.twins().totals();
    assert_eq!(t.to_kernel, TWIN_BURST as u64 + 100);
    // What the kernel sends is bounded per turn.
    for _ in 0..FROM_KERNEL_PER_TURN + 5 {
        r.dp.from_kernel.push_back((0, arp_broadcast()));
    }
    r.input();
    assert_eq!(r.dp.from_kernel.len(), 5);
}

#[test]
fn a_twin_follows_its_ports_link() {
    let table = Rc::new(RefCell::new(Table::default()));
    let mut r = router(&table);
    r.dp.links[0] = false;
    r.advance(secs(1));
    assert!(!r.dp.taps[0].3, "twin of port 0 down");
    assert!(r.dp.taps[1].3);
    r.dp.links[0] = true;
    r.advance(secs(1));
    assert!(r.dp.taps[0].3, "twin of port 0 up again");
}

#[test]
fn entries_follow_the_kernels_routes_and_become_negative_when_withdrawn() {
    let table = Rc::new(RefCell::new(Table::default()));
    let mut r = router(&table);
    let (s, g) = (ip("10.77.0.5"), ip("239.1.1.1"));
    table
        .borrow_mut()
        .rib
        .add_route(ip("10.77.0.0"), 16, InterfaceId::new(1), ip("10.0.1.2"));
    r.miss(s, g, 0);
    r.input();
    assert_eq!(r.dp.entry(s, g).expect("entry").iif, 0);
    assert_eq!(
        r.core
            .rpf_with_origin(s)
            .map(|(rt, kernel)| (rt.iif, kernel)),
        Some((InterfaceId::new(1), true))
    );

    // The route moves to if1: the entry's incoming port follows in the same turn.
    {
        let mut t = table.borrow_mut();
        t.rib
            .add_route(ip("10.77.0.0"), 16, InterfaceId::new(2), ip("10.0.2.2"));
        t.changed.push((ip("10.77.0.0"), 16));
    }
    r.input();
    assert_eq!(r.dp.entry(s, g).expect("entry").iif, 1);
    assert_eq!(r.core.counters().kernel_rib_entries_revalidated, 1);

    // A longer connected prefix wins over a shorter kernel route; a kernel route never
    // replaces a connected one of the same prefix.
    table
        .borrow_mut()
        .rib
        .add_route(ip("10.0.1.0"), 24, InterfaceId::new(3), ip("10.0.3.2"));
    assert_eq!(
        r.core
            .rpf_with_origin(ip("10.0.1.9"))
            .map(|(rt, k)| (rt.iif, k)),
        Some((InterfaceId::new(1), false))
    );

    // Withdrawn: the entry becomes negative.
    {
        let mut t = table.borrow_mut();
        t.rib.remove_route(ip("10.77.0.0"), 16);
        t.changed.push((ip("10.77.0.0"), 16));
    }
    r.input();
    let mfe = r
        .core
        .mgm()
        .get_mfe(r.now, s, g)
        .expect("still there, negative");
    assert_eq!(mfe.iif, InterfaceId::NONE);
    assert!(r.core.rpf(s).is_none());
}
