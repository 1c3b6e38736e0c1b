//! PIM wire formats (`dataplane::wire::pim`) against byte vectors written by hand from the
//! figures of RFC 7761 4.9 and RFC 5059 (checksums computed apart from this crate, with Python's
//! RFC 1071 sum): every message type parsed, round trips, every truncation, bad checksums,
//! versions, types, address families, masks and option lengths, Join/Prune splitting, and
//! random bytes that must never panic. Pure Rust: no EAL is started.

mod frr;
mod split;
mod vectors;

use std::net::Ipv4Addr;

use dataplane::wire::pim::{
    Assert, EncodedGroup, Error, Hello, HelloOptions, LanPruneDelay, Packet, Register,
    RegisterStop, Repr,
};
use vectors::*;

pub fn parse(buf: &[u8]) -> Result<Repr<'_>, Error> {
    Repr::parse_bytes(buf)
}

pub fn round_trip(buf: &[u8], repr: &Repr<'_>) {
    assert_eq!(&parse(buf).unwrap(), repr);
    assert_eq!(repr.buffer_len(), buf.len());
    assert_eq!(repr.to_bytes(), buf);
}

/// Recompute the checksum by the type's rule (used to reach the structural checks).
pub fn fix_checksum(buf: &mut [u8]) {
    if buf.len() >= 4 {
        Packet::new_unchecked(buf).fill_checksum();
    }
}

#[test]
fn hello_rfc7761_4_9_2() {
    round_trip(&HELLO, &Repr::Hello(hello_repr()));
    let p = Packet::new_checked(&HELLO[..]).unwrap();
    assert_eq!((p.version(), p.msg_type(), p.reserved()), (2, 0, 0));
    assert_eq!(p.checksum(), 0x4ff7);
    assert!(p.verify_checksum());
    let options: Vec<_> = HelloOptions::new(p.payload())
        .map(|(t, v)| (t, v.len()))
        .collect();
    assert_eq!(
        options,
        [(1, 2), (2, 4), (19, 4), (20, 4), (24, 6), (65001, 3)]
    );
    // An empty Hello (no options) is valid; so is one with only a holdtime of 0 (goodbye).
    let empty = Repr::Hello(Hello::default());
    assert_eq!(parse(&empty.to_bytes()), Ok(empty));
}

#[test]
fn hello_option_rules() {
    // Unknown options in the middle are kept in order; a second Holdtime is ignored; Address
    // List options add up and IPv6 entries in them are skipped; T bit and 15-bit delay.
    let body: Vec<u8> = [
        &[0x00, 0x01, 0x00, 0x02, 0x00, 0x1e][..], // holdtime 30
        &[0x00, 0x15, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef], // 21: state refresh, unknown here
        &[0x00, 0x01, 0x00, 0x02, 0xff, 0xff],     // second holdtime
        &[0x00, 0x02, 0x00, 0x04, 0x81, 0xf4, 0x09, 0xc4], // T=1, 500 ms, 2500 ms
        &[0x00, 0x18, 0x00, 0x06, 0x01, 0x00, 10, 0, 0, 9], // 10.0.0.9
        &[0x00, 0x18, 0x00, 0x18, 0x02, 0x00],     // IPv6 fe80::1, then 10.0.0.10
        &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        &[0x01, 0x00, 10, 0, 0, 10],
        &[0x00, 0x00, 0x00, 0x00], // option 0, empty
    ]
    .concat();
    let mut msg = [&[0x20, 0, 0, 0][..], &body].concat();
    fix_checksum(&mut msg);
    let Ok(Repr::Hello(h)) = parse(&msg) else {
        panic!("{:?}", parse(&msg));
    };
    assert_eq!(h.holdtime, Some(30));
    assert_eq!(
        h.lan_prune_delay,
        Some(LanPruneDelay {
            join_suppression_disabled: true,
            propagation_delay_ms: 500,
            override_interval_ms: 2500
        })
    );
    assert_eq!(h.addresses, [a(10, 0, 0, 9), a(10, 0, 0, 10)]);
    assert_eq!(h.dr_priority, None);
    let kinds: Vec<_> = h.unknown.iter().map(|o| (o.kind, o.value.len())).collect();
    assert_eq!(kinds, [(21, 4), (0, 0)]);
    // Written back: known options first, then the unknown ones; the result reads the same.
    let again = Repr::Hello(h.clone()).to_bytes();
    assert_eq!(parse(&again), Ok(Repr::Hello(h)));

    // Known options of the wrong length.
    for (kind, len) in [(1u16, 3u16), (1, 0), (2, 2), (19, 2), (20, 8)] {
        let mut m = vec![0x20, 0, 0, 0];
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&len.to_be_bytes());
        m.extend(std::iter::repeat_n(0, usize::from(len)));
        fix_checksum(&mut m);
        assert_eq!(parse(&m), Err(Error::BadOptionLen { option: kind, len }));
    }
    // An address list of another family, or cut inside an entry.
    for value in [
        &[0x03, 0x00, 1, 2, 3, 4][..],
        &[0x01, 0x00, 1, 2],
        &[0x02, 0x00, 0xfe],
    ] {
        let mut m = vec![0x20, 0, 0, 0, 0x00, 0x18, 0x00, value.len() as u8];
        m.extend_from_slice(value);
        fix_checksum(&mut m);
        assert!(
            matches!(
                parse(&m),
                Err(Error::UnknownAddressFamily(3) | Error::Truncated)
            ),
            "{value:?}: {:?}",
            parse(&m)
        );
    }
}

#[test]
fn register_rfc7761_4_9_3() {
    let inner = &REGISTER[8..];
    let repr = Repr::Register(Register {
        border: false,
        null: false,
        packet: inner,
    });
    round_trip(&REGISTER, &repr);
    // A checksum over the whole message is accepted too; we always write the 8-byte one.
    assert_eq!(parse(&REGISTER_WHOLE_CHECKSUM), Ok(repr.clone()));
    assert_eq!(repr.to_bytes(), REGISTER);
    // The data packet is not covered: changing it keeps the checksum valid.
    let mut changed = REGISTER;
    changed[40] ^= 0xff;
    assert!(matches!(parse(&changed), Ok(Repr::Register(r)) if r.packet[32] == b'o' ^ 0xff));
    // ...but the whole-message checksum is then wrong and so is the header one: rejected.
    let mut changed = REGISTER_WHOLE_CHECKSUM;
    changed[40] ^= 0xff;
    assert_eq!(parse(&changed), Err(Error::BadChecksum));

    let p = Packet::new_checked(&REGISTER[..]).unwrap();
    assert!(!p.register_border() && !p.register_null());
    assert_eq!(p.register_packet(), inner);
    // The inner packet is an IPv4 datagram the data plane's own view reads.
    let ip = dataplane::wire::ipv4::Packet::new_checked(p.register_packet()).unwrap();
    assert_eq!(
        (ip.src_addr(), ip.dst_addr()),
        (a(10, 0, 1, 2), a(239, 1, 1, 1))
    );

    let null = Repr::Register(Register {
        border: true,
        null: true,
        packet: &NULL_REGISTER[8..],
    });
    round_trip(&NULL_REGISTER, &null);
    let p = Packet::new_checked(&NULL_REGISTER[..]).unwrap();
    assert!(p.register_border() && p.register_null());
    // Register getters on another type read nothing.
    let p = Packet::new_checked(&HELLO[..]).unwrap();
    assert!(!p.register_null() && p.register_packet().is_empty());
}

#[test]
fn register_stop_assert_rfc7761_4_9_4_and_4_9_6() {
    round_trip(
        &REGISTER_STOP,
        &Repr::RegisterStop(RegisterStop {
            group: EncodedGroup::host(a(239, 1, 1, 1)),
            source: a(10, 0, 1, 2),
        }),
    );
    round_trip(&ASSERT, &Repr::Assert(assert_repr()));
    round_trip(
        &ASSERT_STAR_G,
        &Repr::Assert(Assert {
            source: Ipv4Addr::UNSPECIFIED,
            rpt: true,
            ..assert_repr()
        }),
    );
}

#[test]
fn join_prune_rfc7761_4_9_5() {
    let repr = join_prune_repr();
    round_trip(&JOIN_PRUNE, &Repr::JoinPrune(repr.clone()));
    let star = repr.groups[0].joins[0];
    assert!(star.sparse && star.wildcard && star.rpt);
    // Trailing bytes after the last group set are ignored (but covered by the checksum).
    let mut long = JOIN_PRUNE.to_vec();
    long.extend_from_slice(&[0, 0, 0, 0]);
    fix_checksum(&mut long);
    assert_eq!(parse(&long), Ok(Repr::JoinPrune(repr)));
    // A count larger than the sources present.
    let mut more = JOIN_PRUNE;
    more[53] = 1; // last group: a prune that is not there
    fix_checksum(&mut more);
    assert_eq!(parse(&more), Err(Error::Truncated));
    // A count that runs into the next group set reads it as sources, and fails on what follows.
    let mut more = JOIN_PRUNE;
    more[23] = 0xff;
    fix_checksum(&mut more);
    assert_eq!(parse(&more), Err(Error::UnknownAddressFamily(0)));
    let mut more = JOIN_PRUNE;
    more[11] = 3; // three groups
    fix_checksum(&mut more);
    assert_eq!(parse(&more), Err(Error::Truncated));
}

#[test]
fn bootstrap_and_candidate_rp_rfc5059() {
    round_trip(&BOOTSTRAP, &Repr::Bootstrap(bootstrap_repr()));
    assert_eq!(
        Packet::new_checked(&BOOTSTRAP[..]).unwrap().reserved(),
        0x80
    );
    round_trip(&CANDIDATE_RP_ADV, &Repr::CandidateRpAdv(crp_repr()));
    // A Bootstrap with no group ranges (a BSR announcing itself) and a C-RP-Adv with no prefix
    // (all groups).
    let mut bare = BOOTSTRAP[..14].to_vec();
    fix_checksum(&mut bare);
    let Ok(Repr::Bootstrap(b)) = parse(&bare) else {
        panic!("{:?}", parse(&bare))
    };
    assert!(b.groups.is_empty() && b.no_forward);
    let mut all = CANDIDATE_RP_ADV[..14].to_vec();
    all[4] = 0;
    fix_checksum(&mut all);
    assert!(matches!(parse(&all), Ok(Repr::CandidateRpAdv(c)) if c.groups.is_empty()));
}

/// Lengths at which a message cut short is itself complete: Hello option boundaries and
/// Bootstrap group-range boundaries (and any length of a Register's data packet).
fn complete_at(name: &str, len: usize) -> bool {
    match name {
        "hello" => [4, 10, 18, 26, 34, 44].contains(&len),
        "bootstrap" => [14, 46].contains(&len),
        n if n.contains("register") && !n.contains("stop") => len >= 8,
        _ => false,
    }
}

#[test]
fn every_truncation_is_rejected() {
    for (name, msg) in vectors() {
        for len in 0..msg.len() {
            let cut = &msg[..len];
            // As received: the checksum (or the length) rejects it, except a Register whose
            // data packet the checksum does not cover.
            let r = parse(cut);
            if name == "register" || name == "null_register" {
                assert_eq!(r.is_ok(), len >= 8, "{name} cut at {len}: {r:?}");
            } else {
                assert!(r.is_err(), "{name} cut at {len}: {r:?}");
            }
            // With the checksum made valid, the structure must reject it.
            let mut fixed = cut.to_vec();
            fix_checksum(&mut fixed);
            let r = parse(&fixed);
            if complete_at(name, len) {
                assert!(r.is_ok(), "{name} cut at {len}: {r:?}");
            } else {
                assert_eq!(r, Err(Error::Truncated), "{name} cut at {len}");
            }
        }
    }
}

#[test]
fn wrong_checksum_version_and_type() {
    for (name, msg) in vectors() {
        let mut m = msg.to_vec();
        m[3] ^= 0x01;
        assert_eq!(parse(&m), Err(Error::BadChecksum), "{name}");
        // Any single flipped bit in the covered bytes is caught (or fails the structure).
        let covered = if name.contains("register") && !name.contains("stop") {
            8
        } else {
            msg.len()
        };
        for i in 0..covered {
            let mut m = msg.to_vec();
            m[i] ^= 0x10;
            assert!(parse(&m).is_err(), "{name} byte {i}");
        }
        // Version 1 and 3 with a valid checksum.
        for v in [1u8, 3, 0] {
            let mut m = msg.to_vec();
            m[0] = (v << 4) | (m[0] & 0x0f);
            fix_checksum(&mut m);
            assert_eq!(parse(&m), Err(Error::BadVersion(v)), "{name}");
        }
    }
    for t in [6u8, 7, 9, 10, 15] {
        let mut m = ASSERT;
        m[0] = 0x20 | t;
        fix_checksum(&mut m);
        assert_eq!(parse(&m), Err(Error::UnknownType(t)));
    }
    assert_eq!(
        Error::UnknownType(6).to_string(),
        "PIM message type 6 not handled"
    );
}

#[test]
fn unknown_family_encoding_and_mask() {
    // (vector, byte offset of an encoded address's family)
    let places: [(&[u8], usize); 7] = [
        (&JOIN_PRUNE, 4),        // upstream neighbour
        (&JOIN_PRUNE, 14),       // group
        (&JOIN_PRUNE, 26),       // joined source
        (&ASSERT, 12),           // source
        (&REGISTER_STOP, 4),     // group
        (&BOOTSTRAP, 8),         // BSR address
        (&CANDIDATE_RP_ADV, 14), // group prefix
    ];
    for (msg, at) in places {
        for family in [0u8, 2, 3, 0xff] {
            let mut m = msg.to_vec();
            m[at] = family;
            fix_checksum(&mut m);
            assert_eq!(
                parse(&m),
                Err(Error::UnknownAddressFamily(family)),
                "at {at}"
            );
        }
        let mut m = msg.to_vec();
        m[at + 1] = 1;
        fix_checksum(&mut m);
        assert_eq!(parse(&m), Err(Error::UnknownEncoding(1)), "at {at}");
    }
    // Mask length above 32 in a group and in a source.
    for at in [17usize, 29] {
        let mut m = JOIN_PRUNE;
        m[at] = 33;
        fix_checksum(&mut m);
        assert_eq!(parse(&m), Err(Error::BadMaskLen(33)));
    }
}
