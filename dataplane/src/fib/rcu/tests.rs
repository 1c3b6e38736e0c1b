//! Unit tests of the RCU forwarding table (they use its private items).

use super::*;
use crate::fib::Oif;

fn route(iif: u16, oif: u16) -> Route {
    Route {
        counter: crate::fib::NO_COUNTER,
        iif,
        flags: crate::fib::EntryFlags::NONE,
        oifs: vec![Oif {
            port: oif,
            ttl_threshold: 1,
        }]
        .into(),
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn readers_see_changes_only_after_publish() {
    let (mut w, mut readers) = new(1);
    let r = &mut readers[0];
    let g = ip("239.1.1.1");
    let s = ip("10.0.0.1");
    w.insert(Some(s), g, route(0, 1));
    assert_eq!(r.lookup(s.into(), g.into()), None);
    assert_eq!(w.get(Some(s), g), Some(&route(0, 1)));
    let e = w.publish();
    assert_eq!(r.lookup(s.into(), g.into()), Some(&route(0, 1)));
    assert!(!w.acknowledged(e));
    r.quiescent();
    assert!(w.acknowledged(e));
    w.insert(None, g, route(0, 2));
    w.publish();
    let other = ip("10.0.0.2");
    assert_eq!(
        r.lookup(other.into(), g.into()),
        Some(&route(0, 2)),
        "(*,G) fallback"
    );
    assert_eq!(
        r.lookup(s.into(), g.into()),
        Some(&route(0, 1)),
        "(S,G) first"
    );
    assert!(w.remove(Some(s), g));
    assert!(!w.remove(Some(s), g));
    w.publish();
    assert_eq!(r.lookup(s.into(), g.into()), Some(&route(0, 2)));
    assert_eq!(w.len(), 1);
}

#[test]
fn old_shards_wait_for_every_reader() {
    let (mut w, mut readers) = new(2);
    let g = ip("239.1.1.1");
    w.insert(None, g, route(0, 1));
    w.publish();
    readers[0].quiescent();
    readers[1].quiescent();
    assert_eq!(w.reclaim(), 0);
    w.insert(None, g, route(0, 2));
    let e = w.publish();
    assert_eq!(w.reclaim(), 1, "reader 0 and 1 may still see the old shard");
    readers[0].quiescent();
    assert_eq!(w.reclaim(), 1, "reader 1 has not passed yet");
    assert!(!w.synchronize(e, Duration::from_millis(10)));
    readers[1].quiescent();
    assert!(w.synchronize(e, Duration::from_millis(10)));
    assert_eq!(w.reclaim(), 0);
    drop(readers.pop());
    w.insert(None, g, route(0, 3));
    let e = w.publish();
    readers[0].quiescent();
    assert!(
        w.acknowledged(e),
        "an offline reader does not hold reclamation back"
    );
}

#[test]
fn a_bucket_is_128_bytes() {
    assert_eq!(std::mem::size_of::<Bucket>(), 128);
}

#[test]
fn keys_sharing_a_slot_stay_exact_through_inserts_and_removes() {
    // Enough keys that many slots hold several (under Miri, 64 slots hold them all).
    let n: u32 = if cfg!(miri) { 300 } else { 20_000 };
    let (mut w, mut readers) = new(1);
    // Scattered keys (sequential ones spread perfectly under multiplicative hashing).
    let g = |i: u32| Ipv4Addr::from(0xef00_0000 | (i.wrapping_mul(0x9e37_79b1) >> 8));
    let s = Ipv4Addr::new(10, 0, 0, 1);
    for i in 0..n {
        w.insert(Some(s), g(i), route(0, (i % 60_000) as u16));
    }
    w.publish();
    let shared_slots = (0..n)
        .map(|i| w.shared.slot(key(s.into(), g(i).into())))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(shared_slots < n as usize, "some keys share a slot");
    for i in (0..n).step_by(2) {
        assert!(w.remove(Some(s), g(i)));
    }
    w.publish();
    let r = &mut readers[0];
    for i in 0..n {
        let got = r.lookup(s.into(), g(i).into());
        if i % 2 == 0 {
            assert_eq!(got, None, "{i}");
        } else {
            assert_eq!(got, Some(&route(0, (i % 60_000) as u16)), "{i}");
        }
    }
    assert_eq!(w.len(), (n / 2) as usize);
    r.quiescent();
    assert_eq!(w.reclaim(), 0);
}

#[test]
fn concurrent_readers_never_see_a_torn_or_freed_route() {
    // Readers look up while the writer republishes the same keys; every route they see
    // must be one the writer published (iif == oif port, a value we write in pairs).
    let (mut w, readers) = new(2);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let groups: Vec<Ipv4Addr> = (0..64).map(|i| Ipv4Addr::new(239, 0, 0, i)).collect();
    for g in &groups {
        w.insert(None, *g, route(0, 0));
    }
    w.publish();
    let handles: Vec<_> = readers
        .into_iter()
        .map(|mut r| {
            let stop = Arc::clone(&stop);
            let groups = groups.clone();
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for g in &groups {
                        let route = r.lookup(0x0a000001, (*g).into()).expect("never missing");
                        assert_eq!(route.iif, route.oifs[0].port);
                        seen += 1;
                    }
                    r.quiescent();
                }
                seen
            })
        })
        .collect();
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    for i in 0..rounds {
        for g in &groups {
            let v = (i % 7) as u16;
            w.insert(None, *g, route(v, v));
        }
        w.publish();
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        assert!(h.join().unwrap() > 0);
    }
    assert_eq!(
        w.reclaim(),
        0,
        "readers are gone: everything is reclaimable"
    );
}

/// A way of making keys: the `k`th (source, group).
#[cfg(not(miri))]
type Pattern = Box<dyn Fn(u32) -> (u32, u32)>;

/// Slots holding more than [`FEW`] of `keys` (those scan a slice of their own), and the most
/// any slot holds.
#[cfg(not(miri))]
fn overflow(keys: impl Iterator<Item = (u32, u32)>, seed: u64) -> (usize, u32) {
    let mut load = vec![0u32; SHARDS];
    for (s, g) in keys {
        load[slot_of(s, g, seed) as usize] += 1;
    }
    let over = load.iter().filter(|&&n| n as usize > FEW).count();
    (over, load.into_iter().max().unwrap_or(0))
}

#[test]
#[cfg(not(miri))]
fn the_slot_hash_spreads_a_million_keys_as_a_uniform_hash_would() {
    // A uniform hash of 2^20 keys into 2^20 slots leaves 1.9% of the slots with more than
    // three (Poisson, mean 1) and none with more than about 10. Measured: regular patterns
    // (sequences, grids) none at all, at most 3 in a slot; scattered groups 0-2.2%, at most 9.
    let n = SHARDS as u32;
    let grid = |k: u32| (0x0a00_0000 | (k >> 10), 0xe801_0000 | (k & 1023));
    for seed in [
        0,
        0x0123_4567_89ab_cdef,
        0xffff_ffff_0000_0000,
        0x9e37_79b9_7f4a_7c15,
    ] {
        let patterns: [(&str, Pattern); 4] = [
            (
                "sources of one group",
                Box::new(|k| (0x0a00_0000 + k, 0xef01_0101)),
            ),
            (
                "groups of one source",
                Box::new(|k| (0x0a00_0102, 0xe000_0000 + k)),
            ),
            ("1024 sources x 1024 groups", Box::new(grid)),
            (
                "(*,G) of scattered groups",
                Box::new(|k: u32| (0, 0xe000_0000 | (k.wrapping_mul(0x2545_f491) >> 4))),
            ),
        ];
        for (name, pattern) in patterns {
            let (over, max) = overflow((0..n).map(pattern), seed);
            assert!(
                over < SHARDS * 3 / 100 && max <= 12,
                "{name}, seed {seed:#x}: {over} slots over {FEW}, at most {max}"
            );
        }
    }
}

#[test]
fn four_flows_hash_to_the_slots_each_hashes_to_alone() {
    let (_w, readers) = new(1);
    let slots = readers[0].slots();
    let mut x = 0x1234_5678_u32;
    for _ in 0..1000 {
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let (s, g) = (
            [next(), next(), 0, next()],
            [next(), next(), next(), 0xe000_0001],
        );
        let four = slots.slots(&s, &g);
        for k in 0..4 {
            assert_eq!(four[k] as usize, slots.slot(s[k], g[k]));
            assert!((four[k] as usize) < SHARDS);
        }
    }
}

#[test]
fn the_vacant_key_is_never_stored_nor_found() {
    let (mut w, mut readers) = new(1);
    let all = ip("255.255.255.255");
    // Its slot's bucket holds one entry and two vacant places.
    let s = (0u32..)
        .find(|&s| w.shared.slot(key(s, u32::MAX)) == w.shared.slot(VACANT))
        .unwrap();
    w.insert(Some(Ipv4Addr::from(s)), all, route(0, 1));
    w.insert(Some(all), all, route(0, 2));
    w.publish();
    assert_eq!(w.len(), 1);
    assert_eq!(w.get(Some(all), all), None);
    let r = &mut readers[0];
    assert_eq!(r.lookup(u32::MAX, u32::MAX), None);
    assert_eq!(r.lookup(s, u32::MAX), Some(&route(0, 1)));
    r.quiescent();
}
