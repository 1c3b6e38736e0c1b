//! Checklist lines 21-31: join/prune alert rules and IGMP local join/leave.

mod common;
use common::*;
use mgm::*;

/// Three routing protocols a, b, c on interfaces 1, 2, 3 and an unrelated registered client d.
fn three() -> (H, [ProtocolHandle; 4]) {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", PIM, 2);
    let c = h.reg("c", DVMRP, 1);
    let d = h.reg("d", DVMRP, 2);
    h.take(a, ifc(1)).unwrap();
    h.take(a, ifc(11)).unwrap();
    h.take(b, ifc(2)).unwrap();
    h.take(c, ifc(3)).unwrap();
    h.events();
    (h, [a, b, c, d])
}

fn join_ev(to: &str, scope: SourceGroupEntry) -> Ev {
    Ev::Join {
        to: to.into(),
        scope,
        member_update: true,
    }
}

#[test]
fn c21_first_star_g_join_alerts_all_others() {
    let (mut h, [a, ..]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    let e = star_entry("239.1.1.1");
    assert_eq!(e.source_mask, ip("0.0.0.0"));
    assert_eq!(
        h.events(),
        vec![join_ev("b", e), join_ev("c", e), join_ev("d", e)]
    );
}

#[test]
fn c22_second_star_g_join_alerts_first_only() {
    let (mut h, [a, b, ..]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    h.events();
    h.join(b, star("239.1.1.1"), ifc(2)).unwrap();
    assert_eq!(h.events(), vec![join_ev("a", star_entry("239.1.1.1"))]);
}

#[test]
fn c23_third_star_g_join_no_alerts() {
    let (mut h, [a, b, c, _]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    h.join(b, star("239.1.1.1"), ifc(2)).unwrap();
    h.events();
    h.join(c, star("239.1.1.1"), ifc(3)).unwrap();
    assert_eq!(h.events(), vec![]);
}

#[test]
fn c24_same_component_second_interface_no_alerts() {
    let (mut h, [a, ..]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    h.events();
    h.join(a, star("239.1.1.1"), ifc(11)).unwrap();
    assert_eq!(h.events(), vec![]);
    assert_eq!(h.mgm.membership_count(), 2);
}

#[test]
fn c25_first_sg_join_alerts_rpf_owner_only() {
    let (mut h, [_, b, c, _]) = three();
    h.route("10.0.0.0", 8, ifc(1), "10.0.0.254");
    h.join(b, sg("10.0.0.1", "239.1.1.1"), ifc(2)).unwrap();
    assert_eq!(
        h.events(),
        vec![join_ev("a", sg("10.0.0.1", "239.1.1.1").to_entry())]
    );
    // A second component joining the same (S,G) is not "first": no alert.
    h.join(c, sg("10.0.0.1", "239.1.1.1"), ifc(3)).unwrap();
    assert_eq!(h.events(), vec![]);
}

#[test]
fn c26_star_g_delete_leaving_one_component_prunes_it() {
    let (mut h, [a, b, ..]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    h.join(b, star("239.1.1.1"), ifc(2)).unwrap();
    h.events();
    h.leave(b, star("239.1.1.1"), ifc(2)).unwrap();
    assert_eq!(
        h.events(),
        vec![Ev::Prune {
            to: "a".into(),
            scope: star_entry("239.1.1.1"),
            iface: ifc(2),
            member_delete: true,
            timeout: Duration::from_secs(900)
        }]
    );
}

#[test]
fn c27_star_g_delete_by_last_component_prunes_all_others() {
    let (mut h, [a, ..]) = three();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    h.join(a, star("239.1.1.1"), ifc(11)).unwrap();
    h.events();
    // Not the component's last interface: nothing yet.
    h.leave(a, star("239.1.1.1"), ifc(11)).unwrap();
    assert_eq!(h.events(), vec![]);
    h.leave(a, star("239.1.1.1"), ifc(1)).unwrap();
    let evs = h.events();
    assert_eq!(recipients(&evs), vec!["b", "c", "d"]);
    assert!(evs
        .iter()
        .all(|e| matches!(e, Ev::Prune { member_delete: true, iface, .. } if *iface == ifc(1))));
}

#[test]
fn c28_sg_delete_prunes_rpf_owner_only() {
    let (mut h, [_, b, ..]) = three();
    h.route("10.0.0.0", 8, ifc(1), "10.0.0.254");
    h.join(b, sg("10.0.0.1", "239.1.1.1"), ifc(2)).unwrap();
    h.events();
    h.leave(b, sg("10.0.0.1", "239.1.1.1"), ifc(2)).unwrap();
    let evs = h.events();
    assert_eq!(recipients(&evs), vec!["a"]);
    assert!(
        matches!(&evs[0], Ev::Prune { member_delete: true, scope, .. } if *scope == sg("10.0.0.1", "239.1.1.1").to_entry())
    );
}

fn shared() -> (H, ProtocolHandle, ProtocolHandle, InterfaceId) {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    let x = InterfaceId::with_next_hop(4, ip("172.16.0.9"));
    h.take(a, x).unwrap();
    h.take(igmp, x).unwrap();
    h.events();
    (h, a, igmp, x)
}

#[test]
fn c29_igmp_add_on_routing_interface_local_join() {
    let (mut h, _a, igmp, x) = shared();
    h.join(igmp, sg("10.0.0.1", "239.1.1.1"), x).unwrap();
    let evs = h.events();
    assert_eq!(
        evs.first(),
        Some(&Ev::LocalJoin {
            to: "a".into(),
            scope: sg("10.0.0.1", "239.1.1.1").to_entry(),
            iface: x
        })
    );
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Ev::LocalJoin { .. }))
            .count(),
        1
    );
    // Gap 4: the membership is recorded and forwarded at once.
    assert_eq!(h.mgm.membership_count(), 1);
}

#[test]
fn c30_igmp_delete_on_routing_interface_local_leave() {
    let (mut h, _a, igmp, x) = shared();
    h.join(igmp, star("239.1.1.1"), x).unwrap();
    h.events();
    h.leave(igmp, star("239.1.1.1"), x).unwrap();
    let evs = h.events();
    assert_eq!(
        evs.first(),
        Some(&Ev::LocalLeave {
            to: "a".into(),
            scope: star_entry("239.1.1.1"),
            iface: x
        })
    );
    assert_eq!(h.mgm.membership_count(), 0);
}

#[test]
fn c31_igmp_add_on_own_interface_no_local_join() {
    let mut h = H::new();
    let _a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    h.take(igmp, ifc(5)).unwrap();
    h.join(igmp, star("239.1.1.1"), ifc(5)).unwrap();
    let evs = h.events();
    assert!(
        evs.iter().all(|e| !matches!(e, Ev::LocalJoin { .. })),
        "{evs:?}"
    );
    // It is still a first (*,G) join, so the other client hears a join alert.
    assert_eq!(evs, vec![join_ev("a", star_entry("239.1.1.1"))]);
}

#[test]
fn gap5_igmp_records_on_shared_interface_count_for_routing_owner() {
    let (mut h, _a, igmp, x) = shared();
    let b = h.reg("b", DVMRP, 1);
    h.take(b, ifc(2)).unwrap();
    h.events();
    // IGMP's record counts for `a`, so `a` is the first component: `b` and IGMP itself
    // (the adder) — IGMP is excluded as the caller; only b is alerted.
    h.join(igmp, star("239.1.1.1"), x).unwrap();
    let evs = h.events();
    assert_eq!(
        evs[0],
        Ev::LocalJoin {
            to: "a".into(),
            scope: star_entry("239.1.1.1"),
            iface: x
        }
    );
    assert_eq!(evs[1..], [join_ev("b", star_entry("239.1.1.1"))]);
}

#[test]
fn gap6_star_star_counts_as_star_g_for_every_group() {
    let (mut h, [a, b, ..]) = three();
    h.join(a, Scope::All, ifc(1)).unwrap();
    let all = Scope::All.to_entry();
    assert_eq!(
        h.events(),
        vec![join_ev("b", all), join_ev("c", all), join_ev("d", all)]
    );
    // b is now the second component with receivers for G: only a hears.
    h.join(b, star("239.1.1.1"), ifc(2)).unwrap();
    assert_eq!(h.events(), vec![join_ev("a", star_entry("239.1.1.1"))]);
    // a's own (*,G) adds nothing: it already had receivers for G through (*,*).
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    assert_eq!(h.events(), vec![]);
}
