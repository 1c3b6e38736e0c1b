//! A received Join/Prune message (RFC 7761 4.5): addressed to us, its entries drive the
//! downstream machines of the interface it came in on, in the order 4.5.4 needs for a
//! compound message (Join(*,G) first, then the other joins, then the prunes, then End of
//! Message); addressed to another router on the LAN, it drives our upstream machines whose
//! RPF' is that router (join suppression, prune override).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::{EncodedSource, GroupSet, JoinPrune};

use super::ctx::Ctx;
use super::recompute;
use super::state::{GroupState, SourceState};
use super::types::{Iface, Neighbor, HOLDTIME_INFINITE};
use super::upstream::UpstreamState;

/// What an Encoded-Source names (4.9.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// (*,G): W and R set; the address is the RP.
    Star,
    /// (S,G): W and R clear.
    Sg,
    /// (S,G,rpt): R set, W clear.
    Rpt,
}

fn kind(src: &EncodedSource) -> Option<Kind> {
    if src.mask_len != 32 {
        return None;
    }
    match (src.wildcard, src.rpt) {
        (true, true) => Some(Kind::Star),
        (false, false) => Some(Kind::Sg),
        (false, true) => Some(Kind::Rpt),
        (true, false) => None,
    }
}

/// The group of a group set, if it is one multicast group.
fn group_of(set: &GroupSet) -> Option<Ipv4Addr> {
    let g = set.group;
    (g.mask_len == 32 && g.addr.is_multicast() && !g.bidir).then_some(g.addr)
}

/// The entries of a group set that are well formed, by kind; the rest are counted.
fn entries(ctx: &mut Ctx<'_>, list: &[EncodedSource], want: Kind, ssm: bool) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for src in list {
        match kind(src) {
            None if want == Kind::Star => ctx.counters.bad_entry += 1,
            Some(k) if k == want => {
                if ssm && k != Kind::Sg {
                    ctx.counters.ssm_shared_tree_ignored += 1;
                } else {
                    out.push(src.addr);
                }
            }
            _ => {}
        }
    }
    out
}

/// The state of `source` in `g`, made if there is room.
fn source_mut<'g>(
    ctx: &mut Ctx<'_>,
    g: &'g mut GroupState,
    source: Ipv4Addr,
) -> Option<&'g mut SourceState> {
    if !g.sources.contains_key(&source) && !ctx.take_room() {
        return None;
    }
    Some(g.sources.entry(source).or_default())
}

/// Processes `msg`, received on `iface`.
pub fn join_prune(
    ctx: &mut Ctx<'_>,
    groups: &mut BTreeMap<Ipv4Addr, GroupState>,
    iface: Iface,
    msg: &JoinPrune,
) {
    let Some(params) = ctx.ifaces.get(&iface).copied() else {
        ctx.counters.unknown_interface += 1;
        return;
    };
    let holdtime =
        (msg.holdtime != HOLDTIME_INFINITE).then(|| Duration::from_secs(msg.holdtime.into()));
    let to_us = msg.upstream_neighbor == params.address;
    let target = Neighbor {
        iface,
        addr: msg.upstream_neighbor,
    };
    let mut touched = BTreeSet::new();
    for set in &msg.groups {
        let Some(group) = group_of(set) else {
            ctx.counters.bad_entry += 1;
            continue;
        };
        let ssm = ctx.env.is_ssm(group);
        if to_us {
            if !groups.contains_key(&group) {
                let creates =
                    !set.joins.is_empty() || set.prunes.iter().any(|p| kind(p) == Some(Kind::Rpt));
                if !creates || !ctx.take_room() {
                    continue;
                }
            }
            let g = groups.entry(group).or_default();
            downstream(ctx, group, g, iface, set, holdtime, ssm);
        } else if let Some(g) = groups.get_mut(&group) {
            upstream(ctx, group, g, target, set, holdtime, ssm);
        }
        touched.insert(group);
    }
    for group in touched {
        let Some(g) = groups.get_mut(&group) else {
            continue;
        };
        if to_us {
            // End of Message (4.5.4): once, after every group set, so that a group named twice
            // in one message keeps the prunes of both of its sets.
            for s in g.sources.values_mut() {
                if let Some(r) = s.rpt.get_mut(&iface) {
                    r.end_of_message();
                }
            }
        }
        recompute::group(ctx, group, g);
        if g.is_idle() {
            groups.remove(&group);
        }
    }
}

fn downstream(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    g: &mut GroupState,
    iface: Iface,
    set: &GroupSet,
    holdtime: Option<Duration>,
    ssm: bool,
) {
    let now = ctx.now;
    let ppt = ctx.prune_pending_delay(iface);
    for rp in entries(ctx, &set.joins, Kind::Star, ssm) {
        // A join naming another RP is dropped (4.5.2). Without RP(G) it is accepted for the
        // downstream state, but nothing is joined upstream until RP(G) is known.
        if ctx.env.rp(group).is_some_and(|known| known != rp) {
            ctx.counters.wrong_rp += 1;
            continue;
        }
        g.downstream
            .entry(iface)
            .or_default()
            .receive_join(now, holdtime);
        for s in g.sources.values_mut() {
            if let Some(r) = s.rpt.get_mut(&iface) {
                r.receive_star_join();
            }
        }
    }
    for source in entries(ctx, &set.joins, Kind::Sg, ssm) {
        let Some(s) = source_mut(ctx, g, source) else {
            continue;
        };
        s.downstream
            .entry(iface)
            .or_default()
            .receive_join(now, holdtime);
    }
    for source in entries(ctx, &set.joins, Kind::Rpt, ssm) {
        if let Some(r) = g
            .sources
            .get_mut(&source)
            .and_then(|s| s.rpt.get_mut(&iface))
        {
            r.receive_rpt_join();
        }
    }
    // Prune(*,G) is processed even when its RP is not RP(G) (4.5.2).
    if !entries(ctx, &set.prunes, Kind::Star, ssm).is_empty() {
        if let Some(d) = g.downstream.get_mut(&iface) {
            d.receive_prune(now, ppt);
        }
    }
    for source in entries(ctx, &set.prunes, Kind::Sg, ssm) {
        if let Some(d) = g
            .sources
            .get_mut(&source)
            .and_then(|s| s.downstream.get_mut(&iface))
        {
            d.receive_prune(now, ppt);
        }
    }
    for source in entries(ctx, &set.prunes, Kind::Rpt, ssm) {
        let Some(s) = source_mut(ctx, g, source) else {
            continue;
        };
        s.rpt
            .entry(iface)
            .or_default()
            .receive_rpt_prune(now, holdtime, ppt);
    }
}

fn upstream(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    g: &mut GroupState,
    target: Neighbor,
    set: &GroupSet,
    holdtime: Option<Duration>,
    ssm: bool,
) {
    let now = ctx.now;
    let suppress = ctx.t_suppressed(target.iface);
    let t_joinsuppress = holdtime.map_or(suppress, |h| suppress.min(h));
    let star_is_target = g.upstream.rpf == Some(target);
    if star_is_target && !entries(ctx, &set.joins, Kind::Star, ssm).is_empty() {
        g.upstream.see_join(now, t_joinsuppress);
    }
    if !entries(ctx, &set.prunes, Kind::Star, ssm).is_empty() {
        if star_is_target {
            let t = ctx.t_override(target.iface);
            g.upstream.decrease_timer(now, t);
        }
        for s in g.sources.values_mut() {
            if s.upstream.rpf == Some(target) {
                let t = ctx.t_override(target.iface);
                s.upstream.decrease_timer(now, t);
            }
        }
    }
    for source in entries(ctx, &set.joins, Kind::Sg, ssm) {
        if let Some(s) = g.sources.get_mut(&source) {
            if s.upstream.rpf == Some(target) {
                s.upstream.see_join(now, t_joinsuppress);
            }
        }
    }
    for source in entries(ctx, &set.prunes, Kind::Sg, ssm) {
        let Some(s) = g.sources.get_mut(&source) else {
            continue;
        };
        if s.upstream.rpf == Some(target) {
            let t = ctx.t_override(target.iface);
            s.upstream.decrease_timer(now, t);
        }
        if star_is_target {
            let t = ctx.t_override(target.iface);
            s.rpt_upstream.decrease_timer(now, t);
        }
    }
    for source in entries(ctx, &set.joins, Kind::Rpt, ssm) {
        if let (true, Some(s)) = (star_is_target, g.sources.get_mut(&source)) {
            s.rpt_upstream.see_join();
        }
    }
    let rpt_prunes = entries(ctx, &set.prunes, Kind::Rpt, ssm);
    if rpt_prunes.is_empty() {
        return;
    }
    // Another router prunes S off the shared tree we share with it: we need (S,G,rpt) state
    // to override when we still want S there (4.5.9, NotPruned).
    if star_is_target && g.upstream.state == UpstreamState::Joined {
        for source in &rpt_prunes {
            source_mut(ctx, g, *source);
        }
        recompute::group(ctx, group, g);
    }
    for source in rpt_prunes {
        let Some(s) = g.sources.get_mut(&source) else {
            continue;
        };
        if star_is_target {
            let t = ctx.t_override(target.iface);
            s.rpt_upstream.decrease_timer(now, t);
        }
        if s.upstream.rpf == Some(target) {
            let t = ctx.t_override(target.iface);
            s.upstream.decrease_timer(now, t);
        }
    }
}
