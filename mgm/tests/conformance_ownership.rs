//! Checklist lines 1-20: registration, ownership and membership preconditions.

mod common;
use common::*;
use mgm::*;

#[test]
fn c01_register_fresh_pair_returns_handle() {
    let mut h = H::new();
    let id = ClientId {
        protocol: PIM,
        component: 1,
    };
    let a = h.mgm.register_protocol(h.now, id).unwrap();
    assert_eq!(h.mgm.client_id(a), Some(id));
}

#[test]
fn c02_register_same_pair_again_already_exists() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let err = h
        .mgm
        .register_protocol(
            h.now,
            ClientId {
                protocol: PIM,
                component: 1,
            },
        )
        .unwrap_err();
    assert_eq!(err, MgmError::AlreadyExists);
    assert_eq!(err.code(), 183);
    // The first registration still works.
    assert_eq!(
        h.mgm.client_id(a),
        Some(ClientId {
            protocol: PIM,
            component: 1
        })
    );
    h.take(a, ifc(1)).unwrap();
}

#[test]
fn c03_same_protocol_different_component_independent() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", PIM, 2);
    assert_ne!(a, b);
    h.take(a, ifc(1)).unwrap();
    h.take(b, ifc(2)).unwrap();
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(2)).unwrap().component,
        2
    );
    h.release(b, ifc(2)).unwrap();
    h.mgm.deregister_protocol(h.now, b).unwrap();
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap(),
        ClientId {
            protocol: PIM,
            component: 1
        }
    );
}

#[test]
fn c04_stale_or_bogus_handle_invalid_parameter() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    h.mgm.deregister_protocol(h.now, a).unwrap();
    // A handle minted by another MGM (third registration there, never issued here) is bogus.
    let mut other = Mgm::default();
    let foreign = (0..3)
        .map(|c| {
            other
                .register_protocol(
                    h.now,
                    ClientId {
                        protocol: 9,
                        component: c,
                    },
                )
                .unwrap()
        })
        .last()
        .unwrap();
    for bad in [a, foreign] {
        let e = MgmError::InvalidParameter;
        assert_eq!(h.take(bad, ifc(1)), Err(e));
        assert_eq!(h.release(bad, ifc(1)), Err(e));
        assert_eq!(h.mgm.deregister_protocol(h.now, bad), Err(e));
        assert_eq!(
            h.mgm.add_group_membership(
                h.now,
                &mut h.host,
                bad,
                star("239.1.1.1"),
                ifc(1),
                MembershipFlags::JOIN
            ),
            Err(e)
        );
        assert_eq!(
            h.mgm.delete_group_membership(
                h.now,
                &mut h.host,
                bad,
                star("239.1.1.1"),
                ifc(1),
                MembershipFlags::JOIN
            ),
            Err(e)
        );
        assert_eq!(
            h.mgm
                .set_mfe(h.now, bad, ip("10.0.0.1"), ip("239.1.1.1"), ip("1.1.1.1")),
            Err(e)
        );
        assert_eq!(
            h.mgm.group_enumeration_start(bad, EnumType::AllSources),
            Err(e)
        );
        assert_eq!(e.code(), 87);
    }
}

#[test]
fn c05_deregister_while_owning_can_not_complete() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    h.take(a, ifc(1)).unwrap();
    let err = h.mgm.deregister_protocol(h.now, a).unwrap_err();
    assert_eq!(err, MgmError::CanNotComplete);
    assert_eq!(err.code(), 1003);
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        PIM
    );
    assert!(h.mgm.client_id(a).is_some());
}

#[test]
fn c06_deregister_after_release_kills_handle() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    h.take(a, ifc(1)).unwrap();
    h.release(a, ifc(1)).unwrap();
    h.mgm.deregister_protocol(h.now, a).unwrap();
    assert_eq!(h.take(a, ifc(1)), Err(MgmError::InvalidParameter));
    assert_eq!(h.mgm.client_id(a), None);
    // The pair is free again, under a new handle.
    let again = h
        .mgm
        .register_protocol(
            h.now,
            ClientId {
                protocol: PIM,
                component: 1,
            },
        )
        .unwrap();
    assert_ne!(again, a);
}

#[test]
fn c07_take_free_interface_reports_owner() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 7);
    h.take(a, ifc(3)).unwrap();
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(3)).unwrap(),
        ClientId {
            protocol: PIM,
            component: 7
        }
    );
}

#[test]
fn c08_second_routing_owner_already_exists() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    h.take(a, ifc(1)).unwrap();
    assert_eq!(h.take(b, ifc(1)), Err(MgmError::AlreadyExists));
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        PIM
    );
    // b owns nothing, so it can deregister.
    h.mgm.deregister_protocol(h.now, b).unwrap();
}

#[test]
fn c09_same_index_different_next_hops_are_independent() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    let x = InterfaceId::with_next_hop(5, ip("192.168.0.2"));
    let y = InterfaceId::with_next_hop(5, ip("192.168.0.3"));
    h.take(a, x).unwrap();
    h.take(b, y).unwrap();
    assert_eq!(h.mgm.get_protocol_on_interface(x).unwrap().protocol, PIM);
    assert_eq!(h.mgm.get_protocol_on_interface(y).unwrap().protocol, DVMRP);
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(5)),
        Err(MgmError::NotFound)
    );
}

#[test]
fn c10_protocol_on_unowned_interface_not_found() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap_err().code(),
        1168
    );
    h.take(a, ifc(1)).unwrap();
    h.release(a, ifc(1)).unwrap();
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)),
        Err(MgmError::NotFound)
    );
}

#[test]
fn c11_igmp_joins_routing_owned_interface_without_callbacks() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    h.take(a, ifc(1)).unwrap();
    h.events();
    h.take(igmp, ifc(1)).unwrap();
    assert_eq!(h.events(), vec![]);
    assert!(h.mgm.igmp_enabled(ifc(1)));
    // The routing protocol is still reported as the owner (gap 9).
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        PIM
    );
}

#[test]
fn c12_routing_takes_igmp_interface_disable_then_enable() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    h.take(igmp, ifc(1)).unwrap();
    h.events();
    h.take(a, ifc(1)).unwrap();
    assert_eq!(
        h.events(),
        vec![
            Ev::DisableIgmp {
                to: "igmp".into(),
                iface: ifc(1)
            },
            Ev::EnableIgmp {
                to: "igmp".into(),
                iface: ifc(1)
            }
        ]
    );
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        PIM
    );
}

#[test]
fn c13_routing_releases_shared_interface_disable_then_enable() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    h.take(a, ifc(1)).unwrap();
    h.take(igmp, ifc(1)).unwrap();
    h.events();
    h.release(a, ifc(1)).unwrap();
    assert_eq!(
        h.events(),
        vec![
            Ev::DisableIgmp {
                to: "igmp".into(),
                iface: ifc(1)
            },
            Ev::EnableIgmp {
                to: "igmp".into(),
                iface: ifc(1)
            }
        ]
    );
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        MS_IP_IGMP
    );
}

#[test]
fn c14_take_release_without_igmp_no_igmp_callbacks() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let igmp = h.igmp();
    h.take(igmp, ifc(2)).unwrap();
    h.events();
    h.take(a, ifc(1)).unwrap();
    h.release(a, ifc(1)).unwrap();
    // IGMP alone on an interface: taking and releasing it is not an "ownership change".
    h.take(igmp, ifc(3)).unwrap();
    h.release(igmp, ifc(3)).unwrap();
    assert_eq!(h.events(), vec![]);
}

#[test]
fn c15_release_not_owned_invalid_parameter() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    h.take(a, ifc(1)).unwrap();
    assert_eq!(h.release(b, ifc(1)), Err(MgmError::InvalidParameter));
    assert_eq!(h.release(b, ifc(9)), Err(MgmError::InvalidParameter));
    assert_eq!(
        h.mgm.get_protocol_on_interface(ifc(1)).unwrap().protocol,
        PIM
    );
}

#[test]
fn c16_release_deletes_mfes_with_that_iif() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    h.take(a, ifc(1)).unwrap();
    h.take(a, ifc(2)).unwrap();
    h.route("10.0.0.0", 8, ifc(1), "10.0.0.254");
    h.route("20.0.0.0", 8, ifc(2), "20.0.0.254");
    h.miss("10.0.0.1", "239.1.1.1", ifc(1)).unwrap();
    h.miss("20.0.0.1", "239.1.1.1", ifc(2)).unwrap();
    h.changes();
    h.release(a, ifc(1)).unwrap();
    assert_eq!(
        h.mgm.get_mfe(h.now, ip("10.0.0.1"), ip("239.1.1.1")),
        Err(MgmError::NotFound)
    );
    assert!(h.has_mfe("20.0.0.1", "239.1.1.1"));
    assert_eq!(
        h.changes(),
        vec![MfeChange::Delete {
            source: ip("10.0.0.1"),
            group: ip("239.1.1.1")
        }]
    );
}

#[test]
fn c17_release_removes_interface_from_every_oif_list() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    h.take(a, ifc(1)).unwrap();
    h.take(b, ifc(2)).unwrap();
    h.take(b, ifc(3)).unwrap();
    h.route("10.0.0.0", 8, ifc(1), "10.0.0.254");
    h.join(b, Scope::All, ifc(2)).unwrap();
    h.join(b, star("239.1.1.1"), ifc(2)).unwrap();
    h.join(b, star("239.1.1.1"), ifc(3)).unwrap();
    h.miss("10.0.0.1", "239.1.1.1", ifc(1)).unwrap();
    h.miss("10.0.0.1", "239.2.2.2", ifc(1)).unwrap();
    assert_eq!(h.oifs("10.0.0.1", "239.1.1.1"), vec![ifc(2), ifc(3)]);
    h.changes();
    h.release(b, ifc(2)).unwrap();
    for mfe in h.mgm.mfes(h.now) {
        assert!(!mfe.oifs.contains(&ifc(2)), "{mfe:?}");
    }
    assert_eq!(h.oifs("10.0.0.1", "239.1.1.1"), vec![ifc(3)]);
    let updates = h.changes();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates
        .iter()
        .all(|c| matches!(c, MfeChange::Update(e) if !e.oifs.contains(&ifc(2)))));
}

#[test]
fn c18_add_on_interface_of_other_protocol_invalid_parameter() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    h.take(a, ifc(1)).unwrap();
    assert_eq!(
        h.join(b, star("239.1.1.1"), ifc(1)),
        Err(MgmError::InvalidParameter)
    );
    assert_eq!(h.mgm.membership_count(), 0);
}

#[test]
fn c19_delete_on_interface_of_other_protocol_invalid_parameter() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    let b = h.reg("b", DVMRP, 1);
    h.take(a, ifc(1)).unwrap();
    h.join(a, star("239.1.1.1"), ifc(1)).unwrap();
    assert_eq!(
        h.leave(b, star("239.1.1.1"), ifc(1)),
        Err(MgmError::InvalidParameter)
    );
    assert_eq!(h.mgm.membership_count(), 1);
}

#[test]
fn c20_delete_on_unknown_interface_not_found() {
    let mut h = H::new();
    let a = h.reg("a", PIM, 1);
    assert_eq!(
        h.leave(a, star("239.1.1.1"), ifc(42)),
        Err(MgmError::NotFound)
    );
    assert_eq!(
        h.join(a, star("239.1.1.1"), ifc(42)),
        Err(MgmError::NotFound)
    );
}
