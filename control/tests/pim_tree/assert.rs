//! Assert (RFC 7761 4.6) with a virtual clock: one test per row of the (S,G) table (4.6.1)
//! and of the (*,G) table (4.6.2), driven through `Tib` with real Assert and Join/Prune
//! messages and data on an outgoing interface (the MGM's wrong-interface callback), plus what
//! the result changes: the outgoing sets, RPF' toward the winner, the forwarding entries to
//! re-check, and refused input.
//!
//! The lab (harness.rs): we are 10.3.0.1 on LAN with NBR_LAN 10.3.0.9 beside us (a higher
//! address: it wins a tie), the RP and S behind NBR_UP on UP. Our route metric toward S and
//! the RP is (10, 10): an assert with preference 20 is inferior, 5 preferred.

use super::harness::*;
use control::protocols::pim::tree::assert_state::{ASSERT_OVERRIDE_INTERVAL, ASSERT_TIME};
use control::protocols::pim::tree::*;
use dataplane::wire::pim::{Assert, EncodedGroup};
use std::net::Ipv4Addr;

const OTHER_LAN: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 20);
const ZERO: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

fn msg(source: Ipv4Addr, rpt: bool, preference: u32, metric: u32) -> Assert {
    Assert {
        group: EncodedGroup::host(G),
        source,
        rpt,
        metric_preference: preference,
        metric,
    }
}

fn cancel(source: Ipv4Addr) -> Assert {
    msg(source, true, 0x7fff_ffff, u32::MAX)
}

fn recv(lab: &mut Lab, iface: Iface, from: Ipv4Addr, m: Assert) {
    lab.tib.handle_assert(lab.now, iface, from, &m, &lab.env);
    lab.drain();
}

fn data_on(lab: &mut Lab, source: Ipv4Addr, iface: Iface) {
    lab.tib
        .data_on_wrong_interface(lab.now, source, G, iface, &lab.env);
    lab.drain();
}

fn sent(lab: &mut Lab) -> Vec<OutgoingAssert> {
    std::iter::from_fn(|| lab.tib.poll_assert()).collect()
}

fn sg_assert(lab: &Lab, iface: Iface) -> Option<AssertInfo> {
    lab.source(S, G)
        .and_then(|s| s.asserts.get(&iface).copied())
}

fn star_assert(lab: &Lab, iface: Iface) -> Option<AssertInfo> {
    lab.group(G).and_then(|g| g.asserts.get(&iface).copied())
}

fn metric10() -> RouteMetric {
    RouteMetric {
        preference: 10,
        metric: 10,
    }
}

/// (S,G) joined from LAN and DOWN, data on the SPT: CouldAssert(S,G,LAN). (DOWN keeps the
/// SPT joined, and so CouldAssert, when we lose on LAN: a loser that cannot assert has an
/// infinite metric, to which every assert is acceptable.)
fn sg_lab() -> Lab {
    let mut lab = Lab::new();
    lab.env.metrics.insert(S, metric10());
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[sg(S)], &[]));
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[sg(S)], &[]));
    lab.tib.data_arrived(lab.now, S, G, UP, &lab.env);
    lab.drain();
    assert!(lab.source(S, G).unwrap().spt_bit);
    lab.take_sent();
    lab.take_events();
    sent(&mut lab);
    lab
}

/// (S,G) joined from LAN, no data yet: AssertTrackingDesired(S,G,LAN) but not CouldAssert.
fn sg_tracking_lab() -> Lab {
    let mut lab = Lab::new();
    lab.env.metrics.insert(S, metric10());
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[sg(S)], &[]));
    lab.take_sent();
    lab.take_events();
    lab
}

/// sg_lab, then NBR_LAN wins with a preferred assert.
fn sg_loser_lab() -> Lab {
    let mut lab = sg_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 5, 0));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.winner.address, NBR_LAN);
    lab.take_events();
    lab
}

/// (*,G) joined from LAN: CouldAssert(*,G,LAN).
fn star_lab() -> Lab {
    let mut lab = Lab::new();
    lab.env.metrics.insert(RP, metric10());
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    lab.take_sent();
    lab.take_events();
    lab
}

fn star_loser_lab() -> Lab {
    let mut lab = star_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 5, 0));
    let a = star_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    lab.take_events();
    lab
}

fn winner(lab: &Lab, a: Option<AssertInfo>) -> AssertInfo {
    let a = a.expect("assert state");
    assert_eq!(a.state, AssertState::Winner);
    assert_eq!(a.winner.address, ME_LAN);
    assert_eq!(a.timer, lab.now + ASSERT_TIME - ASSERT_OVERRIDE_INTERVAL);
    a
}

/// One Assert out of LAN from us with this metric.
fn one_assert(out: &[OutgoingAssert], source: Ipv4Addr, rpt: bool, preference: u32, metric: u32) {
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].iface, LAN);
    assert_eq!(out[0].src, ME_LAN);
    assert_eq!(out[0].message, msg(source, rpt, preference, metric));
}

// ---- (S,G) 4.6.1, NoInfo ----

#[test]
fn sg_noinfo_inferior_assert_rpt_clear_could_assert_wins() {
    let mut lab = sg_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 20, 0));
    winner(&lab, sg_assert(&lab, LAN));
    one_assert(&sent(&mut lab), S, false, 10, 10);
    // The winner keeps forwarding.
    assert!(lab.source(S, G).unwrap().oifs.contains(&LAN));
    assert!(lab.take_events().is_empty());
}

#[test]
fn sg_noinfo_assert_rpt_set_could_assert_wins() {
    let mut lab = sg_lab();
    // Even a better preference loses on the shared tree against our SPT.
    recv(&mut lab, LAN, NBR_LAN, msg(S, true, 0, 0));
    winner(&lab, sg_assert(&lab, LAN));
    one_assert(&sent(&mut lab), S, false, 10, 10);
}

#[test]
fn sg_noinfo_data_on_outgoing_interface_could_assert_wins() {
    let mut lab = sg_lab();
    data_on(&mut lab, S, LAN);
    winner(&lab, sg_assert(&lab, LAN));
    one_assert(&sent(&mut lab), S, false, 10, 10);
    // Data on the RPF interface is no assert trigger.
    data_on(&mut lab, S, UP);
    assert!(sg_assert(&lab, UP).is_none());
    assert!(sent(&mut lab).is_empty());
}

#[test]
fn sg_noinfo_data_without_could_assert_changes_nothing() {
    let mut lab = sg_tracking_lab();
    data_on(&mut lab, S, LAN);
    assert!(sg_assert(&lab, LAN).is_none());
    assert!(sent(&mut lab).is_empty());
}

#[test]
fn sg_noinfo_acceptable_assert_tracking_desired_loses_and_prunes_the_interface() {
    let mut lab = sg_tracking_lab();
    // Equal metric, higher address: NBR_LAN's is better than our spt_assert_metric.
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 10, 10));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.winner.address, NBR_LAN);
    assert_eq!(a.timer, lab.now + ASSERT_TIME);
    assert!(sent(&mut lab).is_empty(), "a loser says nothing");
    assert_eq!(lab.take_events(), vec![removed(sg_entry(S, G), LAN)]);
    assert_eq!(lab.tib.poll_forwarding_change(), Some((Some(S), G)));
    assert!(lab.tib.excludes(S, G, LAN));
}

#[test]
fn sg_noinfo_acceptable_assert_on_rpf_interface_sets_spt_bit_and_joins_the_winner() {
    let mut lab = sg_tracking_lab();
    assert!(!lab.source(S, G).unwrap().spt_bit);
    // NBR_UP2 wins on our upstream LAN (A6): the SPT bit, and RPF'(S,G) is the winner.
    recv(&mut lab, UP, NBR_UP2, msg(S, false, 1, 0));
    let s = lab.source(S, G).unwrap();
    assert_eq!(s.asserts[&UP].state, AssertState::Loser);
    assert!(s.spt_bit);
    assert_eq!(
        s.upstream.rpf,
        Some(Neighbor {
            iface: UP,
            addr: NBR_UP2
        })
    );
    // A change due to an assert: the Join goes to the winner within t_override, no prune.
    assert!(lab.take_sent().is_empty());
    lab.advance(secs(4));
    let out = lab.take_sent();
    assert!(out.contains(&join(NBR_UP2, G, sg(S))), "{out:?}");
    assert!(!out.iter().any(|s| !s.join));
}

#[test]
fn sg_noinfo_assert_for_nobody_is_ignored_and_counted() {
    let mut lab = sg_tracking_lab();
    // DOWN is not in the (S,G) outgoing set: neither CouldAssert nor tracking.
    recv(
        &mut lab,
        DOWN,
        Ipv4Addr::new(10, 2, 0, 2),
        msg(S, false, 1, 0),
    );
    assert!(lab.source(S, G).unwrap().asserts.is_empty());
    assert_eq!(lab.tib.counters().assert_ignored, 1);
}

// ---- (S,G) 4.6.1, Winner ----

#[test]
fn sg_winner_inferior_assert_reasserts() {
    let mut lab = sg_lab();
    data_on(&mut lab, S, LAN);
    sent(&mut lab);
    lab.advance(secs(50));
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 30, 0));
    winner(&lab, sg_assert(&lab, LAN));
    one_assert(&sent(&mut lab), S, false, 10, 10);
}

#[test]
fn sg_winner_preferred_assert_loses() {
    let mut lab = sg_lab();
    data_on(&mut lab, S, LAN);
    sent(&mut lab);
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 5, 0));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.winner.address, NBR_LAN);
    assert_eq!(a.winner.preference, 5);
    assert_eq!(a.timer, lab.now + ASSERT_TIME);
    assert!(sent(&mut lab).is_empty());
    // The loser stops forwarding there.
    assert_eq!(lab.take_events(), vec![removed(sg_entry(S, G), LAN)]);
}

#[test]
fn sg_winner_assert_timer_expiry_reasserts() {
    let mut lab = sg_lab();
    data_on(&mut lab, S, LAN);
    sent(&mut lab);
    lab.advance(ASSERT_TIME - ASSERT_OVERRIDE_INTERVAL);
    winner(&lab, sg_assert(&lab, LAN));
    one_assert(&sent(&mut lab), S, false, 10, 10);
}

#[test]
fn sg_winner_could_assert_false_cancels() {
    let mut lab = sg_lab();
    data_on(&mut lab, S, LAN);
    sent(&mut lab);
    // The downstream router prunes: after the override interval LAN leaves joins(S,G).
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[], &[sg(S)]));
    lab.advance(secs(4));
    assert!(sg_assert(&lab, LAN).is_none());
    one_assert(&sent(&mut lab), S, true, 0x7fff_ffff, u32::MAX);
}

// ---- (S,G) 4.6.1, Loser ----

#[test]
fn sg_loser_preferred_assert_changes_winner() {
    let mut lab = sg_loser_lab();
    recv(&mut lab, LAN, OTHER_LAN, msg(S, false, 1, 0));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.winner.address, OTHER_LAN);
    assert_eq!(a.timer, lab.now + ASSERT_TIME);
}

#[test]
fn sg_loser_acceptable_assert_from_winner_refreshes() {
    let mut lab = sg_loser_lab();
    lab.advance(secs(100));
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 5, 0));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.timer, lab.now + ASSERT_TIME);
    // An assert from another router that does not beat the winner changes nothing.
    let t = a.timer;
    lab.advance(secs(1));
    recv(&mut lab, LAN, OTHER_LAN, msg(S, false, 7, 0));
    assert_eq!(sg_assert(&lab, LAN).unwrap().timer, t);
}

#[test]
fn sg_loser_inferior_assert_from_winner_forgets() {
    let mut lab = sg_loser_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 20, 0));
    assert!(sg_assert(&lab, LAN).is_none());
    // Forwarding comes back.
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, G), LAN)]);
    assert_eq!(lab.tib.poll_forwarding_change(), Some((Some(S), G)));
}

#[test]
fn sg_loser_assert_cancel_from_winner_forgets() {
    let mut lab = sg_loser_lab();
    recv(&mut lab, LAN, NBR_LAN, cancel(S));
    assert!(sg_assert(&lab, LAN).is_none());
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, G), LAN)]);
}

#[test]
fn sg_loser_assert_timer_expiry_forgets() {
    let mut lab = sg_loser_lab();
    lab.advance(ASSERT_TIME - secs(1));
    assert!(sg_assert(&lab, LAN).is_some());
    lab.advance(secs(1));
    assert!(sg_assert(&lab, LAN).is_none());
    assert!(lab.take_events().contains(&added(sg_entry(S, G), LAN)));
}

#[test]
fn sg_loser_winner_neighbor_gone_forgets() {
    let mut lab = sg_loser_lab();
    // Another neighbour going changes nothing.
    lab.tib.neighbor_gone(lab.now, LAN, OTHER_LAN, &lab.env);
    assert!(sg_assert(&lab, LAN).is_some());
    lab.tib.neighbor_gone(lab.now, LAN, NBR_LAN, &lab.env);
    lab.drain();
    assert!(sg_assert(&lab, LAN).is_none());
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, G), LAN)]);
}

#[test]
fn sg_loser_tracking_desired_false_forgets() {
    let mut lab = sg_tracking_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 5, 0));
    assert!(sg_assert(&lab, LAN).is_some_and(|a| a.is_loser()));
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[], &[sg(S)]));
    lab.advance(secs(4));
    assert!(lab.source(S, G).is_none_or(|s| s.asserts.is_empty()));
}

#[test]
fn sg_loser_my_metric_becomes_better_forgets() {
    let mut lab = sg_loser_lab();
    lab.env.metrics.insert(
        S,
        RouteMetric {
            preference: 1,
            metric: 0,
        },
    );
    lab.routes_changed();
    assert!(sg_assert(&lab, LAN).is_none());
    assert!(lab.take_events().contains(&added(sg_entry(S, G), LAN)));
}

#[test]
fn sg_loser_rpf_interface_moves_forgets() {
    let mut lab = sg_tracking_lab();
    recv(&mut lab, UP, NBR_UP2, msg(S, false, 1, 0));
    assert!(sg_assert(&lab, UP).is_some_and(|a| a.is_loser()));
    lab.env.routes.insert(
        S,
        Rpf {
            iface: DOWN,
            neighbor: Some(Ipv4Addr::new(10, 2, 0, 2)),
        },
    );
    lab.routes_changed();
    assert!(sg_assert(&lab, UP).is_none());
}

#[test]
fn sg_loser_join_for_us_forgets() {
    let mut lab = sg_loser_lab();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[sg(S)], &[]));
    assert!(sg_assert(&lab, LAN).is_none());
    assert!(lab.take_events().contains(&added(sg_entry(S, G), LAN)));
    // A join for another router on the LAN does not.
    let mut lab = sg_loser_lab();
    lab.receive(LAN, jp(NBR_LAN, HOLD, G, &[sg(S)], &[]));
    assert!(sg_assert(&lab, LAN).is_some());
}

// ---- (*,G) 4.6.2 ----

#[test]
fn star_noinfo_inferior_assert_could_assert_wins() {
    let mut lab = star_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 20, 0));
    winner(&lab, star_assert(&lab, LAN));
    one_assert(&sent(&mut lab), ZERO, true, 10, 10);
    assert!(lab.group(G).unwrap().oifs.contains(&LAN));
}

#[test]
fn star_noinfo_data_on_outgoing_interface_could_assert_wins() {
    let mut lab = star_lab();
    data_on(&mut lab, S2, LAN);
    winner(&lab, star_assert(&lab, LAN));
    // The (*,G) assert names the source of the packet that triggered it.
    one_assert(&sent(&mut lab), S2, true, 10, 10);
}

#[test]
fn star_noinfo_acceptable_assert_tracking_desired_loses() {
    let mut lab = star_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 5, 0));
    let a = star_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert_eq!(a.winner.address, NBR_LAN);
    assert_eq!(a.timer, lab.now + ASSERT_TIME);
    assert!(sent(&mut lab).is_empty());
    assert_eq!(lab.take_events(), vec![removed(star_entry(G), LAN)]);
    assert_eq!(lab.tib.poll_forwarding_change(), Some((None, G)));
    assert!(lab.tib.excludes(S2, G, LAN));
}

#[test]
fn star_winner_inferior_assert_reasserts() {
    let mut lab = star_lab();
    data_on(&mut lab, S2, LAN);
    sent(&mut lab);
    lab.advance(secs(10));
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 30, 0));
    winner(&lab, star_assert(&lab, LAN));
    one_assert(&sent(&mut lab), ZERO, true, 10, 10);
}

#[test]
fn star_winner_preferred_assert_loses() {
    let mut lab = star_lab();
    data_on(&mut lab, S2, LAN);
    sent(&mut lab);
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 5, 0));
    assert!(star_assert(&lab, LAN).is_some_and(|a| a.is_loser()));
    assert_eq!(lab.take_events(), vec![removed(star_entry(G), LAN)]);
}

#[test]
fn star_winner_assert_timer_expiry_reasserts() {
    let mut lab = star_lab();
    data_on(&mut lab, S2, LAN);
    sent(&mut lab);
    lab.advance(ASSERT_TIME - ASSERT_OVERRIDE_INTERVAL);
    winner(&lab, star_assert(&lab, LAN));
    one_assert(&sent(&mut lab), ZERO, true, 10, 10);
}

#[test]
fn star_winner_could_assert_false_cancels() {
    let mut lab = star_lab();
    data_on(&mut lab, S2, LAN);
    sent(&mut lab);
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[], &[star()]));
    lab.advance(secs(4));
    assert!(star_assert(&lab, LAN).is_none());
    one_assert(&sent(&mut lab), ZERO, true, 0x7fff_ffff, u32::MAX);
}

#[test]
fn star_loser_preferred_assert_changes_winner() {
    let mut lab = star_loser_lab();
    recv(&mut lab, LAN, OTHER_LAN, msg(ZERO, true, 1, 0));
    assert_eq!(star_assert(&lab, LAN).unwrap().winner.address, OTHER_LAN);
}

#[test]
fn star_loser_acceptable_assert_from_winner_refreshes() {
    let mut lab = star_loser_lab();
    lab.advance(secs(100));
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 5, 0));
    assert_eq!(star_assert(&lab, LAN).unwrap().timer, lab.now + ASSERT_TIME);
}

#[test]
fn star_loser_inferior_assert_or_cancel_from_winner_forgets() {
    let mut lab = star_loser_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, true, 20, 0));
    assert!(star_assert(&lab, LAN).is_none());
    assert_eq!(lab.take_events(), vec![added(star_entry(G), LAN)]);
    let mut lab = star_loser_lab();
    recv(&mut lab, LAN, NBR_LAN, cancel(ZERO));
    assert!(star_assert(&lab, LAN).is_none());
}

#[test]
fn star_loser_assert_timer_expiry_forgets() {
    let mut lab = star_loser_lab();
    lab.advance(ASSERT_TIME);
    assert!(star_assert(&lab, LAN).is_none());
    assert!(lab.take_events().contains(&added(star_entry(G), LAN)));
}

#[test]
fn star_loser_winner_neighbor_gone_forgets() {
    let mut lab = star_loser_lab();
    lab.tib.neighbor_gone(lab.now, LAN, NBR_LAN, &lab.env);
    lab.drain();
    assert!(star_assert(&lab, LAN).is_none());
}

#[test]
fn star_loser_tracking_desired_false_forgets() {
    let mut lab = star_loser_lab();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[], &[star()]));
    lab.advance(secs(4));
    assert!(lab.group(G).is_none_or(|g| g.asserts.is_empty()));
}

#[test]
fn star_loser_my_metric_becomes_better_forgets() {
    let mut lab = star_loser_lab();
    lab.env.metrics.insert(
        RP,
        RouteMetric {
            preference: 1,
            metric: 0,
        },
    );
    lab.routes_changed();
    assert!(star_assert(&lab, LAN).is_none());
}

#[test]
fn star_loser_on_rp_interface_joins_winner_and_forgets_when_it_moves() {
    let mut lab = star_lab();
    // Our (*,G) is joined toward NBR_UP; NBR_UP2 wins the (*,G) assert on UP.
    recv(&mut lab, UP, NBR_UP2, msg(ZERO, true, 1, 0));
    assert!(star_assert(&lab, UP).is_some_and(|a| a.is_loser()));
    assert_eq!(lab.star_upstream(G).rpf.map(|n| n.addr), Some(NBR_UP2));
    lab.advance(secs(4));
    assert!(lab.take_sent().contains(&join(NBR_UP2, G, star())));
    // RPF_interface(RP(G)) moves: the loser state there goes, RPF' follows the MRIB.
    lab.env.routes.insert(
        RP,
        Rpf {
            iface: DOWN,
            neighbor: Some(Ipv4Addr::new(10, 2, 0, 2)),
        },
    );
    lab.routes_changed();
    assert!(star_assert(&lab, UP).is_none());
}

#[test]
fn star_loser_join_for_us_forgets() {
    let mut lab = star_loser_lab();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    assert!(star_assert(&lab, LAN).is_none());
}

// ---- across the two machines, and refused input ----

#[test]
fn an_spt_assert_beats_our_shared_tree_and_excludes_the_interface() {
    // FRR's case: we forward (*,G) on LAN, the other router has (S,G) on its SPT.
    let mut lab = star_lab();
    recv(&mut lab, LAN, NBR_LAN, msg(S, false, 110, 50));
    let a = sg_assert(&lab, LAN).unwrap();
    assert_eq!(a.state, AssertState::Loser);
    assert!(!a.winner.rpt);
    // (*,G) still forwards on LAN for other sources; (S,G) traffic does not.
    assert!(lab.group(G).unwrap().oifs.contains(&LAN));
    assert!(lab.tib.excludes(S, G, LAN));
    assert!(!lab.tib.excludes(S2, G, LAN));
    assert_eq!(lab.tib.poll_forwarding_change(), Some((Some(S), G)));
    // Our (*,G) data for S on LAN now triggers no assert of ours.
    data_on(&mut lab, S, LAN);
    assert!(sent(&mut lab).is_empty());
}

#[test]
fn an_interface_removed_takes_its_assert_state() {
    let mut lab = sg_loser_lab();
    lab.tib.remove_interface(lab.now, LAN, &lab.env);
    lab.drain();
    assert!(lab.source(S, G).is_none_or(|s| s.asserts.is_empty()));
}

#[test]
fn data_for_a_group_without_state_is_nothing() {
    let mut lab = Lab::new();
    data_on(&mut lab, S, LAN);
    assert!(lab.tib.groups().is_empty());
    assert!(sent(&mut lab).is_empty());
}

#[test]
fn malformed_asserts_are_counted() {
    let mut lab = star_lab();
    let mut m = msg(S, false, 1, 0);
    m.group = EncodedGroup::host(Ipv4Addr::new(10, 0, 0, 1));
    recv(&mut lab, LAN, NBR_LAN, m);
    let mut m = msg(S, false, 1, 0);
    m.group.mask_len = 24;
    recv(&mut lab, LAN, NBR_LAN, m);
    // An (S,G) assert needs a source.
    recv(&mut lab, LAN, NBR_LAN, msg(ZERO, false, 1, 0));
    assert_eq!(lab.tib.counters().bad_assert, 3);
    // A group without state.
    let mut m = msg(S, false, 1, 0);
    m.group = EncodedGroup::host(Ipv4Addr::new(239, 9, 9, 9));
    recv(&mut lab, LAN, NBR_LAN, m);
    assert_eq!(lab.tib.counters().assert_ignored, 1);
    assert!(lab.group(G).unwrap().asserts.is_empty());
    assert!(sent(&mut lab).is_empty());
}

#[test]
fn random_asserts_data_and_time_keep_the_state_consistent() {
    let mut lab = sg_lab();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let senders = [NBR_LAN, OTHER_LAN, NBR_UP, NBR_UP2];
    let ifaces = [UP, DOWN, LAN];
    let sources = [S, S2, S3, ZERO];
    let (mut winners, mut losers) = (0u64, 0u64);
    for _ in 0..20_000 {
        let r = next();
        let iface = ifaces[(r % 3) as usize];
        match (r >> 8) % 7 {
            0..=2 => {
                let m = msg(
                    sources[((r >> 16) % 4) as usize],
                    (r >> 20) & 1 == 1,
                    ((r >> 24) % 30) as u32,
                    ((r >> 32) % 3) as u32,
                );
                let from = senders[((r >> 40) % 4) as usize];
                recv(&mut lab, iface, from, m);
            }
            3 => data_on(&mut lab, sources[((r >> 16) % 3) as usize], iface),
            4 => lab.advance(secs((r >> 16) % 40)),
            5 => {
                // The downstream routers' joins keep the state alive.
                lab.receive(LAN, jp(ME_LAN, HOLD, G, &[sg(S), star()], &[]));
                lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[sg(S)], &[]));
            }
            _ => {
                let addr = senders[((r >> 16) % 4) as usize];
                lab.tib.neighbor_gone(lab.now, iface, addr, &lab.env);
                lab.drain();
            }
        }
        sent(&mut lab);
        lab.take_sent();
        lab.take_events();
        for g in lab.tib.groups().values() {
            let all = g
                .asserts
                .iter()
                .chain(g.sources.values().flat_map(|s| s.asserts.iter()));
            for (i, a) in all {
                let me = lab.tib.interface(*i).unwrap().address;
                assert_eq!(a.is_winner(), a.winner.address == me, "{a:?}");
                assert!(a.timer > lab.now, "a due timer was not fired: {a:?}");
                if a.is_winner() {
                    winners += 1;
                } else {
                    losers += 1;
                }
            }
        }
    }
    eprintln!("observed: {winners} winner and {losers} loser states");
    assert!(winners > 0 && losers > 0, "{winners} {losers}");
}
