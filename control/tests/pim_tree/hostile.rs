//! Hostile and random input: the state limit, and thousands of random Join/Prune messages,
//! memberships, route changes and data mixed with time, after which the announced outgoing
//! sets still match the state, nothing panicked, and everything drains away at the end.

use crate::harness::*;
use control::protocols::pim::tree::*;
use dataplane::wire::pim::{EncodedGroup, EncodedSource, GroupSet, JoinPrune};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

#[test]
fn state_beyond_the_limit_is_refused_and_counted() {
    let mut lab = Lab::with(TreeConfig {
        max_entries: 10,
        ..TreeConfig::default()
    });
    let joins: Vec<EncodedSource> = (1..=20).map(|i| sg(Ipv4Addr::new(10, 7, 0, i))).collect();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &joins, &[]));
    let g = lab.group(G).unwrap();
    assert_eq!(g.sources.len(), 9, "the group and nine sources");
    assert_eq!(lab.tib.counters().entry_limit, 11);
    lab.local(DOWN, G2_LIMIT, LocalMember::AnySource, true);
    assert!(lab.group(G2_LIMIT).is_none());
    assert_eq!(lab.tib.counters().entry_limit, 12);
    // What was taken still works: the joins expire and free the room.
    lab.advance(secs(211));
    assert!(lab.group(G).is_none());
    lab.local(DOWN, G2_LIMIT, LocalMember::AnySource, true);
    assert!(lab.group(G2_LIMIT).is_some());
}

const G2_LIMIT: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 3);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const SOURCES: [Ipv4Addr; 4] = [
    S,
    S2,
    Ipv4Addr::new(10, 7, 0, 1),
    Ipv4Addr::new(10, 7, 0, 2),
];
const GROUPS: [Ipv4Addr; 5] = [
    G,
    G2_LIMIT,
    SSM_G,
    Ipv4Addr::new(10, 0, 0, 9),
    Ipv4Addr::new(239, 9, 9, 9),
];

fn random_entry(rng: &mut Rng) -> EncodedSource {
    let source = rng.pick(&SOURCES);
    match rng.below(7) {
        0 | 1 => star(),
        2 => EncodedSource::star_g(Ipv4Addr::new(10, 0, 0, 99)),
        3 => sg(source),
        4 => rpt(source),
        5 => EncodedSource {
            wildcard: true,
            rpt: false,
            ..sg(source)
        },
        _ => EncodedSource {
            mask_len: rng.below(33) as u8,
            ..sg(source)
        },
    }
}

fn random_message(rng: &mut Rng) -> JoinPrune {
    let to = rng.pick(&[
        ME_DOWN,
        ME_LAN,
        ME_UP,
        NBR_UP,
        NBR_UP2,
        Ipv4Addr::new(1, 2, 3, 4),
    ]);
    let any = rng.below(65536) as u16;
    let holdtime = rng.pick(&[0, 1, 3, HOLD, HOLDTIME_INFINITE, any]);
    let groups = (0..rng.below(4))
        .map(|_| GroupSet {
            group: EncodedGroup::range(rng.pick(&GROUPS), rng.pick(&[32, 32, 32, 24])),
            joins: (0..rng.below(4)).map(|_| random_entry(rng)).collect(),
            prunes: (0..rng.below(4)).map(|_| random_entry(rng)).collect(),
        })
        .collect();
    JoinPrune {
        upstream_neighbor: to,
        holdtime,
        groups,
    }
}

/// The outgoing sets the events announced, replayed.
fn replay(events: &[TreeEvent], sets: &mut BTreeMap<Entry, BTreeSet<Iface>>) {
    for e in events {
        match *e {
            TreeEvent::OifAdded { entry, iface } => {
                assert!(
                    sets.entry(entry).or_default().insert(iface),
                    "added twice: {e:?}"
                );
            }
            TreeEvent::OifRemoved { entry, iface } => {
                assert!(
                    sets.entry(entry).or_default().remove(&iface),
                    "removed unknown: {e:?}"
                );
            }
        }
    }
    sets.retain(|_, s| !s.is_empty());
}

fn announced_by_state(lab: &Lab) -> BTreeMap<Entry, BTreeSet<Iface>> {
    let mut out = BTreeMap::new();
    for (group, g) in lab.tib.groups() {
        if !g.oifs.is_empty() {
            out.insert(Entry::StarG { group: *group }, g.oifs.clone());
        }
        for (source, s) in &g.sources {
            if !s.oifs.is_empty() {
                let entry = Entry::Sg {
                    source: *source,
                    group: *group,
                };
                out.insert(entry, s.oifs.clone());
            }
        }
    }
    out
}

#[test]
fn random_input_keeps_the_announced_sets_true_and_drains_at_the_end() {
    let seeds: u64 = std::env::var("PIM_TREE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for seed in 0..seeds {
        random_run(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    }
}

fn random_run(seed: u64) {
    let mut lab = Lab::with(TreeConfig {
        max_entries: 12,
        ..TreeConfig::default()
    });
    let mut rng = Rng(seed);
    let mut sets = BTreeMap::new();
    for step in 0..5000 {
        let op = rng.below(10);
        let before: usize = lab.tib.groups().values().map(|g| 1 + g.sources.len()).sum();
        match op {
            0..=4 => {
                let iface = rng.pick(&[UP, DOWN, LAN, Iface::from_index(7)]);
                let msg = random_message(&mut rng);
                lab.receive(iface, msg);
            }
            5 => {
                let member = match rng.below(3) {
                    0 => LocalMember::AnySource,
                    1 => LocalMember::Source(rng.pick(&SOURCES)),
                    _ => LocalMember::ExcludeSource(rng.pick(&SOURCES)),
                };
                let (iface, group, present) = (
                    rng.pick(&[UP, DOWN, LAN]),
                    rng.pick(&GROUPS),
                    rng.below(2) == 0,
                );
                lab.local(iface, group, member, present);
            }
            6 => {
                let target = rng.pick(&[RP, S, S2]);
                match rng.below(3) {
                    0 => lab.env.routes.remove(&target),
                    1 => lab.env.routes.insert(target, upstream(NBR_UP)),
                    _ => lab.env.routes.insert(target, upstream(NBR_UP2)),
                };
                lab.routes_changed();
            }
            7 => {
                let (source, group, iif) =
                    (rng.pick(&SOURCES), rng.pick(&GROUPS), rng.pick(&[UP, DOWN]));
                lab.tib.data_arrived(lab.now, source, group, iif, &lab.env);
                lab.drain();
            }
            8 => {
                lab.tib
                    .neighbor_restarted(lab.now, UP, rng.pick(&[NBR_UP, NBR_UP2]), &lab.env);
                lab.drain();
            }
            _ => lab.advance(Duration::from_millis(rng.below(120_000))),
        }
        let events = lab.take_events();
        replay(&events, &mut sets);
        assert_eq!(
            sets,
            announced_by_state(&lab),
            "seed {seed:#x} step {step} op {op}"
        );
        let entries: usize = lab.tib.groups().values().map(|g| 1 + g.sources.len()).sum();
        assert!(
            entries <= 12,
            "seed {seed:#x}: {entries} entries after op {op} at step {step}, {before} before"
        );
        assert!(lab.tib.groups().values().all(|g| !g.is_idle()));
        lab.messages.clear();
    }
    let c = lab.tib.counters();
    assert!(c.bad_entry > 0 && c.wrong_rp > 0 && c.ssm_shared_tree_ignored > 0);
    assert!(c.entry_limit > 0 && c.unknown_interface > 0);
    // Everything goes when the interfaces do and the keepalives run out.
    for iface in [UP, DOWN, LAN] {
        lab.tib.remove_interface(lab.now, iface, &lab.env);
        lab.drain();
    }
    lab.advance(secs(300));
    replay(&lab.take_events(), &mut sets);
    assert!(sets.is_empty(), "{sets:?}");
    assert!(lab.tib.groups().is_empty(), "{:?}", lab.tib.groups());
    assert_eq!(lab.tib.poll_timeout(), None);
}
