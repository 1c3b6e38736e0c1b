//! [`Tib`], the Tree Information Base with its machines: the API PIM's instance drives. Every
//! input takes `now` and the environment; outputs are polled.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::{Assert, JoinPrune};

use crate::protocols::jitter::Jitter;

use super::assert;
use super::assert_state::OutgoingAssert;
use super::ctx::Ctx;
use super::output::Output;
use super::receive;
use super::recompute;
use super::spt::{self, DataArrival};
use super::state::{GroupState, Interfaces, SourceState};
use super::types::{
    Iface, InterfaceParams, Neighbor, OutgoingJoinPrune, TreeConfig, TreeCounters, TreeEnv,
    TreeEvent,
};

/// A local membership IGMP reported on a PIM interface (through the MGM's local join and
/// leave callbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalMember {
    /// Any source of the group (IGMPv2, or IGMPv3 exclude mode): local_receiver_include(*,G).
    AnySource,
    /// This source (IGMPv3 include mode): local_receiver_include(S,G).
    Source(Ipv4Addr),
    /// Any source but this one (IGMPv3 exclude mode): local_receiver_exclude(S,G).
    ExcludeSource(Ipv4Addr),
}

/// The Tree Information Base and its join/prune machines (see the module doc of `tree`).
#[derive(Debug, Clone)]
pub struct Tib {
    cfg: TreeConfig,
    ifaces: Interfaces,
    groups: BTreeMap<Ipv4Addr, GroupState>,
    jitter: Jitter,
    out: Output,
    counters: TreeCounters,
    /// Each group's size (itself and its sources) and their sum, for `max_entries`.
    sizes: BTreeMap<Ipv4Addr, usize>,
    entries: usize,
    /// Each group's earliest deadline, and the same ordered by time.
    next: BTreeMap<Ipv4Addr, Duration>,
    by_time: BTreeSet<(Duration, Ipv4Addr)>,
    /// Entries whose exclusions changed ((group, None) for (*,G)), for the driver to
    /// re-check their forwarding ([`Tib::poll_forwarding_change`]).
    forwarding: BTreeSet<(Ipv4Addr, Option<Ipv4Addr>)>,
    /// Per group, the exclusions last seen ([`exclusions`]).
    excluded: BTreeMap<Ipv4Addr, BTreeSet<(Option<Ipv4Addr>, Iface)>>,
}

impl Tib {
    /// Empty, with its settings and the seed of its random timer values.
    pub fn new(cfg: TreeConfig, seed: u64) -> Tib {
        Tib {
            cfg,
            ifaces: Interfaces::new(),
            groups: BTreeMap::new(),
            jitter: Jitter::new(seed),
            out: Output::default(),
            counters: TreeCounters::default(),
            sizes: BTreeMap::new(),
            entries: 0,
            next: BTreeMap::new(),
            by_time: BTreeSet::new(),
            forwarding: BTreeSet::new(),
            excluded: BTreeMap::new(),
        }
    }

    /// [`Tib::apply`], then builds the messages.
    fn run(
        &mut self,
        now: Duration,
        env: &dyn TreeEnv,
        only: Option<Vec<Ipv4Addr>>,
        f: impl Fn(&mut Ctx<'_>, Ipv4Addr, &mut GroupState),
    ) {
        self.apply(now, env, only, f);
        self.flush();
    }

    /// Runs `f` on the groups named (every group for `None`), keeps the deadline index and
    /// drops the groups left idle.
    fn apply(
        &mut self,
        now: Duration,
        env: &dyn TreeEnv,
        only: Option<Vec<Ipv4Addr>>,
        f: impl Fn(&mut Ctx<'_>, Ipv4Addr, &mut GroupState),
    ) {
        let names = only.unwrap_or_else(|| self.groups.keys().copied().collect());
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            ifaces: &self.ifaces,
            env,
            jitter: &mut self.jitter,
            out: &mut self.out,
            counters: &mut self.counters,
            room: self.cfg.max_entries.saturating_sub(self.entries),
        };
        for group in &names {
            if let Some(g) = self.groups.get_mut(group) {
                f(&mut ctx, *group, g);
            }
        }
        for group in names {
            self.reindex(group);
        }
    }

    /// Puts `group`'s earliest deadline in the index (so that a timeout visits only the groups
    /// due), or drops the group when it holds nothing.
    fn reindex(&mut self, group: Ipv4Addr) {
        // The entries whose exclusions changed are built again by the driver.
        let now_excluded = self
            .groups
            .get(&group)
            .map(|g| exclusions(&self.ifaces, g))
            .unwrap_or_default();
        let before = self.excluded.remove(&group).unwrap_or_default();
        for (source, _) in before.symmetric_difference(&now_excluded) {
            self.forwarding.insert((group, *source));
        }
        if !now_excluded.is_empty() {
            self.excluded.insert(group, now_excluded);
        }
        if let Some(old) = self.next.remove(&group) {
            self.by_time.remove(&(old, group));
        }
        self.entries -= self.sizes.remove(&group).unwrap_or(0);
        match self.groups.get(&group) {
            Some(g) if g.is_idle() => {
                self.groups.remove(&group);
            }
            Some(g) => {
                let size = 1 + g.sources.len();
                self.sizes.insert(group, size);
                self.entries += size;
                if let Some(t) = recompute::next_deadline(g) {
                    self.next.insert(group, t);
                    self.by_time.insert((t, group));
                }
            }
            None => {}
        }
    }

    fn flush(&mut self) {
        let ifaces = &self.ifaces;
        let left_out = self.out.flush(self.cfg.holdtime, |i| {
            ifaces.get(&i).map_or((Ipv4Addr::UNSPECIFIED, 0), |p| {
                (p.address, p.max_message_len)
            })
        });
        self.counters.rpt_prunes_left_out += left_out as u64;
    }

    /// A PIM interface came up or its parameters changed (DR, neighbour count, LAN delays).
    pub fn set_interface(
        &mut self,
        now: Duration,
        iface: Iface,
        params: InterfaceParams,
        env: &dyn TreeEnv,
    ) {
        self.ifaces.insert(iface, params);
        self.run(now, env, None, recompute::group);
    }

    /// A PIM interface went away: its downstream state, local members and assert state go
    /// with it.
    pub fn remove_interface(&mut self, now: Duration, iface: Iface, env: &dyn TreeEnv) {
        self.ifaces.remove(&iface);
        for g in self.groups.values_mut() {
            g.downstream.remove(&iface);
            g.local.remove(&iface);
            g.asserts.remove(&iface);
            for s in g.sources.values_mut() {
                s.downstream.remove(&iface);
                s.rpt.remove(&iface);
                s.asserts.remove(&iface);
                s.local_include.remove(&iface);
                s.local_exclude.remove(&iface);
            }
        }
        self.run(now, env, None, recompute::group);
    }

    /// A local member of `group` on `iface` was added (`present`) or removed.
    pub fn local_membership(
        &mut self,
        now: Duration,
        iface: Iface,
        group: Ipv4Addr,
        member: LocalMember,
        present: bool,
        env: &dyn TreeEnv,
    ) {
        // In the SSM range only source-specific includes mean anything (RFC 4604 section 2).
        if !matches!(member, LocalMember::Source(_)) && env.is_ssm(group) {
            self.counters.ssm_shared_tree_ignored += 1;
            return;
        }
        if !present {
            let g = self.groups.get_mut(&group);
            let removed = match (g, member) {
                (Some(g), LocalMember::AnySource) => g.local.remove(&iface),
                (Some(g), LocalMember::Source(s)) => g
                    .sources
                    .get_mut(&s)
                    .is_some_and(|s| s.local_include.remove(&iface)),
                (Some(g), LocalMember::ExcludeSource(s)) => g
                    .sources
                    .get_mut(&s)
                    .is_some_and(|s| s.local_exclude.remove(&iface)),
                (None, _) => false,
            };
            if removed {
                self.run(now, env, Some(vec![group]), recompute::group);
            }
            return;
        }
        let new = match (self.groups.get(&group), member) {
            (None, LocalMember::AnySource) => 1,
            (None, _) => 2,
            (Some(_), LocalMember::AnySource) => 0,
            (Some(g), LocalMember::Source(s) | LocalMember::ExcludeSource(s)) => {
                usize::from(!g.sources.contains_key(&s))
            }
        };
        if self.entries + new > self.cfg.max_entries {
            self.counters.entry_limit += 1;
            return;
        }
        let g = self.groups.entry(group).or_default();
        let added = match member {
            LocalMember::AnySource => g.local.insert(iface),
            LocalMember::Source(s) => g.sources.entry(s).or_default().local_include.insert(iface),
            LocalMember::ExcludeSource(s) => {
                g.sources.entry(s).or_default().local_exclude.insert(iface)
            }
        };
        if !added {
            return;
        }
        self.run(now, env, Some(vec![group]), recompute::group);
    }

    /// A Join/Prune message from a PIM neighbour arrived on `iface` (the driver checks that
    /// the sender is a neighbour, 4.5).
    pub fn handle_join_prune(
        &mut self,
        now: Duration,
        iface: Iface,
        msg: &JoinPrune,
        env: &dyn TreeEnv,
    ) {
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            ifaces: &self.ifaces,
            env,
            jitter: &mut self.jitter,
            out: &mut self.out,
            counters: &mut self.counters,
            room: self.cfg.max_entries.saturating_sub(self.entries),
        };
        assert::joins_for_us(&mut self.groups, &self.ifaces, iface, msg);
        receive::join_prune(&mut ctx, &mut self.groups, iface, msg);
        for set in &msg.groups {
            self.reindex(set.group.addr);
        }
        self.flush();
    }

    /// The Generation ID of neighbour `addr` on `iface` changed (it restarted): every upstream
    /// machine whose RPF' it is sends its join within t_override (4.5.6, 4.5.7).
    pub fn neighbor_restarted(
        &mut self,
        now: Duration,
        iface: Iface,
        addr: Ipv4Addr,
        env: &dyn TreeEnv,
    ) {
        let nbr = Some(Neighbor { iface, addr });
        self.run(now, env, None, |ctx, group, g| {
            if g.upstream.rpf == nbr {
                let t = ctx.t_override(iface);
                g.upstream.decrease_timer(ctx.now, t);
            }
            for s in g.sources.values_mut() {
                if s.upstream.rpf == nbr {
                    let t = ctx.t_override(iface);
                    s.upstream.decrease_timer(ctx.now, t);
                }
            }
            recompute::group(ctx, group, g);
        });
    }

    /// The MRIB, the RP set or the neighbours changed: RPF' of every entry is read again
    /// (RPF' changes not due to an Assert: join the new neighbour, prune the old one).
    pub fn routes_changed(&mut self, now: Duration, env: &dyn TreeEnv) {
        self.run(now, env, None, recompute::group);
    }

    /// Data of (source, group) arrived on `iif` (the MGM's creation alert, or a hit the data
    /// plane signals): the Keepalive Timer and the SPT bit as `spt.rs` decides (data on the
    /// SPT, the last hop's switch under
    /// [`SptPolicy::Immediate`](super::types::SptPolicy::Immediate)); JoinDesired(S,G) and
    /// PruneDesired(S,G,rpt) follow. Nothing for a group without state.
    pub fn data_arrived(
        &mut self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: Iface,
        env: &dyn TreeEnv,
    ) {
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        let d = spt::on_data(
            self.cfg.spt_policy,
            &self.ifaces,
            env,
            group,
            g,
            source,
            iif,
        );
        if d == DataArrival::default() {
            return;
        }
        if !g.sources.contains_key(&source) && self.entries >= self.cfg.max_entries {
            self.counters.entry_limit += 1;
            return;
        }
        let s = g.sources.entry(source).or_default();
        s.from_data = true;
        if d.restart_keepalive {
            s.keepalive = Some(now + self.cfg.keepalive_period);
        }
        s.spt_bit |= d.set_spt_bit;
        self.run(now, env, Some(vec![group]), recompute::group);
    }

    /// The earliest deadline of any machine.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.groups
            .values()
            .filter_map(recompute::next_deadline)
            .min()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Duration, env: &dyn TreeEnv) {
        let due: Vec<Ipv4Addr> = self
            .by_time
            .range(..=(now, Ipv4Addr::BROADCAST))
            .map(|(_, group)| *group)
            .collect();
        self.apply(now, env, Some(due), |ctx, group, g| {
            if recompute::next_deadline(g).is_some_and(|t| t <= ctx.now) {
                recompute::fire_timers(ctx, group, g);
            }
        });
        // Joins for a neighbour are going out: the Join Timers toward it that would expire in
        // the next half period go now, in the same messages. Sending a join early only
        // refreshes the upstream state; the timers of a neighbour fall into one phase, so
        // periodic joins are aggregated however far apart the entries were joined.
        let to = self.out.join_neighbors();
        if !to.is_empty() {
            let horizon = now + self.cfg.t_periodic / 2;
            let early: Vec<Ipv4Addr> = self
                .by_time
                .range(..=(horizon, Ipv4Addr::BROADCAST))
                .map(|(_, group)| *group)
                .filter(|group| {
                    self.groups
                        .get(group)
                        .is_some_and(|g| recompute::has_join_timer_before(g, &to, horizon))
                })
                .collect();
            self.apply(now, env, Some(early), |ctx, group, g| {
                recompute::pull_join_timers(g, &to, ctx.now, horizon);
                recompute::fire_timers(ctx, group, g);
            });
        }
        self.flush();
    }

    /// An Assert from the live neighbour `from` on `iface` (4.6; the driver drops those of
    /// other senders). A group that is not one multicast address, or an (S,G) assert without
    /// a source, is counted ([`TreeCounters::bad_assert`]); one for a group without state is
    /// ignored and counted.
    pub fn handle_assert(
        &mut self,
        now: Duration,
        iface: Iface,
        from: Ipv4Addr,
        msg: &Assert,
        env: &dyn TreeEnv,
    ) {
        let group = msg.group.addr;
        if msg.group.mask_len != 32 || !group.is_multicast() || msg.group.bidir {
            self.counters.bad_assert += 1;
            return;
        }
        if !msg.rpt && msg.source.is_unspecified() {
            self.counters.bad_assert += 1;
            return;
        }
        if !self.ifaces.contains_key(&iface) {
            self.counters.unknown_interface += 1;
            return;
        }
        if !self.groups.contains_key(&group) {
            self.counters.assert_ignored += 1;
            return;
        }
        let msg = *msg;
        self.run(now, env, Some(vec![group]), move |ctx, group, g| {
            assert::receive(ctx, group, g, iface, from, &msg);
            recompute::group(ctx, group, g);
        });
    }

    /// Data of (`source`, `group`) arrived on `iface`, which is not the entry's incoming
    /// interface (the MGM's wrong-interface callback): where we could assert and have no
    /// assert state, we assert (4.6.1, 4.6.2). Nothing for a group without state.
    pub fn data_on_wrong_interface(
        &mut self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: Iface,
        env: &dyn TreeEnv,
    ) {
        if !self.groups.contains_key(&group) {
            return;
        }
        self.run(now, env, Some(vec![group]), move |ctx, group, g| {
            if assert::data_on_iface(ctx, group, g, source, iface) {
                recompute::group(ctx, group, g);
            }
        });
    }

    /// Neighbour `addr` on `iface` expired, said goodbye or restarted: the asserts it won
    /// there are forgotten (4.6.1, 4.6.2: "Current Winner's GenID changes or NLT expires").
    pub fn neighbor_gone(
        &mut self,
        now: Duration,
        iface: Iface,
        addr: Ipv4Addr,
        env: &dyn TreeEnv,
    ) {
        self.run(now, env, None, |ctx, group, g| {
            if assert::neighbor_gone(g, iface, addr) {
                recompute::group(ctx, group, g);
            }
        });
    }

    /// The next Assert to send.
    pub fn poll_assert(&mut self) -> Option<OutgoingAssert> {
        self.out.poll_assert()
    }

    /// The next entry whose exclusions ([`Tib::excludes`]) changed: (source, group), `None` for (*,G) (every
    /// (S,G) of the group). Its forwarding entries must be built again, asking
    /// [`Tib::excludes`] for each outgoing interface.
    pub fn poll_forwarding_change(&mut self) -> Option<(Option<Ipv4Addr>, Ipv4Addr)> {
        self.forwarding.pop_first().map(|(g, s)| (s, g))
    }

    /// Whether a forwarding entry of (`source`, `group`) must leave PIM interface `iface` out:
    /// PIM holds state for the group and `iface` is not in inherited_olist(S,G). The MGM adds
    /// an interface to an (S,G) entry for any membership there, IGMP's or PIM's (*,G) joins,
    /// so without this an interface where we lost an assert (lost_assert), where the shared
    /// tree's (S,G) is pruned off (an (S,G,rpt) prune), or where IGMP's members are but we are
    /// not the DR (pim_include) would still be served. With no state for the group PIM has no
    /// opinion.
    pub fn excludes(&self, source: Ipv4Addr, group: Ipv4Addr, iface: Iface) -> bool {
        use super::macros::inherited_olist_sg;
        let Some(g) = self.groups.get(&group) else {
            return false;
        };
        if !self.ifaces.contains_key(&iface) {
            return false;
        }
        let empty = SourceState::default();
        let s = g.sources.get(&source).unwrap_or(&empty);
        !inherited_olist_sg(&self.ifaces, g, s).contains(&iface)
    }

    /// The next Join/Prune message to send.
    pub fn poll_join_prune(&mut self) -> Option<OutgoingJoinPrune> {
        self.out.poll_message()
    }

    /// The next outgoing-set change.
    pub fn poll_event(&mut self) -> Option<TreeEvent> {
        self.out.poll_event()
    }

    /// The state of every group (show views, tests).
    pub fn groups(&self) -> &BTreeMap<Ipv4Addr, GroupState> {
        &self.groups
    }

    /// Input refused, by reason.
    pub fn counters(&self) -> TreeCounters {
        self.counters
    }

    /// The settings.
    pub fn config(&self) -> &TreeConfig {
        &self.cfg
    }

    /// New settings (a reload): running timers keep their deadlines, the next ones use the
    /// new values; a lower `max_entries` refuses new state only.
    pub fn set_config(&mut self, now: Duration, cfg: TreeConfig, env: &dyn TreeEnv) {
        self.cfg = cfg;
        self.run(now, env, None, recompute::group);
    }

    /// The parameters of a PIM interface the machines know.
    pub fn interface(&self, iface: Iface) -> Option<&InterfaceParams> {
        self.ifaces.get(&iface)
    }

    /// inherited_olist(S,G): where the RP forwards a Register's decapsulated packet (4.4.2:
    /// inherited_olist(S,G,rpt), plus the (S,G) joins) and whether SPTbit(S,G) is set (the
    /// data already arrives natively). Empty and false for a group without state.
    pub fn register_olist(&self, source: Ipv4Addr, group: Ipv4Addr) -> (BTreeSet<Iface>, bool) {
        let Some(g) = self.groups.get(&group) else {
            return (BTreeSet::new(), false);
        };
        let empty = super::state::SourceState::default();
        let s = g.sources.get(&source).unwrap_or(&empty);
        (
            super::macros::inherited_olist_sg(&self.ifaces, g, s),
            s.spt_bit,
        )
    }

    /// A Register for (S,G) reached us as the RP with SwitchToSptDesired (4.4.2): the
    /// Keepalive Timer (S,G) runs for `period`, so JoinDesired(S,G) joins toward the source
    /// while the olist is not empty. Nothing for a group without state (no receivers).
    pub fn register_keepalive(
        &mut self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        period: Duration,
        env: &dyn TreeEnv,
    ) {
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        if !g.sources.contains_key(&source) && self.entries >= self.cfg.max_entries {
            self.counters.entry_limit += 1;
            return;
        }
        let s = g.sources.entry(source).or_default();
        s.keepalive = Some(s.keepalive.map_or(now + period, |t| t.max(now + period)));
        self.run(now, env, Some(vec![group]), recompute::group);
    }
}

/// The interfaces `g`'s forwarding entries must leave out ([`Tib::excludes`]) among those a
/// membership could put in them (local members, downstream joins and prunes, assert state):
/// (None, I) for the (S,G) entries without state of their own, (Some(S), I) for the others.
/// What changes here is what the driver must re-validate.
fn exclusions(ifaces: &Interfaces, g: &GroupState) -> BTreeSet<(Option<Ipv4Addr>, Iface)> {
    use super::macros::inherited_olist_sg;
    let star: BTreeSet<Iface> = g
        .local
        .iter()
        .chain(g.downstream.keys())
        .chain(g.asserts.keys())
        .copied()
        .filter(|i| ifaces.contains_key(i))
        .collect();
    let mut out = BTreeSet::new();
    let empty = SourceState::default();
    let olist = inherited_olist_sg(ifaces, g, &empty);
    out.extend(star.difference(&olist).map(|i| (None, *i)));
    for (source, s) in &g.sources {
        let olist = inherited_olist_sg(ifaces, g, s);
        let candidates = star
            .iter()
            .chain(s.local_include.iter())
            .chain(s.downstream.keys())
            .chain(s.rpt.keys())
            .chain(s.asserts.keys())
            .filter(|i| ifaces.contains_key(i) && !olist.contains(i));
        out.extend(candidates.map(|i| (Some(*source), *i)));
    }
    out
}
