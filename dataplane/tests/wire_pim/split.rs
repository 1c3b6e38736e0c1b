//! Join/Prune splitting under a size limit, and random bytes that must never panic.

use dataplane::wire::pim::{
    EncodedGroup, EncodedSource, Error, GroupSet, HelloOptions, JoinPrune, Packet, Repr,
    MIN_SPLIT_LEN,
};

use crate::vectors::*;
use crate::{fix_checksum, parse};

/// The group sets of split messages, fragments of one group merged back, in order.
fn merged(parts: &[JoinPrune]) -> Vec<GroupSet> {
    let mut out: Vec<GroupSet> = Vec::new();
    for p in parts {
        for g in &p.groups {
            match out.last_mut() {
                Some(last) if last.group == g.group => {
                    last.joins.extend_from_slice(&g.joins);
                    last.prunes.extend_from_slice(&g.prunes);
                }
                _ => out.push(g.clone()),
            }
        }
    }
    out
}

fn check_split(jp: &JoinPrune, max_len: usize) -> Vec<JoinPrune> {
    let parts = jp.split(max_len).unwrap();
    for p in &parts {
        let bytes = Repr::JoinPrune(p.clone()).to_bytes();
        assert!(bytes.len() <= max_len, "{} > {max_len}", bytes.len());
        assert_eq!(parse(&bytes), Ok(Repr::JoinPrune(p.clone())));
        assert_eq!(
            (p.upstream_neighbor, p.holdtime),
            (jp.upstream_neighbor, jp.holdtime)
        );
        assert!(p.groups.len() <= 255);
    }
    assert_eq!(merged(&parts), jp.groups);
    parts
}

#[test]
fn join_prune_split_under_a_size_limit() {
    let src = |i: usize| a(10, 1, (i >> 8) as u8, i as u8);
    let group = |i: usize| EncodedGroup::host(a(239, 2, (i >> 8) as u8, i as u8));
    // 40 groups of 3 (S,G) joins: 36 bytes each, 14 + 40 * 36 = 1,454 bytes in all.
    let jp = JoinPrune {
        upstream_neighbor: a(10, 0, 0, 1),
        holdtime: 210,
        groups: (0..40)
            .map(|g| GroupSet {
                group: group(g),
                joins: (0..3).map(|s| EncodedSource::sg(src(g * 3 + s))).collect(),
                prunes: vec![],
            })
            .collect(),
    };
    assert_eq!(Repr::JoinPrune(jp.clone()).buffer_len(), 1454);
    assert_eq!(check_split(&jp, 1454).len(), 1);
    // 1,000 bytes: 27 groups (14 + 27 * 36 = 986) then 13; no group set is cut.
    let parts = check_split(&jp, 1000);
    assert_eq!(
        parts.iter().map(|p| p.groups.len()).collect::<Vec<_>>(),
        [27, 13]
    );
    // The smallest size: one group set with one source per message.
    let parts = check_split(&jp, MIN_SPLIT_LEN);
    assert_eq!(parts.len(), 120);
    assert_eq!(MIN_SPLIT_LEN, 34);
    assert_eq!(jp.split(MIN_SPLIT_LEN - 1), Err(Error::MaxLenTooSmall(33)));

    // One group set larger than a message: (*,G) join and 300 (S,G,rpt) prunes, cut into
    // fragments of the same group, joins first, in order.
    let big = JoinPrune {
        upstream_neighbor: a(10, 0, 0, 1),
        holdtime: 210,
        groups: vec![
            GroupSet {
                group: group(1),
                joins: vec![EncodedSource::sg(src(1))],
                prunes: vec![],
            },
            GroupSet {
                group: group(2),
                joins: vec![EncodedSource::star_g(a(10, 9, 9, 9))],
                prunes: (0..300).map(|i| EncodedSource::sg_rpt(src(i))).collect(),
            },
            GroupSet {
                group: group(3),
                joins: vec![],
                prunes: vec![EncodedSource::sg(src(7))],
            },
        ],
    };
    let parts = check_split(&big, 1400);
    // 1,400 - 14 - 12 = 1,374 -> 171 sources per fragment; group 1 (20 bytes) shares the first.
    let shape: Vec<Vec<(usize, usize)>> = parts
        .iter()
        .map(|p| {
            p.groups
                .iter()
                .map(|g| (g.joins.len(), g.prunes.len()))
                .collect()
        })
        .collect();
    assert_eq!(shape, [vec![(1, 0), (1, 168)], vec![(0, 132), (0, 1)]]);

    // More than 255 group sets go into several messages whatever the size.
    let many = JoinPrune {
        upstream_neighbor: a(10, 0, 0, 1),
        holdtime: 210,
        groups: (0..600)
            .map(|g| GroupSet {
                group: group(g),
                joins: vec![],
                prunes: vec![],
            })
            .collect(),
    };
    let parts = check_split(&many, 65_535);
    assert_eq!(
        parts.iter().map(|p| p.groups.len()).collect::<Vec<_>>(),
        [255, 255, 90]
    );
    // Nothing to send: one message without group sets.
    let none = JoinPrune {
        groups: vec![],
        ..many
    };
    assert_eq!(none.split(1400).unwrap(), std::slice::from_ref(&none));
}

fn touch_view(buf: &[u8]) {
    let Ok(p) = Packet::new_checked(buf) else {
        return;
    };
    let _ = (p.version(), p.msg_type(), p.reserved(), p.checksum());
    let _ = (
        p.register_border(),
        p.register_null(),
        p.register_packet().len(),
    );
    let _ = (p.verify_checksum(), HelloOptions::new(p.payload()).count());
}

#[test]
fn random_buffers_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds: Vec<&[u8]> = vectors().into_iter().map(|(_, v)| v).collect();
    let mut parsed = 0;
    for i in 0..200_000usize {
        // Half mutate a valid vector (a few bytes changed, maybe cut), half are random bytes
        // steered to version 2 and a known type.
        let mut buf: Vec<u8> = if i % 2 == 0 {
            let mut b = seeds[(next() as usize) % seeds.len()].to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            b.truncate((next() as usize) % (b.len() + 1));
            b
        } else {
            let len = (next() % 80) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len > 0 {
                b[0] = 0x20 | (next() % 9) as u8;
            }
            for at in (4..len).step_by(6) {
                if next() % 2 == 0 {
                    b[at] = 1; // IPv4 family often, to get past the address checks
                    if at + 1 < len {
                        b[at + 1] = 0;
                    }
                }
            }
            b
        };
        fix_checksum(&mut buf);
        touch_view(&buf);
        if let Ok(repr) = parse(&buf) {
            parsed += 1;
            let bytes = repr.to_bytes();
            assert_eq!(bytes.len(), repr.buffer_len());
            assert_eq!(parse(&bytes), Ok(repr.clone()), "{buf:02x?}");
            if let Repr::JoinPrune(jp) = &repr {
                let parts = jp.split(MIN_SPLIT_LEN + (i % 200)).unwrap();
                // Adjacent group sets of one group in the input merge the same way.
                assert_eq!(merged(&parts), merged(std::slice::from_ref(jp)));
            }
        }
    }
    assert!(parsed > 20_000, "only {parsed} parsed");
}
