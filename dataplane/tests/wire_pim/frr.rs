//! Bytes captured from a real peer: FRR 8.4.4's pimd (Debian 12 package `frr`) run in a network
//! namespace on this machine, its Hellos captured with tcpdump on its veth (the PIM payload of
//! each IPv4 datagram, TTL 1, DSCP CS6, to 224.0.0.13). On this kernel (no CONFIG_IP_MROUTE)
//! pimd sends Hellos but forms no neighbours; the other messages come from the same pimd run
//! inside User-mode Linux (Debian's `user-mode-linux` 6.1, the recipe of
//! /work/shared/design/background/frr-as-a-peer.md) with two veth links: 10.78.0.1/24 toward the
//! RP 10.78.0.2 (for 239.1.0.0/16; FRR itself is RP for 239.2.0.0/16) and 10.79.0.1/24 toward a
//! LAN with receivers and a source, a Python script on the host side playing the PIM neighbour
//! (Hellos, Joins, a Register) and the hosts (IGMP joins, data). `scripts/pim-capture.py` does
//! it again from scratch (by hand, root; not part of the test command) and prints what FRR sent.

use dataplane::wire::pim::{
    Assert, EncodedGroup, EncodedSource, GroupSet, Hello, JoinPrune, LanPruneDelay, Packet,
    Register, RegisterStop, Repr,
};

use crate::parse;
use crate::vectors::a;

/// FRR 8.4.4 pimd's Hello on a veth with 10.77.0.1/24 (`ip pim hello 2 7`, `ip pim drpriority 7`):
/// Holdtime 7, LAN Prune Delay 500/2500 ms, DR Priority 7, Generation ID, and an Address List
/// holding only the interface's IPv6 link-local address (family 2) in this IPv4 Hello.
pub const FRR_HELLO: [u8; 56] = [
    0x20, 0x00, 0x4e, 0xff, 0x00, 0x01, 0x00, 0x02, 0x00, 0x07, 0x00, 0x02, 0x00, 0x04, 0x01, 0xf4,
    0x09, 0xc4, 0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x00, 0x14, 0x00, 0x04, 0x54, 0xe1,
    0x85, 0x6c, 0x00, 0x18, 0x00, 0x12, 0x02, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x20, 0x3c, 0x9d, 0xff, 0xfe, 0xf4, 0xec, 0xd8,
];
/// The same after 10.77.1.1/24 was added: two Address List options, IPv4 then IPv6.
pub const FRR_HELLO_SECONDARY: [u8; 66] = [
    0x20, 0x00, 0x42, 0x93, 0x00, 0x01, 0x00, 0x02, 0x00, 0x07, 0x00, 0x02, 0x00, 0x04, 0x01, 0xf4,
    0x09, 0xc4, 0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x00, 0x14, 0x00, 0x04, 0x54, 0xe1,
    0x85, 0x6c, 0x00, 0x18, 0x00, 0x06, 0x01, 0x00, 0x0a, 0x4d, 0x01, 0x01, 0x00, 0x18, 0x00, 0x12,
    0x02, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3c, 0x9d, 0xff, 0xfe, 0xf4,
    0xec, 0xd8,
];
/// pimd stopping (SIGTERM): the same Hello with Holdtime 0.
pub const FRR_HELLO_GOODBYE: [u8; 66] = [
    0x20, 0x00, 0x42, 0x9a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x01, 0xf4,
    0x09, 0xc4, 0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x00, 0x14, 0x00, 0x04, 0x54, 0xe1,
    0x85, 0x6c, 0x00, 0x18, 0x00, 0x06, 0x01, 0x00, 0x0a, 0x4d, 0x01, 0x01, 0x00, 0x18, 0x00, 0x12,
    0x02, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3c, 0x9d, 0xff, 0xfe, 0xf4,
    0xec, 0xd8,
];

/// (*,239.1.1.1) Join toward the RP 10.78.0.2 (a host joined behind FRR).
pub const FRR_JOIN_STAR_G: [u8; 34] = [
    0x23, 0x00, 0xcd, 0x48, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x01, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xef, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x07, 0x20, 0x0a, 0x4e,
    0x00, 0x02,
];
/// (10.80.0.9, 232.1.1.1) Join (a source-specific join behind FRR).
pub const FRR_JOIN_SSM: [u8; 34] = [
    0x23, 0x00, 0xd7, 0x3f, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x01, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xe8, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x04, 0x20, 0x0a, 0x50,
    0x00, 0x09,
];
/// The periodic message: two group sets in one, (S,G) join of 232.1.1.1, and the (*,G) join of
/// 239.1.1.1 with an (S,G,rpt) prune of 10.79.0.2 (a source FRR registers itself).
pub const FRR_JOIN_AGGREGATED: [u8; 62] = [
    0x23, 0x00, 0xc3, 0x38, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x02, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xe8, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x04, 0x20, 0x0a, 0x50,
    0x00, 0x09, 0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00,
    0x07, 0x20, 0x0a, 0x4e, 0x00, 0x02, 0x01, 0x00, 0x05, 0x20, 0x0a, 0x4f, 0x00, 0x02,
];
/// 239.1.1.1: (*,G) join, (10.80.0.9, G) join and the (10.79.0.2, G, rpt) prune.
pub const FRR_JOIN_SPT: [u8; 50] = [
    0x23, 0x00, 0xad, 0x5c, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x01, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xef, 0x01, 0x01, 0x01, 0x00, 0x02, 0x00, 0x01, 0x01, 0x00, 0x07, 0x20, 0x0a, 0x4e,
    0x00, 0x02, 0x01, 0x00, 0x04, 0x20, 0x0a, 0x50, 0x00, 0x09, 0x01, 0x00, 0x05, 0x20, 0x0a, 0x4f,
    0x00, 0x02,
];
/// (*,239.1.1.1) Prune (the host left).
pub const FRR_PRUNE_STAR_G: [u8; 34] = [
    0x23, 0x00, 0xcd, 0x48, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x01, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xef, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x07, 0x20, 0x0a, 0x4e,
    0x00, 0x02,
];
/// (10.80.0.9, 232.1.1.1) Prune.
pub const FRR_PRUNE_SSM: [u8; 34] = [
    0x23, 0x00, 0xd7, 0x3f, 0x01, 0x00, 0x0a, 0x4e, 0x00, 0x02, 0x00, 0x01, 0x00, 0xd2, 0x01, 0x00,
    0x00, 0x20, 0xe8, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x04, 0x20, 0x0a, 0x50,
    0x00, 0x09,
];
/// Register from FRR as first-hop DR (10.79.0.1) to the RP 10.78.0.2: a UDP datagram from
/// 10.79.0.2 to 239.1.1.1 ("mrouter", checksum 0), the Register checksum over 8 bytes.
pub const FRR_REGISTER: [u8; 43] = [
    0x21, 0x00, 0xde, 0xff, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x23, 0x9e, 0xeb, 0x00, 0x00,
    0x10, 0x11, 0x11, 0x8c, 0x0a, 0x4f, 0x00, 0x02, 0xef, 0x01, 0x01, 0x01, 0x13, 0x89, 0x13, 0x8a,
    0x00, 0x0f, 0x00, 0x00, 0x6d, 0x72, 0x6f, 0x75, 0x74, 0x65, 0x72,
];
/// Register-Stop from FRR as RP (10.78.0.1) for (10.80.0.5, 239.2.2.2), which nobody joined.
pub const FRR_REGISTER_STOP: [u8; 18] = [
    0x22, 0x00, 0xe0, 0x85, 0x01, 0x00, 0x00, 0x20, 0xef, 0x02, 0x02, 0x02, 0x01, 0x00, 0x0a, 0x50,
    0x00, 0x05,
];
/// Assert for (10.80.0.9, 239.1.1.1) on the LAN where the data also arrived: R=0, metric
/// preference 0 and metric 0 (FRR's values for a kernel route).
pub const FRR_ASSERT: [u8; 26] = [
    0x25, 0x00, 0xde, 0x83, 0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, 0x01, 0x00, 0x0a, 0x50,
    0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

fn frr_hello(holdtime: u16, addresses: Vec<std::net::Ipv4Addr>) -> Hello {
    Hello {
        holdtime: Some(holdtime),
        lan_prune_delay: Some(LanPruneDelay {
            join_suppression_disabled: false,
            propagation_delay_ms: 500,
            override_interval_ms: 2500,
        }),
        dr_priority: Some(7),
        generation_id: Some(0x54e1_856c),
        addresses,
        unknown: vec![],
    }
}

#[test]
fn frr_hellos() {
    for (bytes, expected) in [
        (&FRR_HELLO[..], frr_hello(7, vec![])),
        (&FRR_HELLO_SECONDARY, frr_hello(7, vec![a(10, 77, 1, 1)])),
        (&FRR_HELLO_GOODBYE, frr_hello(0, vec![a(10, 77, 1, 1)])),
    ] {
        let p = Packet::new_checked(bytes).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.version(), p.msg_type()), (2, 0));
        // The IPv6 entry of the address list is skipped, not an error: rejecting it would
        // refuse every FRR neighbour.
        assert_eq!(parse(bytes), Ok(Repr::Hello(expected.clone())));
        // Written back without the IPv6 entry, in one Address List option: the same Hello.
        let again = Repr::Hello(expected.clone()).to_bytes();
        assert_eq!(parse(&again), Ok(Repr::Hello(expected)));
        // The options FRR sends before the address list come out byte for byte as FRR wrote them.
        assert_eq!(again[4..34], bytes[4..34]);
    }
}

fn jp(groups: Vec<GroupSet>) -> Repr<'static> {
    Repr::JoinPrune(JoinPrune {
        upstream_neighbor: a(10, 78, 0, 2),
        holdtime: 210,
        groups,
    })
}

fn set(group: EncodedGroup, joins: Vec<EncodedSource>, prunes: Vec<EncodedSource>) -> GroupSet {
    GroupSet {
        group,
        joins,
        prunes,
    }
}

/// Every captured Join/Prune, Register, Register-Stop and Assert parses to what FRR meant, and our
/// emitter writes it back byte for byte (checksum included).
#[test]
fn frr_join_prune_register_assert() {
    let g = EncodedGroup::host(a(239, 1, 1, 1));
    let ssm = EncodedGroup::host(a(232, 1, 1, 1));
    let star = EncodedSource::star_g(a(10, 78, 0, 2));
    let s = EncodedSource::sg(a(10, 80, 0, 9));
    let rpt = EncodedSource::sg_rpt(a(10, 79, 0, 2));
    let cases: Vec<(&[u8], Repr<'static>)> = vec![
        (&FRR_JOIN_STAR_G, jp(vec![set(g, vec![star], vec![])])),
        (&FRR_JOIN_SSM, jp(vec![set(ssm, vec![s], vec![])])),
        (
            &FRR_JOIN_AGGREGATED,
            jp(vec![
                set(ssm, vec![s], vec![]),
                set(g, vec![star], vec![rpt]),
            ]),
        ),
        (&FRR_JOIN_SPT, jp(vec![set(g, vec![star, s], vec![rpt])])),
        (&FRR_PRUNE_STAR_G, jp(vec![set(g, vec![], vec![star])])),
        (&FRR_PRUNE_SSM, jp(vec![set(ssm, vec![], vec![s])])),
        (
            &FRR_REGISTER,
            Repr::Register(Register {
                border: false,
                null: false,
                packet: &FRR_REGISTER[8..],
            }),
        ),
        (
            &FRR_REGISTER_STOP,
            Repr::RegisterStop(RegisterStop {
                group: EncodedGroup::host(a(239, 2, 2, 2)),
                source: a(10, 80, 0, 5),
            }),
        ),
        (
            &FRR_ASSERT,
            Repr::Assert(Assert {
                group: g,
                source: a(10, 80, 0, 9),
                rpt: false,
                metric_preference: 0,
                metric: 0,
            }),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(parse(bytes), Ok(expected.clone()), "{bytes:02x?}");
        assert_eq!(expected.to_bytes(), bytes);
    }
    // The Register's data packet is the host's datagram as sent.
    let inner = dataplane::wire::ipv4::Packet::new_checked(&FRR_REGISTER[8..]).unwrap();
    assert_eq!(
        (inner.src_addr(), inner.dst_addr()),
        (a(10, 79, 0, 2), a(239, 1, 1, 1))
    );
    assert_eq!(&inner.payload()[8..], b"mrouter");
    // Every truncation of every capture is refused.
    for bytes in [
        &FRR_JOIN_AGGREGATED[..],
        &FRR_REGISTER_STOP,
        &FRR_ASSERT,
        &FRR_HELLO,
    ] {
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "cut at {len}");
        }
    }
}
