//! What arrives is checked: malformed or misaddressed messages are counted per reason and
//! change nothing; other message types are counted per type; the neighbour limit holds.

use crate::harness::*;
use control::protocols::pim::*;
use dataplane::wire::pim::{Assert, EncodedGroup, Repr, ALL_PIM_ROUTERS};

fn valid() -> Vec<u8> {
    Repr::Hello(hello(105, Some(1), 1)).to_bytes()
}

/// Fixes the PIM checksum of `b` after an edit.
fn fix_checksum(b: &mut [u8]) {
    let mut p = dataplane::wire::pim::Packet::new_unchecked(b);
    p.fill_checksum();
}

#[test]
fn malformed_hellos_are_counted_by_reason_and_make_no_neighbour() {
    let mut lab = Lab::new();
    let all = ALL_PIM_ROUTERS;
    let src = ip("10.0.2.9");

    let mut bad_sum = valid();
    bad_sum[2] ^= 0xff;
    lab.receive_to(src, all, &bad_sum);

    for len in [0, 3, 5, 9] {
        let mut t = valid()[..len].to_vec();
        if t.len() >= 4 {
            fix_checksum(&mut t);
        }
        lab.receive_to(src, all, &t);
    }

    let mut v1 = valid();
    v1[0] = 0x10; // version 1, type Hello
    fix_checksum(&mut v1);
    lab.receive_to(src, all, &v1);

    let mut graft = valid();
    graft[0] = 0x26; // PIM-DM Graft
    fix_checksum(&mut graft);
    lab.receive_to(src, all, &graft);

    // Holdtime option with length 3.
    let mut optlen = valid();
    optlen[4..8].copy_from_slice(&[0, 1, 0, 3]);
    fix_checksum(&mut optlen);
    lab.receive_to(src, all, &optlen);

    lab.receive_to(src, ip("10.0.2.1"), &valid()); // unicast Hello
    lab.receive_to(ip("10.0.2.1"), all, &valid()); // our own
    lab.receive_to(ip("0.0.0.0"), all, &valid());
    lab.receive_to(ip("224.1.1.1"), all, &valid());

    assert!(lab.neighbors().is_empty());
    let want = [
        (RejectReason::BadChecksum, 1),
        (RejectReason::Truncated, 4),
        (RejectReason::BadVersion, 1),
        (RejectReason::UnknownType, 1),
        (RejectReason::BadOptionLength, 1),
        (RejectReason::BadDestination, 1),
        (RejectReason::OwnAddress, 1),
        (RejectReason::BadSource, 2),
    ];
    for (reason, n) in want {
        assert_eq!(lab.rejected(reason), n, "{reason:?}");
    }
    assert_eq!(lab.interface().counters.hellos_received, 0);
    // The interface still works: a good Hello makes a neighbour.
    lab.receive_to(src, all, &valid());
    assert_eq!(lab.neighbors(), [src]);
}

#[test]
fn random_bytes_never_panic_and_are_all_counted() {
    let mut lab = Lab::new();
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut sent = 0u64;
    for n in 0..5_000 {
        let len = n % 64;
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        // Half of them with a right version, type Hello and checksum, to reach the options.
        if n % 2 == 0 && b.len() >= 4 {
            b[0] = 0x20;
            fix_checksum(&mut b);
        }
        lab.receive_to(ip("10.0.2.9"), ALL_PIM_ROUTERS, &b);
        sent += 1;
    }
    let c = &lab.interface().counters;
    let rejected: u64 = c.rejected.values().sum();
    assert_eq!(rejected + c.hellos_received, sent);
}

#[test]
fn other_message_types_are_counted_per_type() {
    let mut lab = Lab::new();
    let assert_msg = Repr::Assert(Assert {
        group: EncodedGroup::host(ip("239.1.1.1")),
        source: ip("10.0.1.2"),
        rpt: false,
        metric_preference: 110,
        metric: 20,
    })
    .to_bytes();
    lab.receive_to(ip("10.0.2.9"), ALL_PIM_ROUTERS, &assert_msg);
    lab.receive_to(ip("10.0.2.9"), ALL_PIM_ROUTERS, &assert_msg);
    let c = &lab.interface().counters;
    assert_eq!(c.received.assert, 2);
    assert_eq!(c.received.join_prune, 0);
    // Counted by type, then refused: 10.0.2.9 sent no Hello (RFC 7761 4.6 machinery takes
    // Asserts from neighbours only).
    assert_eq!(
        c.rejected
            .get(&control::protocols::pim::RejectReason::NotNeighbor),
        Some(&2)
    );
    assert_eq!(c.rejected.len(), 1);
}

#[test]
fn neighbours_beyond_the_limit_are_counted_and_ignored() {
    let mut lab = Lab::with(
        PimInterfaceSettings {
            max_neighbors: 2,
            ..PimInterfaceSettings::default()
        },
        1,
    );
    lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
    lab.hello_from("10.0.2.3", &hello(105, Some(1), 2));
    lab.hello_from("10.0.2.200", &hello(105, Some(9), 3));
    assert_eq!(lab.neighbors(), [ip("10.0.2.2"), ip("10.0.2.3")]);
    assert_eq!(lab.rejected(RejectReason::NeighborLimit), 1);
    assert_eq!(lab.dr(), ip("10.0.2.3"), "the refused one takes no part");
    // Known neighbours still refresh at the limit.
    lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
    assert_eq!(lab.rejected(RejectReason::NeighborLimit), 1);
    // One goes: room for another.
    lab.hello_from("10.0.2.2", &hello(0, Some(1), 1));
    lab.hello_from("10.0.2.200", &hello(105, Some(9), 3));
    assert_eq!(lab.dr(), ip("10.0.2.200"));
}

#[test]
fn packets_for_an_interface_without_pim_are_counted() {
    let mut lab = Lab::new();
    let other = control::interface::Interface::from_config_index(2);
    lab.pim
        .handle_packet(lab.now, other, ip("10.0.3.2"), ALL_PIM_ROUTERS, &valid());
    assert_eq!(lab.pim.unknown_interface_packets(), 1);
}
