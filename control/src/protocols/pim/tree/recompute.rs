//! After any input: the macros of one group evaluated again and the upstream machines driven
//! by their changes (JoinDesired, PruneDesired, RPF'), the outgoing sets compared with what
//! was announced, and the timers of the group fired. Every input of the driver ends here.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::EncodedSource;

use super::assert;
use super::ctx::Ctx;
use super::downstream::{DownstreamExpiry, RptState};
use super::macros::{
    immediate_olist_star, inherited_olist_sg, inherited_olist_sg_rpt, join_desired_sg,
    join_desired_star, periodic_rpt_prune, prune_desired_sg_rpt, rpt_join_desired,
};
use super::state::{GroupState, SourceState};
use super::types::{Entry, Iface, Neighbor, TreeEvent};
use super::upstream::{RptInputs, Send, Upstream, UpstreamState};

/// RPF'(*,G) as last evaluated.
fn rpf_star(g: &GroupState) -> Option<Neighbor> {
    g.upstream.rpf
}

/// Queues the (*,G) sends; a Join(*,G) carries the Prune(S,G,rpt) of 4.5.8. A Prune(*,G)
/// names `pruned_rp` when given (the RP the neighbour was joined with), else RP(G).
fn emit_star(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    g: &GroupState,
    sends: Vec<Send>,
    pruned_rp: Option<Ipv4Addr>,
) {
    let Some(rp) = g.rp else { return };
    for send in sends {
        match send {
            Send::Join(to) => {
                ctx.out.join(to, group, EncodedSource::star_g(rp));
                for (source, s) in &g.sources {
                    if periodic_rpt_prune(ctx.ifaces, g, s, Some(to), s.upstream.rpf) {
                        ctx.out.prune(to, group, EncodedSource::sg_rpt(*source));
                    }
                }
            }
            Send::Prune(to) => {
                let named = pruned_rp.unwrap_or(rp);
                ctx.out.prune(to, group, EncodedSource::star_g(named));
            }
        }
    }
}

/// Queues the (S,G) sends.
fn emit_sg(ctx: &mut Ctx<'_>, group: Ipv4Addr, source: Ipv4Addr, sends: Vec<Send>) {
    for send in sends {
        match send {
            Send::Join(to) => ctx.out.join(to, group, EncodedSource::sg(source)),
            Send::Prune(to) => ctx.out.prune(to, group, EncodedSource::sg(source)),
        }
    }
}

/// Announces the difference between `old` and `new` for `entry`; `old` becomes `new`.
fn announce(ctx: &mut Ctx<'_>, entry: Entry, old: &mut BTreeSet<Iface>, new: BTreeSet<Iface>) {
    for iface in old.difference(&new) {
        ctx.out.event(TreeEvent::OifRemoved {
            entry,
            iface: *iface,
        });
    }
    for iface in new.difference(old) {
        ctx.out.event(TreeEvent::OifAdded {
            entry,
            iface: *iface,
        });
    }
    *old = new;
}

/// Evaluates group `group` again (see the module doc) and drops the sources left idle.
pub fn group(ctx: &mut Ctx<'_>, group: Ipv4Addr, g: &mut GroupState) {
    let ssm = ctx.env.is_ssm(group);
    let (tp, now) = (ctx.cfg.t_periodic, ctx.now);

    // (*,G): RP, RPF', JoinDesired, immediate_olist.
    tidy(g);
    let rp = if ssm { None } else { ctx.env.rp(group) };
    let rpf = rp.and_then(|rp| ctx.env.rpf(rp));
    if let Some(rp) = rp {
        g.route_metric = ctx.env.metric(rp);
    }
    // RPF'(*,G): the (*,G) assert winner on RPF_interface(RP(G)) when we lost there (4.1.6).
    let by_assert = super::macros::assert_neighbor(&g.asserts, rpf.map(|r| r.iface));
    let new_nbr = by_assert.or(rpf.and_then(|r| r.upstream()));
    let due_to_assert = by_assert.is_some() || g.rpf_by_assert;
    g.rpf_by_assert = by_assert.is_some();
    let old_rp = g.rp;
    g.rp = rp.or(g.rp);
    if g.upstream.rpf != new_nbr {
        let t_override = new_nbr.map_or(Default::default(), |n| ctx.t_override(n.iface));
        let sends = g
            .upstream
            .rpf_changed(now, new_nbr, due_to_assert, tp, t_override);
        emit_star(ctx, group, g, sends, old_rp);
    } else if old_rp.is_some() && rp.is_some() && old_rp != rp {
        // RP(G) changed behind the same neighbour. 4.5.6 reacts to RPF' only; waiting a period
        // would leave the upstream router on the old RP (its Prune(*,G) would also prune the
        // new join, as Prune(*,G) is processed whatever its RP: so only the join goes).
        if let Some(to) = g
            .upstream
            .rpf
            .filter(|_| g.upstream.state == UpstreamState::Joined)
        {
            g.upstream.join_timer = Some(now + tp);
            emit_star(ctx, group, g, vec![Send::Join(to)], None);
        }
    }
    g.rpf_iface = rpf.map(|r| r.iface);
    let desired = rp.is_some() && join_desired_star(ctx.ifaces, g);
    let sends = g.upstream.join_desired(now, desired, tp);
    emit_star(ctx, group, g, sends, None);
    let mut oifs = if ssm {
        BTreeSet::new()
    } else {
        immediate_olist_star(ctx.ifaces, g)
    };
    if let Some(iif) = g.rpf_iface {
        oifs.remove(&iif);
    }
    let mut announced = std::mem::take(&mut g.oifs);
    announce(ctx, Entry::StarG { group }, &mut announced, oifs);
    g.oifs = announced;

    // Every source: (S,G) and (S,G,rpt).
    let star_nbr = rpf_star(g);
    let star_joined = !ssm && rp.is_some() && rpt_join_desired(ctx.ifaces, g);
    let mut sources = std::mem::take(&mut g.sources);
    for (source, s) in sources.iter_mut() {
        source_state(ctx, group, *source, g, s, star_nbr, star_joined, ssm);
    }
    sources.retain(|_, s| !s.is_idle());
    g.sources = sources;
    // The assert transitions the new values cause (4.6); each removes state, so this ends.
    if assert::reevaluate(ctx, group, g) {
        self::group(ctx, group, g);
    }
}

/// Drops the downstream machines back in NoInfo (they hold nothing).
fn tidy(g: &mut GroupState) {
    g.downstream.retain(|_, d| d.is_joined());
    for s in g.sources.values_mut() {
        s.downstream.retain(|_, d| d.is_joined());
        s.rpt.retain(|_, r| r.state != RptState::NoInfo);
    }
}

#[allow(clippy::too_many_arguments)]
fn source_state(
    ctx: &mut Ctx<'_>,
    group: Ipv4Addr,
    source: Ipv4Addr,
    g: &GroupState,
    s: &mut SourceState,
    star_nbr: Option<Neighbor>,
    star_joined: bool,
    ssm: bool,
) {
    let (tp, now) = (ctx.cfg.t_periodic, ctx.now);
    let rpf = ctx.env.rpf(source);
    s.route_metric = ctx.env.metric(source);
    // RPF'(S,G): the (S,G) assert winner on RPF_interface(S) when we lost there (4.1.6).
    let by_assert = super::macros::assert_neighbor(&s.asserts, rpf.map(|r| r.iface));
    let new_nbr = by_assert.or(rpf.and_then(|r| r.upstream()));
    let due_to_assert = by_assert.is_some() || s.rpf_by_assert;
    s.rpf_by_assert = by_assert.is_some();
    if s.upstream.rpf != new_nbr {
        let t_override = new_nbr.map_or(Default::default(), |n| ctx.t_override(n.iface));
        let sends = s
            .upstream
            .rpf_changed(now, new_nbr, due_to_assert, tp, t_override);
        emit_sg(ctx, group, source, sends);
    }
    s.rpf_iface = rpf.map(|r| r.iface);
    let desired = join_desired_sg(ctx.ifaces, g, s);
    let sends = s.upstream.join_desired(now, desired, tp);
    emit_sg(ctx, group, source, sends);
    if s.upstream.state == UpstreamState::NotJoined {
        // 4.5.7: JoinDesired(S,G) -> False clears SPTbit(S,G).
        s.spt_bit = false;
    }

    let inputs = if ssm {
        RptInputs::default()
    } else {
        RptInputs {
            rpt_join_desired: star_joined,
            prune_desired: star_joined
                && prune_desired_sg_rpt(ctx.ifaces, g, s, star_nbr, s.upstream.rpf),
            inherited_olist: !inherited_olist_sg_rpt(ctx.ifaces, g, s).is_empty(),
        }
    };
    if let (Some(join), Some(to)) = (s.rpt_upstream.update(inputs), star_nbr) {
        let entry = EncodedSource::sg_rpt(source);
        if join {
            ctx.out.join(to, group, entry);
        } else {
            ctx.out.prune(to, group, entry);
        }
    }

    // An (S,G) that data made, with no state of its own left (its Keepalive Timer ran out,
    // its joins went), stops announcing the outgoing interfaces it inherits from (*,G): it
    // goes (they stay the (*,G) entry's).
    let mut oifs = if !s.from_data || s.holds_state() {
        inherited_olist_sg(ctx.ifaces, g, s)
    } else {
        Default::default()
    };
    if let Some(iif) = s.rpf_iface {
        oifs.remove(&iif);
    }
    let mut announced = std::mem::take(&mut s.oifs);
    announce(ctx, Entry::Sg { source, group }, &mut announced, oifs);
    s.oifs = announced;
}

/// The PruneEcho of a downstream Prune-Pending expiry (4.5.2): a Prune sent on the
/// interface with our own address as the upstream neighbour, when others may need to
/// override it.
fn prune_echo(ctx: &mut Ctx<'_>, iface: Iface, group: Ipv4Addr, entry: EncodedSource) {
    if let Some(p) = ctx.ifaces.get(&iface) {
        if p.neighbors > 1 {
            let to = Neighbor {
                iface,
                addr: p.address,
            };
            ctx.out.prune(to, group, entry);
        }
    }
}

/// Fires the due timers of group `group`, then evaluates it again.
pub fn fire_timers(ctx: &mut Ctx<'_>, group: Ipv4Addr, g: &mut GroupState) {
    let (tp, now) = (ctx.cfg.t_periodic, ctx.now);
    let star_entry = EncodedSource::star_g(g.rp.unwrap_or(Ipv4Addr::UNSPECIFIED));
    let ifaces: Vec<Iface> = g.downstream.keys().copied().collect();
    for iface in ifaces {
        let expiry = g.downstream.get_mut(&iface).and_then(|d| d.timeout(now));
        if expiry == Some(DownstreamExpiry::PrunePending) {
            prune_echo(ctx, iface, group, star_entry);
        }
    }
    if let Some(send) = g.upstream.timer_expired(now, tp) {
        emit_star(ctx, group, g, vec![send], None);
    }
    let star_nbr = g.upstream.rpf;
    let mut sources = std::mem::take(&mut g.sources);
    for (source, s) in sources.iter_mut() {
        let ifaces: Vec<Iface> = s.downstream.keys().copied().collect();
        for iface in ifaces {
            let expiry = s.downstream.get_mut(&iface).and_then(|d| d.timeout(now));
            if expiry == Some(DownstreamExpiry::PrunePending) {
                prune_echo(ctx, iface, group, EncodedSource::sg(*source));
            }
        }
        for r in s.rpt.values_mut() {
            r.timeout(now);
        }
        if let Some(send) = s.upstream.timer_expired(now, tp) {
            emit_sg(ctx, group, *source, vec![send]);
        }
        if s.rpt_upstream.timer_expired(now) {
            if let Some(to) = star_nbr {
                ctx.out.join(to, group, EncodedSource::sg_rpt(*source));
            }
        }
        if s.keepalive.is_some_and(|t| t <= now) {
            s.keepalive = None;
            s.spt_bit = false;
        }
    }
    g.sources = sources;
    assert::fire(ctx, group, g);
    self::group(ctx, group, g);
}

/// The earliest deadline of a group.
pub fn next_deadline(g: &GroupState) -> Option<Duration> {
    let star = g
        .downstream
        .values()
        .filter_map(|d| d.next_deadline())
        .chain(g.upstream.join_timer);
    let sources = g.sources.values().flat_map(|s| {
        s.downstream
            .values()
            .filter_map(|d| d.next_deadline())
            .chain(s.rpt.values().filter_map(|r| r.next_deadline()))
            .chain(s.upstream.join_timer)
            .chain(s.rpt_upstream.override_timer)
            .chain(s.keepalive)
    });
    star.chain(sources).chain(assert::next_deadline(g)).min()
}

/// The upstream machines of `g` that are joined toward one of `to`: (*,G) and every (S,G).
fn joined_toward<'g>(
    g: &'g mut GroupState,
    to: &'g BTreeSet<Neighbor>,
) -> impl Iterator<Item = &'g mut Upstream> + 'g {
    std::iter::once(&mut g.upstream)
        .chain(g.sources.values_mut().map(|s| &mut s.upstream))
        .filter(move |u| u.state == UpstreamState::Joined && u.rpf.is_some_and(|n| to.contains(&n)))
}

/// Whether a Join Timer of `g` toward one of `to` expires by `horizon`.
pub fn has_join_timer_before(g: &GroupState, to: &BTreeSet<Neighbor>, horizon: Duration) -> bool {
    let toward = |u: &Upstream| {
        u.state == UpstreamState::Joined
            && u.rpf.is_some_and(|n| to.contains(&n))
            && u.join_timer.is_some_and(|t| t <= horizon)
    };
    toward(&g.upstream) || g.sources.values().any(|s| toward(&s.upstream))
}

/// Brings the Join Timers of `g` toward one of `to` that expire by `horizon` to `now`.
pub fn pull_join_timers(
    g: &mut GroupState,
    to: &BTreeSet<Neighbor>,
    now: Duration,
    horizon: Duration,
) {
    for u in joined_toward(g, to) {
        if u.join_timer.is_some_and(|t| t <= horizon) {
            u.join_timer = Some(now);
        }
    }
}
