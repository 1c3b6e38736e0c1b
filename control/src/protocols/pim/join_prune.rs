//! The join/prune machines ([`super::tree::Tib`]) wired into the PIM instance (RFC 7761 4.5):
//! what the instance feeds them and where their outputs go.
//!
//! - Received Join/Prune messages from live neighbours (the instance drops and counts the
//!   others); neighbour up, down and restart (new Generation ID) and DR changes from the
//!   Hello code; IGMP's local joins and leaves on PIM interfaces from the MGM's local
//!   join/leave callbacks; the machines' timers with the instance's.
//! - RPF from the router's RIB (connected subnets, `rpf_routes`, the kernel's routes), asked
//!   through the core (`Protocol::poll_rpf_query`, answered by `Protocol::handle_rpf`, all
//!   of them again when the routes change) and kept per address: RPF'(addr) is the route's
//!   next hop (the address itself when directly connected) when it is a live PIM neighbour on
//!   the RPF interface, none otherwise (a connected source host: nothing is joined upstream).
//! - Out: Join/Prune datagrams (ALL-PIM-ROUTERS, TTL 1, IP protocol 103) through
//!   `poll_datagram`; outgoing-interface changes as PIM's MGM memberships (`poll_event`), so
//!   the MGM's entries forward on the joined interfaces.

use super::bsr::Bsr;
use super::config::PimSettings;
use super::instance::{Pim, PimEvent};
use super::interface::Interface;
use super::tree::{Entry, InterfaceParams, LocalMember, RouteMetric, Rpf, Tib, TreeEnv, TreeEvent};
use crate::interface::Interface as Iface;
use crate::protocols::igmp::in_prefix;
use crate::protocols::pim::StaticRp;
use crate::protocols::shared::MembershipEvent;
use dataplane::wire::pim::JoinPrune;
use mgm::{InterfaceId, RpfRoute, SourceGroupEntry};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The most RPF answers kept; beyond it the answers no entry needs are dropped.
const MAX_RPF_CACHE: usize = 4096;

/// What the machines read of the rest of PIM at one call: the RIB's answers, the neighbour
/// table, the static RPs, the SSM range. Addresses the RIB has not answered yet read as "no
/// route" and are noted, for the core to answer.
pub(super) struct Env<'a> {
    rpf: &'a BTreeMap<Ipv4Addr, Option<RpfRoute>>,
    interfaces: &'a BTreeMap<Iface, Interface>,
    rps: &'a [StaticRp],
    bsr: &'a Bsr,
    ssm: (Ipv4Addr, u8),
    missing: RefCell<BTreeSet<Ipv4Addr>>,
}

impl TreeEnv for Env<'_> {
    fn rp(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.is_ssm(group) {
            return None;
        }
        // Static RPs first for the groups they cover, then the Bootstrap router's RP set.
        PimSettings::rp_for(self.rps, group).or_else(|| self.bsr.rp_for(group))
    }

    fn rpf(&self, addr: Ipv4Addr) -> Option<Rpf> {
        // This router (we are the RP): no RPF interface (TreeEnv's contract; the RP's
        // Update_SPTbit reads RPF_interface(RP(G)) as none).
        if self.interfaces.values().any(|i| i.address == addr) {
            return None;
        }
        let Some(answer) = self.rpf.get(&addr) else {
            self.missing.borrow_mut().insert(addr);
            return None;
        };
        let route = (*answer)?;
        let iface = Iface::from_id(route.iif)?;
        // MRIB.next_hop: the address itself when it is directly connected (4.1.6: RPF' is
        // NBR(RPF_interface, next hop), which is nobody unless it is a live PIM neighbour: a
        // connected source is joined from no one, a connected RP that is a neighbour is).
        let hop = if route.upstream.is_unspecified() {
            addr
        } else {
            route.upstream
        };
        let live = self
            .interfaces
            .get(&iface)
            .is_some_and(|i| i.neighbor(hop).is_some());
        Some(Rpf {
            iface,
            neighbor: live.then_some(hop),
        })
    }

    fn is_ssm(&self, group: Ipv4Addr) -> bool {
        in_prefix(group, self.ssm.0, self.ssm.1)
    }

    fn metric(&self, addr: Ipv4Addr) -> RouteMetric {
        self.rpf
            .get(&addr)
            .copied()
            .flatten()
            .map_or(RouteMetric::default(), |r| super::assert::route_metric(&r))
    }
}

/// The machines' view of one PIM interface.
fn params(i: &Interface) -> InterfaceParams {
    InterfaceParams {
        address: i.address,
        is_dr: i.is_dr(),
        neighbors: i.neighbors.len(),
        propagation_delay: i.effective_propagation_delay(),
        override_interval: i.effective_override_interval(),
        suppression_enabled: i.suppression_enabled(),
        // The IP header's 20 bytes aside; never below what IPv4 guarantees (576).
        max_message_len: usize::from(i.mtu.max(576)) - 20,
    }
}

/// Builds the environment from the instance's fields (disjoint from `tib`, which the calls
/// borrow mutably).
macro_rules! env {
    ($pim:expr) => {
        Env {
            rpf: &$pim.rpf,
            interfaces: &$pim.interfaces,
            rps: &$pim.rps,
            bsr: &$pim.bsr,
            ssm: $pim.ssm_range,
            missing: RefCell::new(BTreeSet::new()),
        }
    };
}

impl Pim {
    /// Runs `f` on the machines with the environment, then takes their outputs.
    pub(super) fn with_tree(&mut self, f: impl FnOnce(&mut Tib, &dyn TreeEnv)) {
        let env = env!(self);
        f(&mut self.tib, &env);
        self.rpf_queries.extend(env.missing.into_inner());
        self.drain_tree();
    }

    /// A Join/Prune from the live neighbour `src` on `iface`, already checked.
    pub(super) fn join_prune_received(&mut self, now: Duration, iface: Iface, msg: &JoinPrune) {
        let env = env!(self);
        self.tib.handle_join_prune(now, iface, msg, &env);
        self.rpf_queries.extend(env.missing.into_inner());
    }

    /// An MGM local join or leave (IGMP on a PIM interface), queued for the machines.
    pub(super) fn queue_local(&mut self, scope: SourceGroupEntry, iface: InterfaceId, join: bool) {
        let Some(iface) = Iface::from_id(iface) else {
            return;
        };
        let ones = Ipv4Addr::BROADCAST;
        if scope.group_mask != ones || !scope.group.is_multicast() {
            return;
        }
        let member = if scope.source_mask == ones {
            LocalMember::Source(scope.source)
        } else if scope.source_mask.is_unspecified() {
            LocalMember::AnySource
        } else {
            return;
        };
        self.local_pending.push((iface, scope.group, member, join));
    }

    /// Data of (source, group) arrived on `iif` (a new entry, or an entry carrying traffic),
    /// queued for the machines: the Keepalive Timer, the SPT bit and the last hop's switch to
    /// the SPT (4.2). (Each source of them gives an entry once per report.)
    pub(super) fn queue_data(&mut self, source: Ipv4Addr, group: Ipv4Addr, iif: Iface) {
        self.data_pending.push((source, group, iif));
    }

    /// RPF answers from the RIB: kept, and when one differs from what the machines read, they
    /// read RPF again (join the new neighbour, prune the old).
    pub(super) fn handle_rpf(&mut self, now: Duration, answers: &[(Ipv4Addr, Option<RpfRoute>)]) {
        let mut changed = false;
        for &(addr, route) in answers {
            changed |= self.rpf.insert(addr, route).flatten() != route;
        }
        if changed {
            let env = env!(self);
            self.tib.routes_changed(now, &env);
            self.rpf_queries.extend(env.missing.into_inner());
        }
        if self.rpf.len() > MAX_RPF_CACHE {
            self.trim_rpf();
        }
        self.retry_bootstrap(now);
        self.drain_tree();
    }

    /// The Bootstrap router's RP set changed: RP(G) of every group is read again (join the
    /// new RP, prune toward the old).
    pub(super) fn rp_set_changed(&mut self, now: Duration) {
        let env = env!(self);
        self.tib.routes_changed(now, &env);
        self.rpf_queries.extend(env.missing.into_inner());
        self.drain_tree();
    }

    /// Drops the RPF answers no state needs (sources and RPs of the machines' groups).
    fn trim_rpf(&mut self) {
        let mut needed = BTreeSet::new();
        for (group, g) in self.tib.groups() {
            needed.extend(g.sources.keys().copied());
            needed.extend(PimSettings::rp_for(&self.rps, *group));
            needed.extend(self.bsr.rp_for(*group));
        }
        needed.extend(self.bsr.elected.map(|e| e.address));
        needed.extend(self.bsr_pending.as_ref().map(|p| p.2.bsr_address));
        self.rpf.retain(|a, _| needed.contains(a));
    }

    /// The global settings changed on reload: new RPs and SPT policy for the machines.
    pub(super) fn reconfigure_tree(&mut self, now: Duration) {
        let cfg = super::config::tree_config(self.spt_switchover);
        let env = env!(self);
        self.tib.set_config(now, cfg, &env);
        self.rpf_queries.extend(env.missing.into_inner());
        self.sync_tree(now);
    }

    /// Gives the machines what changed since the last call (interface parameters, neighbour
    /// events, local members), fires their due timers, and takes their outputs: Join/Prune
    /// datagrams into the outbox, outgoing-interface changes into PIM's memberships.
    pub(super) fn sync_tree(&mut self, now: Duration) {
        self.tree_now = self.tree_now.max(now);
        let events = std::mem::take(&mut self.tree_pending);
        let locals = std::mem::take(&mut self.local_pending);
        let data = std::mem::take(&mut self.data_pending);
        let env = env!(self);
        for (id, i) in &self.interfaces {
            let p = params(i);
            if self.tib.interface(*id) != Some(&p) {
                self.tib.set_interface(now, *id, p, &env);
            }
        }
        let mut routes = false;
        for e in events {
            match e {
                PimEvent::NeighborRestarted { iface, address } => {
                    self.tib.neighbor_gone(now, iface, address, &env);
                    self.tib.neighbor_restarted(now, iface, address, &env)
                }
                PimEvent::NeighborDown { iface, address } => {
                    self.tib.neighbor_gone(now, iface, address, &env);
                    routes = true;
                }
                PimEvent::NeighborUp { .. } => routes = true,
                // The interface's parameters (I_am_DR) above.
                PimEvent::DrChanged { .. } => {}
            }
        }
        if routes {
            self.tib.routes_changed(now, &env);
        }
        for (iface, group, member, present) in locals {
            self.tib
                .local_membership(now, iface, group, member, present, &env);
        }
        for (source, group, iif) in data {
            self.tib.data_arrived(now, source, group, iif, &env);
        }
        if self.tib.poll_timeout().is_some_and(|t| t <= now) {
            self.tib.handle_timeout(now, &env);
        }
        self.rpf_queries.extend(env.missing.into_inner());
        self.drain_tree();
        self.take_wrong_interface(now);
    }

    /// PIM stops on `iface`: its downstream state and local members go, and what that prunes
    /// upstream goes out.
    pub(super) fn tree_remove_interface(&mut self, iface: Iface) {
        if self.tib.interface(iface).is_none() {
            return;
        }
        let env = env!(self);
        self.tib.remove_interface(self.tree_now, iface, &env);
        self.rpf_queries.extend(env.missing.into_inner());
        self.drain_tree();
    }

    /// Runs `f` on the machines with the environment (the register path, `register.rs`),
    /// then takes the RPF questions it raised and the machines' outputs.
    pub(super) fn with_tib<R>(&mut self, f: impl FnOnce(&mut super::tree::Tib, &Env) -> R) -> R {
        let env = env!(self);
        let r = f(&mut self.tib, &env);
        self.rpf_queries.extend(env.missing.into_inner());
        self.drain_tree();
        r
    }

    /// The machines' outputs into the outbox and the membership queue.
    fn drain_tree(&mut self) {
        while let Some(m) = self.tib.poll_join_prune() {
            self.outbox.push_back(m.datagram());
            self.join_prune_sent += 1;
        }
        while let Some(a) = self.tib.poll_assert() {
            self.outbox.push_back(a.datagram());
            self.count_assert_sent(a.iface);
        }
        while let Some(entry) = self.tib.poll_forwarding_change() {
            self.revalidate.push_back(entry);
        }
        while let Some(e) = self.tib.poll_event() {
            let (entry, iface, join) = match e {
                TreeEvent::OifAdded { entry, iface } => (entry, iface, true),
                TreeEvent::OifRemoved { entry, iface } => (entry, iface, false),
            };
            let (source, group) = match entry {
                Entry::StarG { group } => (None, group),
                Entry::Sg { source, group } => (Some(source), group),
            };
            self.memberships.push_back(if join {
                MembershipEvent::Join {
                    iface,
                    source,
                    group,
                }
            } else {
                MembershipEvent::Leave {
                    iface,
                    source,
                    group,
                }
            });
        }
    }

    /// Join/Prune messages dropped because their sender is not a live neighbour (4.5).
    pub fn join_prune_not_neighbor(&self) -> u64 {
        self.join_prune_not_neighbor
    }

    /// Join/Prune messages sent.
    pub fn join_prune_sent(&self) -> u64 {
        self.join_prune_sent
    }

    /// The join/prune machines' state (for show views and tests).
    pub fn tib(&self) -> &super::tree::Tib {
        &self.tib
    }
}
