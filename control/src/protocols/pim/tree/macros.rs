//! The macros of RFC 7761 4.1.6 and 4.5 that the machines react to, over the state of one
//! group, with the assert terms of 4.6 (the assert state itself is `assert.rs`'s).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::assert_state::{AssertInfo, AssertMetric};
use super::state::{GroupState, Interfaces, SourceState};
use super::types::{Iface, Neighbor};

/// A set of interfaces.
pub type IfaceSet = BTreeSet<Iface>;

/// lost_assert(*,G,I): we lost an (*,G) assert on I, which is not RPF_interface(RP(G)).
pub fn lost_assert_star(g: &GroupState, iface: Iface) -> bool {
    g.rpf_iface != Some(iface) && g.asserts.get(&iface).is_some_and(|a| a.is_loser())
}

/// lost_assert(S,G,I): we lost an (S,G) assert on I, which is not RPF_interface(S), to a
/// winner whose metric is better than our spt_assert_metric(S,I).
pub fn lost_assert_sg(ifaces: &Interfaces, s: &SourceState, iface: Iface) -> bool {
    s.rpf_iface != Some(iface)
        && s.asserts.get(&iface).is_some_and(|a| {
            a.is_loser() && a.winner.better_than(&spt_assert_metric(ifaces, s, iface))
        })
}

/// lost_assert(S,G,rpt,I): we lost an (S,G) assert on I, unless I is RPF_interface(RP(G)) or
/// RPF_interface(S) with the SPT bit set.
pub fn lost_assert_sg_rpt(g: &GroupState, s: &SourceState, iface: Iface) -> bool {
    let exempt = g.rpf_iface == Some(iface) || (s.rpf_iface == Some(iface) && s.spt_bit);
    !exempt && s.asserts.get(&iface).is_some_and(|a| a.is_loser())
}

fn is_dr(ifaces: &Interfaces, iface: Iface) -> bool {
    ifaces.get(&iface).is_some_and(|p| p.is_dr)
}

/// joins(*,G): interfaces in Join or Prune-Pending.
pub fn joins_star(g: &GroupState) -> IfaceSet {
    g.downstream
        .iter()
        .filter(|(_, d)| d.is_joined())
        .map(|(i, _)| *i)
        .collect()
}

/// joins(S,G).
pub fn joins_sg(s: &SourceState) -> IfaceSet {
    s.downstream
        .iter()
        .filter(|(_, d)| d.is_joined())
        .map(|(i, _)| *i)
        .collect()
}

/// prunes(S,G,rpt): interfaces in Pruned or PruneTmp.
pub fn prunes_sg_rpt(s: &SourceState) -> IfaceSet {
    s.rpt
        .iter()
        .filter(|(_, r)| r.is_pruned())
        .map(|(i, _)| *i)
        .collect()
}

/// pim_include(*,G): members of G where we are DR and did not lose an (*,G) assert, or won
/// one.
pub fn pim_include_star(ifaces: &Interfaces, g: &GroupState) -> IfaceSet {
    g.local
        .iter()
        .copied()
        .filter(|i| (is_dr(ifaces, *i) && !lost_assert_star(g, *i)) || winner_star(g, *i))
        .collect()
}

/// pim_include(S,G): members of (S,G) where we are DR and did not lose an (S,G) assert, or
/// won one.
pub fn pim_include_sg(ifaces: &Interfaces, s: &SourceState) -> IfaceSet {
    s.local_include
        .iter()
        .copied()
        .filter(|i| (is_dr(ifaces, *i) && !lost_assert_sg(ifaces, s, *i)) || winner_sg(s, *i))
        .collect()
}

/// pim_exclude(S,G): members excluding S where we are DR and did not lose an (*,G) assert, or
/// won one.
pub fn pim_exclude_sg(ifaces: &Interfaces, g: &GroupState, s: &SourceState) -> IfaceSet {
    s.local_exclude
        .iter()
        .copied()
        .filter(|i| (is_dr(ifaces, *i) && !lost_assert_star(g, *i)) || winner_star(g, *i))
        .collect()
}

/// immediate_olist(*,G) = joins(*,G) (+) pim_include(*,G) (-) lost_assert(*,G).
pub fn immediate_olist_star(ifaces: &Interfaces, g: &GroupState) -> IfaceSet {
    let mut set = joins_star(g);
    set.extend(pim_include_star(ifaces, g));
    set.retain(|i| !lost_assert_star(g, *i));
    set
}

/// immediate_olist(S,G) = joins(S,G) (+) pim_include(S,G) (-) lost_assert(S,G).
pub fn immediate_olist_sg(ifaces: &Interfaces, s: &SourceState) -> IfaceSet {
    let mut set = joins_sg(s);
    set.extend(pim_include_sg(ifaces, s));
    set.retain(|i| !lost_assert_sg(ifaces, s, *i));
    set
}

/// inherited_olist(S,G,rpt) = (joins(*,G) (-) prunes(S,G,rpt)) (+) (pim_include(*,G) (-)
/// pim_exclude(S,G)) (-) (lost_assert(*,G) (+) lost_assert(S,G,rpt)).
pub fn inherited_olist_sg_rpt(ifaces: &Interfaces, g: &GroupState, s: &SourceState) -> IfaceSet {
    let prunes = prunes_sg_rpt(s);
    let exclude = pim_exclude_sg(ifaces, g, s);
    let mut set: IfaceSet = joins_star(g).difference(&prunes).copied().collect();
    set.extend(pim_include_star(ifaces, g).difference(&exclude));
    set.retain(|i| !lost_assert_star(g, *i) && !lost_assert_sg_rpt(g, s, *i));
    set
}

/// I_Am_Assert_Loser(S,G,I).
pub fn i_am_assert_loser_sg(s: &SourceState, iface: Iface) -> bool {
    s.asserts.get(&iface).is_some_and(|a| a.is_loser())
}

/// RPF'(S,G,rpt) where it differs from RPF'(*,G): the (S,G) assert winner on
/// RPF_interface(RP(G)) when we lost there.
pub fn rpf_sg_rpt_by_assert(g: &GroupState, s: &SourceState) -> Option<Neighbor> {
    assert_neighbor(&s.asserts, g.rpf_iface)
}

/// inherited_olist(S,G) = inherited_olist(S,G,rpt) (+) immediate_olist(S,G).
pub fn inherited_olist_sg(ifaces: &Interfaces, g: &GroupState, s: &SourceState) -> IfaceSet {
    let mut set = inherited_olist_sg_rpt(ifaces, g, s);
    set.extend(immediate_olist_sg(ifaces, s));
    set
}

/// JoinDesired(*,G) = immediate_olist(*,G) != NULL. (4.5.6; the RP is known, checked by the
/// driver: without RP(G) there is no one to join.)
pub fn join_desired_star(ifaces: &Interfaces, g: &GroupState) -> bool {
    !immediate_olist_star(ifaces, g).is_empty()
}

/// JoinDesired(S,G) = immediate_olist(S,G) != NULL OR (KeepaliveTimer(S,G) running AND
/// inherited_olist(S,G) != NULL) (4.5.7).
pub fn join_desired_sg(ifaces: &Interfaces, g: &GroupState, s: &SourceState) -> bool {
    !immediate_olist_sg(ifaces, s).is_empty()
        || (s.keepalive.is_some() && !inherited_olist_sg(ifaces, g, s).is_empty())
}

/// RPTJoinDesired(G) = JoinDesired(*,G) (4.5.9; no (*,*,RP) in RFC 7761).
pub fn rpt_join_desired(ifaces: &Interfaces, g: &GroupState) -> bool {
    join_desired_star(ifaces, g)
}

/// PruneDesired(S,G,rpt) = RPTJoinDesired(G) AND (inherited_olist(S,G,rpt) == NULL OR
/// (SPTbit(S,G) AND RPF'(*,G) != RPF'(S,G))) (4.5.9).
pub fn prune_desired_sg_rpt(
    ifaces: &Interfaces,
    g: &GroupState,
    s: &SourceState,
    rpf_star: Option<Neighbor>,
    rpf_sg: Option<Neighbor>,
) -> bool {
    rpt_join_desired(ifaces, g)
        && (inherited_olist_sg_rpt(ifaces, g, s).is_empty() || (s.spt_bit && rpf_star != rpf_sg))
}

/// Whether a Join(*,G) to RPF'(*,G) carries Prune(S,G,rpt) for `s` (4.5.8).
pub fn periodic_rpt_prune(
    ifaces: &Interfaces,
    g: &GroupState,
    s: &SourceState,
    rpf_star: Option<Neighbor>,
    rpf_sg: Option<Neighbor>,
) -> bool {
    if s.spt_bit {
        rpf_star != rpf_sg
    } else {
        inherited_olist_sg_rpt(ifaces, g, s).is_empty()
            || rpf_sg_rpt_by_assert(g, s).is_some_and(|w| Some(w) != rpf_star)
    }
}

fn my_ip(ifaces: &Interfaces, i: Iface) -> Ipv4Addr {
    ifaces.get(&i).map_or(Ipv4Addr::UNSPECIFIED, |p| p.address)
}

/// spt_assert_metric(S,I) = {0, MRIB.pref(S), MRIB.metric(S), my_ip_address(I)}.
pub fn spt_assert_metric(ifaces: &Interfaces, s: &SourceState, i: Iface) -> AssertMetric {
    AssertMetric::of(false, s.route_metric, my_ip(ifaces, i))
}

/// rpt_assert_metric(G,I) = {1, MRIB.pref(RP(G)), MRIB.metric(RP(G)), my_ip_address(I)}.
pub fn rpt_assert_metric(ifaces: &Interfaces, g: &GroupState, i: Iface) -> AssertMetric {
    AssertMetric::of(true, g.route_metric, my_ip(ifaces, i))
}

/// AssertWinner(*,G,I) == me.
pub fn winner_star(g: &GroupState, i: Iface) -> bool {
    g.asserts.get(&i).is_some_and(AssertInfo::is_winner)
}

/// AssertWinner(S,G,I) == me.
pub fn winner_sg(s: &SourceState, i: Iface) -> bool {
    s.asserts.get(&i).is_some_and(AssertInfo::is_winner)
}

/// The winner as the RPF neighbour on `iface` when we lost an assert there: RPF'(*,G) and
/// RPF'(S,G) of 4.1.6 (and RPF'(S,G,rpt) on the RP's interface).
pub fn assert_neighbor(
    asserts: &std::collections::BTreeMap<Iface, AssertInfo>,
    iface: Option<Iface>,
) -> Option<Neighbor> {
    let iface = iface?;
    asserts
        .get(&iface)
        .filter(|a| a.is_loser())
        .map(|a| Neighbor {
            iface,
            addr: a.winner.address,
        })
}
