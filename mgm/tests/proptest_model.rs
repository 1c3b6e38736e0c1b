//! Property test: after any random sequence of ownership, membership, miss, traffic and timer
//! operations, (1) every MFE's OIF list equals a simple reference model's, (2) the data plane
//! rebuilt from the drained MFE changes equals the MGM's table, (3) the membership-driven
//! join/prune alerts go exactly to the recipients the first/second/last rules name, and (4)
//! every miss and every re-validation makes one RPF callback, to the owner of the interface the
//! data arrived on (routing owner, else IGMP), carrying the route toward S, or none when that
//! interface has no owner or S no route (gap 1 as revised, gap 20).

mod common;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use common::*;
use mgm::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Take(usize, u32),
    Release(usize, u32),
    Join(usize, usize, u32),
    Leave(usize, usize, u32),
    Miss(usize, usize, u32),
    Traffic(usize, usize),
    Advance(u64),
}

const SOURCES: [&str; 3] = ["10.0.0.1", "20.0.0.1", "30.0.0.1"]; // via 1, via 2, no route
const GROUPS: [&str; 2] = ["239.0.0.1", "239.0.0.2"];
const NAMES: [&str; 3] = ["r1", "r2", "igmp"];

fn scopes() -> Vec<Scope> {
    let mut v = vec![Scope::All];
    for g in GROUPS {
        v.push(star(g));
        v.push(sg(SOURCES[0], g));
        v.push(sg(SOURCES[1], g));
    }
    v
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..5u32).prop_map(|(c, i)| Op::Take(c, i)),
        (0..3usize, 1..5u32).prop_map(|(c, i)| Op::Release(c, i)),
        (0..3usize, 0..7usize, 1..5u32).prop_map(|(c, s, i)| Op::Join(c, s, i)),
        (0..3usize, 0..7usize, 1..5u32).prop_map(|(c, s, i)| Op::Leave(c, s, i)),
        (0..3usize, 0..2usize, 1..5u32).prop_map(|(s, g, i)| Op::Miss(s, g, i)),
        (0..3usize, 0..2usize).prop_map(|(s, g)| Op::Traffic(s, g)),
        prop_oneof![Just(1u64), Just(300), Just(900)].prop_map(Op::Advance),
    ]
}

/// The reference model: plain sets, recomputed from scratch.
#[derive(Default)]
struct Model {
    /// iface -> (routing owner, igmp) by client index.
    own: BTreeMap<u32, (Option<usize>, Option<usize>)>,
    /// (scope, iface, adder).
    records: BTreeSet<(Scope, u32, usize)>,
    /// (group, source) -> (iif index or 0, created secs, active, arrival index).
    mfes: BTreeMap<(Ipv4Addr, Ipv4Addr), (u32, u64, bool, u32)>,
    now: u64,
}

const IGMP: usize = 2;

impl Model {
    fn owner(&self, i: u32) -> Option<usize> {
        self.own.get(&i).and_then(|o| o.0.or(o.1))
    }

    fn component(&self, i: u32, adder: usize) -> usize {
        self.own.get(&i).and_then(|o| o.0).unwrap_or(adder)
    }

    fn comps(&self, scope: Scope) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for &(s, i, a) in &self.records {
            let counts =
                s == scope || (matches!(scope, Scope::AnySource { .. }) && s == Scope::All);
            if counts {
                out.insert(self.component(i, a));
            }
        }
        out
    }

    fn route(&self, source: Ipv4Addr) -> u32 {
        match source.octets()[0] {
            10 => 1,
            20 => 2,
            _ => 0,
        }
    }

    fn oifs(&self, g: Ipv4Addr, s: Ipv4Addr, iif: u32) -> Vec<InterfaceId> {
        // Gap 20: no route to S (IIF 0) means a negative MFE, whatever the memberships.
        if iif == 0 {
            return Vec::new();
        }
        let covers = |sc: &Scope| match *sc {
            Scope::All => true,
            Scope::AnySource { group } => group == g,
            Scope::SourceGroup { source, group } => group == g && source == s,
        };
        let set: BTreeSet<u32> = self
            .records
            .iter()
            .filter(|(sc, i, _)| covers(sc) && *i != iif && self.own.contains_key(i))
            .map(|r| r.1)
            .collect();
        set.into_iter().map(ifc).collect()
    }

    /// The RPF callback a miss (or re-validation) of (S,G) arriving on `arrival` makes:
    /// (recipient, source, group, route's IIF index).
    fn rpf_call(
        &self,
        s: Ipv4Addr,
        g: Ipv4Addr,
        arrival: u32,
    ) -> Option<(usize, Ipv4Addr, Ipv4Addr, u32)> {
        let iif = self.route(s);
        if iif == 0 {
            return None;
        }
        self.owner(arrival).map(|o| (o, s, g, iif))
    }

    fn drop_records(&mut self, i: u32, only: Option<usize>) {
        self.records
            .retain(|&(_, ri, a)| !(ri == i && (only.is_none() || only == Some(a))));
    }

    fn drop_iif(&mut self, i: u32) {
        self.mfes.retain(|_, m| m.0 != i);
    }

    /// Expected recipients of member alerts for a join/leave that succeeded.
    fn rule(
        &self,
        scope: Scope,
        c: usize,
        adder: usize,
        before: &BTreeSet<usize>,
        after: &BTreeSet<usize>,
        join: bool,
    ) -> BTreeSet<usize> {
        let changed = if join {
            !before.contains(&c) && after.contains(&c)
        } else {
            before.contains(&c) && !after.contains(&c)
        };
        if !changed {
            return BTreeSet::new();
        }
        let me = [c, adder];
        let all: BTreeSet<usize> = (0..3).filter(|x| !me.contains(x)).collect();
        let n = after.len();
        match scope {
            Scope::SourceGroup { source, .. } => {
                if (join && n == 1) || (!join && n == 0) {
                    self.owner(self.route(source))
                        .filter(|o| !me.contains(o))
                        .into_iter()
                        .collect()
                } else {
                    BTreeSet::new()
                }
            }
            _ => match (join, n) {
                (true, 1) | (false, 0) => all,
                (true, 2) | (false, 1) => {
                    after.iter().copied().filter(|x| !me.contains(x)).collect()
                }
                _ => BTreeSet::new(),
            },
        }
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = H::new();
    let handles = [h.reg("r1", PIM, 1), h.reg("r2", DVMRP, 1), h.igmp()];
    h.route("10.0.0.0", 8, ifc(1), "10.0.0.254");
    h.route("20.0.0.0", 8, ifc(2), "20.0.0.254");
    let mut m = Model::default();
    let mut plane: BTreeMap<(Ipv4Addr, Ipv4Addr), MfeEntry> = BTreeMap::new();
    let scopes = scopes();
    for op in ops {
        h.events();
        let mut expected_alerts: Option<(Scope, bool, BTreeSet<usize>)> = None;
        let mut expected_rpf: Vec<(usize, Ipv4Addr, Ipv4Addr, u32)> = Vec::new();
        match op {
            Op::Take(c, i) => {
                let r = h.take(handles[c], ifc(i));
                let o = m.own.get(&i).copied().unwrap_or_default();
                let ok = if c == IGMP {
                    o.1.is_none()
                } else {
                    o.0.is_none()
                };
                prop_assert_eq!(r.is_ok(), ok);
                if ok {
                    if c == IGMP {
                        m.own.entry(i).or_default().1 = Some(c);
                    } else {
                        if let Some(g) = o.1 {
                            m.drop_records(i, Some(g));
                        }
                        m.own.entry(i).or_default().0 = Some(c);
                    }
                }
            }
            Op::Release(c, i) => {
                let r = h.release(handles[c], ifc(i));
                let o = m.own.get(&i).copied().unwrap_or_default();
                if c == IGMP && o.1 == Some(c) && o.0.is_some() {
                    m.drop_records(i, Some(c));
                    m.own.entry(i).or_default().1 = None;
                } else if (c != IGMP && o.0 == Some(c)) || (c == IGMP && o.1 == Some(c)) {
                    m.drop_records(i, None);
                    if c != IGMP && o.1.is_some() {
                        m.own.entry(i).or_default().0 = None;
                    } else {
                        m.own.remove(&i);
                    }
                    m.drop_iif(i);
                } else {
                    prop_assert!(r.is_err());
                    continue;
                }
                prop_assert!(r.is_ok());
            }
            Op::Join(c, s, i) | Op::Leave(c, s, i) => {
                let join = matches!(op, Op::Join(..));
                let scope = scopes[s];
                let r = if join {
                    h.join(handles[c], scope, ifc(i))
                } else {
                    h.leave(handles[c], scope, ifc(i))
                };
                let o = m.own.get(&i).copied();
                let allowed = o.is_some_and(|o| {
                    if c == IGMP {
                        o.1 == Some(c)
                    } else {
                        o.0 == Some(c)
                    }
                });
                let present = m.records.contains(&(scope, i, c));
                prop_assert_eq!(r.is_ok(), allowed && (join || present), "{:?} {:?}", op, r);
                if r.is_ok() && (join != present) {
                    let before = m.comps(scope);
                    if join {
                        m.records.insert((scope, i, c));
                    } else {
                        m.records.remove(&(scope, i, c));
                    }
                    let after = m.comps(scope);
                    let comp = m.component(i, c);
                    expected_alerts =
                        Some((scope, join, m.rule(scope, comp, c, &before, &after, join)));
                }
            }
            Op::Miss(s, g, i) => {
                let (src, grp) = (ip(SOURCES[s]), ip(GROUPS[g]));
                h.miss(SOURCES[s], GROUPS[g], ifc(i)).unwrap();
                let iif = m.route(src);
                if !m.mfes.contains_key(&(grp, src)) {
                    expected_rpf.extend(m.rpf_call(src, grp, i));
                    m.mfes.insert((grp, src), (iif, m.now, false, i));
                }
            }
            Op::Traffic(s, g) => {
                let key = (ip(GROUPS[g]), ip(SOURCES[s]));
                if let Some(e) = m.mfes.get_mut(&key) {
                    e.2 = true;
                    h.traffic(SOURCES[s], GROUPS[g], 1);
                }
            }
            Op::Advance(d) => {
                h.advance(d);
                m.now += d;
                let now = m.now;
                m.mfes.retain(|_, e| e.1 + 900 > now || e.2);
                let due: Vec<_> = m
                    .mfes
                    .iter()
                    .filter(|(_, e)| e.1 + 900 <= now)
                    .map(|(&(g, s), e)| (g, s, e.3))
                    .collect();
                for (g, s, arrival) in due {
                    expected_rpf.extend(m.rpf_call(s, g, arrival));
                    let e = m.mfes.get_mut(&(g, s)).expect("due entry");
                    *e = (e.0, now, false, arrival);
                }
            }
        }
        let evs = h.events();
        // (4) RPF callbacks: recipient and input.
        let mut got_rpf: Vec<_> = evs
            .iter()
            .filter_map(|e| match e {
                Ev::Rpf {
                    to,
                    source,
                    group,
                    iif,
                    ..
                } => Some((
                    NAMES.iter().position(|n| n == to).unwrap(),
                    *source,
                    *group,
                    iif.index,
                )),
                _ => None,
            })
            .collect();
        got_rpf.sort();
        expected_rpf.sort();
        prop_assert_eq!(got_rpf, expected_rpf, "RPF callbacks after {:?}", op);
        // (3) membership alerts.
        if let Some((scope, join, want)) = expected_alerts {
            let entry = scope.to_entry();
            let got: BTreeSet<usize> = evs
                .iter()
                .filter(|e| match e {
                    Ev::Join {
                        scope,
                        member_update: true,
                        ..
                    } => join && *scope == entry,
                    Ev::Prune {
                        scope,
                        member_delete: true,
                        ..
                    } => !join && *scope == entry,
                    _ => false,
                })
                .map(|e| NAMES.iter().position(|n| *n == e.to()).unwrap())
                .collect();
            prop_assert_eq!(got, want, "alerts for {:?} join={}", scope, join);
        }
        // (1) MFE set and OIF lists.
        let table: Vec<MibMfe> = h.mgm.mfes(h.now).collect();
        let keys: Vec<_> = table.iter().map(|t| (t.group, t.source)).collect();
        let model_keys: Vec<_> = m.mfes.keys().copied().collect();
        prop_assert_eq!(keys, model_keys);
        for t in &table {
            let (iif, ..) = m.mfes[&(t.group, t.source)];
            prop_assert_eq!(t.iif.index, iif);
            prop_assert_eq!(
                &t.oifs,
                &m.oifs(t.group, t.source, iif),
                "oifs of {:?}",
                (t.source, t.group)
            );
        }
        // (2) the data plane built from the change stream matches.
        for c in h.changes() {
            match c {
                MfeChange::Install(e) => {
                    prop_assert!(
                        plane.insert((e.group, e.source), e).is_none(),
                        "install over an existing entry"
                    );
                }
                MfeChange::Update(e) => {
                    prop_assert!(
                        plane.insert((e.group, e.source), e).is_some(),
                        "update of a missing entry"
                    );
                }
                MfeChange::Delete { source, group } => {
                    prop_assert!(
                        plane.remove(&(group, source)).is_some(),
                        "delete of a missing entry"
                    );
                }
            }
        }
        let plane_view: Vec<_> = plane
            .values()
            .map(|e| (e.group, e.source, e.iif, e.oifs.clone()))
            .collect();
        let mgm_view: Vec<_> = table
            .iter()
            .map(|t| (t.group, t.source, t.iif, t.oifs.clone()))
            .collect();
        prop_assert_eq!(plane_view, mgm_view);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn oif_lists_changes_and_alerts_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
