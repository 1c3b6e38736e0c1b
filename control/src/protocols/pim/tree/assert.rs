//! Assert (RFC 7761 4.6): the (S,G) machine of 4.6.1 and the (*,G) machine of 4.6.2 per
//! interface, and the macros that decide them (CouldAssert, AssertTrackingDesired,
//! my_assert_metric, 4.6.1 and 4.6.2). The state and metrics are `assert_state.rs`'s; the
//! macros that read the result (lost_assert, pim_include, the assert metrics, RPF') are in
//! `macros.rs` and `recompute.rs`.
//!
//! NoInfo is no entry: an interface has an [`AssertInfo`] only while we are the Winner or a
//! Loser there. Inputs: a received Assert ([`receive`]), data of (S,G) arriving on an
//! interface that is not its RPF interface ([`data_on_iface`], from the MGM's wrong-interface
//! callback), the Assert Timers ([`fire`]), a Join addressed to us ([`join_received`]), the
//! winner's Hello state ([`neighbor_gone`]), and every other change through the macros after
//! each evaluation of the group ([`reevaluate`]: CouldAssert or AssertTrackingDesired became
//! false, our metric became better than the winner's, the RPF interface moved).
//!
//! Timers (4.11): Assert_Time 180 s, Assert_Override_Interval 3 s; a winner re-sends its
//! Assert every Assert_Time - Assert_Override_Interval.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::{Assert, EncodedGroup};

use super::assert_state::{
    AssertInfo, AssertMetric, AssertState, OutgoingAssert, ASSERT_OVERRIDE_INTERVAL, ASSERT_TIME,
};
use super::ctx::Ctx;
use super::macros::{
    join_desired_sg, join_desired_star, joins_sg, joins_star, lost_assert_star, pim_exclude_sg,
    pim_include_sg, pim_include_star, prunes_sg_rpt, rpt_assert_metric, spt_assert_metric,
    winner_sg, winner_star, IfaceSet,
};
use super::state::{GroupState, Interfaces, SourceState};
use super::types::Iface;
use super::upstream::UpstreamState;

fn my_ip(ifaces: &Interfaces, i: Iface) -> Ipv4Addr {
    ifaces.get(&i).map_or(Ipv4Addr::UNSPECIFIED, |p| p.address)
}

fn is_dr(ifaces: &Interfaces, i: Iface) -> bool {
    ifaces.get(&i).is_some_and(|p| p.is_dr)
}

/// ( joins(*,G) (-) prunes(S,G,rpt) ) (+) ( pim_include(*,G) (-) pim_exclude(S,G) )
/// (-) lost_assert(*,G) (+) joins(S,G): the part CouldAssert(S,G,I) and
/// AssertTrackingDesired(S,G,I) share.
fn sg_olist(ifaces: &Interfaces, g: &GroupState, s: &SourceState) -> IfaceSet {
    let prunes = prunes_sg_rpt(s);
    let exclude = pim_exclude_sg(ifaces, g, s);
    let mut set: IfaceSet = joins_star(g).difference(&prunes).copied().collect();
    set.extend(pim_include_star(ifaces, g).difference(&exclude));
    set.retain(|i| !lost_assert_star(g, *i));
    set.extend(joins_sg(s));
    set
}

/// CouldAssert(S,G,I) = SPTbit(S,G) AND RPF_interface(S) != I AND I in ( sg_olist (+)
/// pim_include(S,G) ).
pub fn could_assert_sg(ifaces: &Interfaces, g: &GroupState, s: &SourceState, i: Iface) -> bool {
    s.spt_bit
        && s.rpf_iface != Some(i)
        && (sg_olist(ifaces, g, s).contains(&i) || pim_include_sg(ifaces, s).contains(&i))
}

/// CouldAssert(*,G,I) = I in ( joins(*,G) (+) pim_include(*,G) ) AND RPF_interface(RP(G)) != I.
pub fn could_assert_star(ifaces: &Interfaces, g: &GroupState, i: Iface) -> bool {
    g.rpf_iface != Some(i)
        && (joins_star(g).contains(&i) || pim_include_star(ifaces, g).contains(&i))
}

/// AssertTrackingDesired(S,G,I) (4.6.1).
pub fn tracking_desired_sg(ifaces: &Interfaces, g: &GroupState, s: &SourceState, i: Iface) -> bool {
    sg_olist(ifaces, g, s).contains(&i)
        || (s.local_include.contains(&i) && (is_dr(ifaces, i) || winner_sg(s, i)))
        || (s.rpf_iface == Some(i) && join_desired_sg(ifaces, g, s))
        || (g.rpf_iface == Some(i) && g.rp.is_some() && join_desired_star(ifaces, g) && !s.spt_bit)
}

/// AssertTrackingDesired(*,G,I) (4.6.2).
pub fn tracking_desired_star(ifaces: &Interfaces, g: &GroupState, i: Iface) -> bool {
    could_assert_star(ifaces, g, i)
        || (g.local.contains(&i) && (is_dr(ifaces, i) || winner_star(g, i)))
        || (g.rpf_iface == Some(i) && g.rp.is_some() && join_desired_star(ifaces, g))
}

/// my_assert_metric(S,G,I): the SPT metric when CouldAssert(S,G,I), else the RPT metric when
/// CouldAssert(*,G,I), else infinite.
pub fn my_metric_sg(
    ifaces: &Interfaces,
    g: &GroupState,
    s: &SourceState,
    i: Iface,
) -> AssertMetric {
    if could_assert_sg(ifaces, g, s, i) {
        spt_assert_metric(ifaces, s, i)
    } else if could_assert_star(ifaces, g, i) {
        rpt_assert_metric(ifaces, g, i)
    } else {
        AssertMetric::infinite()
    }
}

/// my_assert_metric(*,G,I).
pub fn my_metric_star(ifaces: &Interfaces, g: &GroupState, i: Iface) -> AssertMetric {
    if could_assert_star(ifaces, g, i) {
        rpt_assert_metric(ifaces, g, i)
    } else {
        AssertMetric::infinite()
    }
}

/// Queues an Assert (or AssertCancel) for (`source`, `group`) with `metric` out of `i`.
fn send(ctx: &mut Ctx<'_>, group: Ipv4Addr, source: Ipv4Addr, i: Iface, metric: AssertMetric) {
    let src = my_ip(ctx.ifaces, i);
    ctx.out.assert(OutgoingAssert {
        iface: i,
        src,
        message: Assert {
            group: EncodedGroup::host(group),
            source,
            rpt: metric.rpt,
            metric_preference: metric.preference,
            metric: metric.metric,
        },
    });
}

/// AssertCancel(S,G) or (*,G) (4.6.4): the infinite metric with the RPT bit set.
fn send_cancel(ctx: &mut Ctx<'_>, group: Ipv4Addr, source: Ipv4Addr, i: Iface) {
    let mut m = AssertMetric::infinite();
    m.address = my_ip(ctx.ifaces, i);
    send(ctx, group, source, i, m);
}

/// Actions A1 and A3: send our Assert, set the Assert Timer to Assert_Time -
/// Assert_Override_Interval, store ourselves as the winner with `mine`.
fn win(
    ctx: &mut Ctx<'_>,
    asserts: &mut BTreeMap<Iface, AssertInfo>,
    group: Ipv4Addr,
    source: Ipv4Addr,
    i: Iface,
    mine: AssertMetric,
) {
    send(ctx, group, source, i, mine);
    asserts.insert(
        i,
        AssertInfo {
            state: AssertState::Winner,
            winner: mine,
            timer: ctx.now + ASSERT_TIME - ASSERT_OVERRIDE_INTERVAL,
            on_rpf: false,
        },
    );
}

/// Action A2: store the new winner and its metric, set the Assert Timer to Assert_Time.
fn lose(
    ctx: &Ctx<'_>,
    asserts: &mut BTreeMap<Iface, AssertInfo>,
    i: Iface,
    winner: AssertMetric,
    on_rpf: bool,
) {
    asserts.insert(
        i,
        AssertInfo {
            state: AssertState::Loser,
            winner,
            timer: ctx.now + ASSERT_TIME,
            on_rpf,
        },
    );
}

/// What the machines make of a received assert with metric `m`, given our own `mine`:
/// `could` is CouldAssert, `tracking` AssertTrackingDesired (4.6.1 and 4.6.2 have the same
/// shape once the (S,G)/(*,G) dispatch is done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A1 (from NoInfo) or A3 (Winner): we assert.
    Assert,
    /// A2 (A6 from NoInfo for (S,G)): the sender wins.
    Lose,
    /// A5: back to NoInfo.
    Forget,
    /// No change.
    Stay,
}

fn step(
    now: Option<&AssertInfo>,
    m: &AssertMetric,
    mine: &AssertMetric,
    could: bool,
    tracking: bool,
) -> Step {
    let preferred = m.better_than(mine);
    match now {
        None if could && !preferred => Step::Assert,
        None if preferred && tracking && !m.is_cancel() => Step::Lose,
        None => Step::Stay,
        Some(a) if a.is_winner() => {
            if preferred {
                Step::Lose
            } else {
                Step::Assert
            }
        }
        Some(a) => {
            let from_winner = m.address == a.winner.address;
            if from_winner && (m.is_cancel() || mine.better_than(m)) {
                Step::Forget
            } else if from_winner || m.better_than(&a.winner) {
                Step::Lose
            } else {
                Step::Stay
            }
        }
    }
}

/// A received Assert from `from` on `i`: the (S,G) machine for an assert with the RPT bit
/// clear, and for one with it set where (S,G) has assert state or could assert; the (*,G)
/// machine for the other RPT-bit asserts. Returns whether the group has state (else the
/// assert is counted as ignored).
pub fn receive(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    g: &mut GroupState,
    i: Iface,
    from: Ipv4Addr,
    msg: &Assert,
) {
    let m = AssertMetric::received(msg, from);
    let source = msg.source;
    let sg = !source.is_unspecified()
        && (!msg.rpt
            || g.sources.get(&source).is_some_and(|s| {
                s.asserts.contains_key(&i) || could_assert_sg(ctx.ifaces, g, s, i)
            }));
    if sg {
        if !g.sources.contains_key(&source) && !ctx.take_room() {
            return;
        }
        let mut s = g.sources.remove(&source).unwrap_or_default();
        let mine = my_metric_sg(ctx.ifaces, g, &s, i);
        let could = could_assert_sg(ctx.ifaces, g, &s, i);
        let tracking = tracking_desired_sg(ctx.ifaces, g, &s, i);
        let was = s.asserts.get(&i).copied();
        match step(was.as_ref(), &m, &mine, could, tracking) {
            Step::Assert => win(ctx, &mut s.asserts, group, source, i, mine),
            Step::Lose => {
                let on_rpf = s.rpf_iface == Some(i);
                lose(ctx, &mut s.asserts, i, m, on_rpf);
                // A6: a loser on the RPF interface knows the data arrives along the SPT.
                if was.is_none() && on_rpf && s.upstream.state == UpstreamState::Joined {
                    s.spt_bit = true;
                }
            }
            Step::Forget => {
                s.asserts.remove(&i);
            }
            Step::Stay => {
                if was.is_none() {
                    ctx.counters.assert_ignored += 1;
                }
            }
        }
        g.sources.insert(source, s);
    } else if msg.rpt {
        let mine = my_metric_star(ctx.ifaces, g, i);
        let could = could_assert_star(ctx.ifaces, g, i);
        let tracking = tracking_desired_star(ctx.ifaces, g, i);
        let was = g.asserts.get(&i).copied();
        match step(was.as_ref(), &m, &mine, could, tracking) {
            Step::Assert => win(ctx, &mut g.asserts, group, source, i, mine),
            Step::Lose => {
                let on_rpf = g.rpf_iface == Some(i);
                lose(ctx, &mut g.asserts, i, m, on_rpf);
            }
            Step::Forget => {
                g.asserts.remove(&i);
            }
            Step::Stay => {
                if was.is_none() {
                    ctx.counters.assert_ignored += 1;
                }
            }
        }
    }
}

/// Data of (`source`, G) arrived on `i`, not its RPF interface (the MGM's wrong-interface
/// callback): with no assert state there, the (S,G) machine asserts when CouldAssert(S,G,I),
/// else the (*,G) machine when CouldAssert(*,G,I) (A1). Returns whether anything changed.
pub fn data_on_iface(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    g: &mut GroupState,
    source: Ipv4Addr,
    i: Iface,
) -> bool {
    if let Some(mut s) = g.sources.remove(&source) {
        let (has, rpf) = (s.asserts.contains_key(&i), s.rpf_iface == Some(i));
        let could = !has && !rpf && could_assert_sg(ctx.ifaces, g, &s, i);
        if could {
            let mine = spt_assert_metric(ctx.ifaces, &s, i);
            win(ctx, &mut s.asserts, group, source, i, mine);
        }
        g.sources.insert(source, s);
        if could || has || rpf {
            return could;
        }
    }
    if g.asserts.contains_key(&i) || !could_assert_star(ctx.ifaces, g, i) {
        return false;
    }
    let mine = rpt_assert_metric(ctx.ifaces, g, i);
    win(ctx, &mut g.asserts, group, source, i, mine);
    true
}

/// A Join addressed to us on `i`: a loser there goes back to NoInfo (4.6.1, 4.6.2: "Receive
/// Join(S,G)" / "Receive Join(*,G)"), so the normal join/prune mechanism decides until the
/// next assert. `source` is `None` for Join(*,G).
pub fn join_received(g: &mut GroupState, i: Iface, source: Option<Ipv4Addr>) {
    let asserts = match source {
        None => &mut g.asserts,
        Some(s) => match g.sources.get_mut(&s) {
            Some(s) => &mut s.asserts,
            None => return,
        },
    };
    if asserts.get(&i).is_some_and(AssertInfo::is_loser) {
        asserts.remove(&i);
    }
}

/// The joins of a Join/Prune addressed to us on `i` ([`join_received`] for each).
pub fn joins_for_us(
    groups: &mut std::collections::BTreeMap<Ipv4Addr, GroupState>,
    ifaces: &Interfaces,
    i: Iface,
    msg: &dataplane::wire::pim::JoinPrune,
) {
    if ifaces.get(&i).map(|p| p.address) != Some(msg.upstream_neighbor) {
        return;
    }
    for set in &msg.groups {
        let Some(g) = groups.get_mut(&set.group.addr) else {
            continue;
        };
        for j in &set.joins {
            match (j.wildcard, j.rpt) {
                (true, true) => join_received(g, i, None),
                (false, false) => join_received(g, i, Some(j.addr)),
                _ => {}
            }
        }
    }
}

/// The neighbour `addr` on `i` went away or restarted: where it was the winner, back to
/// NoInfo (A5). Returns whether anything changed.
pub fn neighbor_gone(g: &mut GroupState, i: Iface, addr: Ipv4Addr) -> bool {
    let gone = |a: &AssertInfo| a.is_loser() && a.winner.address == addr;
    let mut changed = false;
    if g.asserts.get(&i).is_some_and(gone) {
        g.asserts.remove(&i);
        changed = true;
    }
    for s in g.sources.values_mut() {
        if s.asserts.get(&i).is_some_and(gone) {
            s.asserts.remove(&i);
            changed = true;
        }
    }
    changed
}

/// The assert states of one (*,G) or (S,G) whose Assert Timer is due, copied out so the
/// caller may change the map.
fn due(asserts: &BTreeMap<Iface, AssertInfo>, now: Duration) -> Vec<(Iface, AssertInfo)> {
    asserts
        .iter()
        .filter(|(_, a)| a.timer <= now)
        .map(|(i, a)| (*i, *a))
        .collect()
}

/// Fires the due Assert Timers: a winner re-asserts (A3), a loser forgets (A5).
pub fn fire(ctx: &mut Ctx<'_>, group: Ipv4Addr, g: &mut GroupState) {
    let now = ctx.now;
    for (i, a) in due(&g.asserts, now) {
        if a.is_winner() {
            let mine = my_metric_star(ctx.ifaces, g, i);
            win(ctx, &mut g.asserts, group, Ipv4Addr::UNSPECIFIED, i, mine);
        } else {
            g.asserts.remove(&i);
        }
    }
    let mut sources = std::mem::take(&mut g.sources);
    for (source, s) in sources.iter_mut() {
        for (i, a) in due(&s.asserts, now) {
            if a.is_winner() {
                let mine = my_metric_sg(ctx.ifaces, g, s, i);
                win(ctx, &mut s.asserts, group, *source, i, mine);
            } else {
                s.asserts.remove(&i);
            }
        }
    }
    g.sources = sources;
}

/// The earliest Assert Timer of the group.
pub fn next_deadline(g: &GroupState) -> Option<Duration> {
    g.asserts
        .values()
        .chain(g.sources.values().flat_map(|s| s.asserts.values()))
        .map(|a| a.timer)
        .min()
}

/// The transitions the macros cause, after an evaluation of the group: a winner that can no
/// longer assert cancels (A4); a loser forgets (A5) when it no longer tracks the assert, when
/// its own metric became better than the winner's, or when the RPF interface it lost on moved.
/// Returns whether anything changed (the group is then evaluated again).
pub fn reevaluate(ctx: &mut Ctx<'_>, group: Ipv4Addr, g: &mut GroupState) -> bool {
    let mut changed = false;
    let star: Vec<(Iface, AssertInfo)> = g.asserts.iter().map(|(i, a)| (*i, *a)).collect();
    for (i, a) in star {
        let drop = if a.is_winner() {
            !could_assert_star(ctx.ifaces, g, i)
        } else {
            !tracking_desired_star(ctx.ifaces, g, i)
                || my_metric_star(ctx.ifaces, g, i).better_than(&a.winner)
                || (a.on_rpf && g.rpf_iface != Some(i))
        };
        if drop {
            g.asserts.remove(&i);
            if a.is_winner() {
                send_cancel(ctx, group, Ipv4Addr::UNSPECIFIED, i);
            }
            changed = true;
        }
    }
    let mut sources = std::mem::take(&mut g.sources);
    for (source, s) in sources.iter_mut() {
        let all: Vec<(Iface, AssertInfo)> = s.asserts.iter().map(|(i, a)| (*i, *a)).collect();
        for (i, a) in all {
            let drop = if a.is_winner() {
                !could_assert_sg(ctx.ifaces, g, s, i)
            } else {
                !tracking_desired_sg(ctx.ifaces, g, s, i)
                    || my_metric_sg(ctx.ifaces, g, s, i).better_than(&a.winner)
                    || (a.on_rpf && s.rpf_iface != Some(i))
            };
            if drop {
                s.asserts.remove(&i);
                if a.is_winner() {
                    send_cancel(ctx, group, *source, i);
                }
                changed = true;
            }
        }
    }
    g.sources = sources;
    changed
}
