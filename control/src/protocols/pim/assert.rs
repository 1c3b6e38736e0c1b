//! Assert (RFC 7761 4.6) wired into the PIM instance: received Asserts from live neighbours
//! go to the machines of `tree/assert.rs` (others are refused and counted), the MGM's
//! wrong-interface callback (data of an entry arriving on one of its outgoing interfaces)
//! triggers them, a neighbour's expiry or restart ends the asserts it won, and the Asserts
//! they produce go out as datagrams, counted per interface. `show pim assert`.
//!
//! Assert metrics (4.6.3) come from the RIB route the core answers RPF with
//! ([`route_metric`]): the metric preference is an administrative distance as FRR and Cisco
//! use them, the metric the route's own (0: the routes here carry none).
//! - connected (the route has no next hop): preference 0, metric 0;
//! - the config's `rpf_routes`: preference 1 (a static route);
//! - the kernel's routes: preference 110 (the kernel's routes come from a routing daemon,
//!   OSPF through FRR in the labs; its own distance is not in the route).
//!
//! The MGM's wrong-interface callback is opt-in (`MgmConfig::wrong_if_callback`): the core
//! turns it on when a protocol asks ([`crate::protocols::Protocol::wants_wrong_interface`],
//! PIM does). The MGM calls it at most once per `wrong_if_interval` (1 s) per (S,G), and the
//! worker signals a wrong-interface (S,G) at most once per its resignal interval: an assert
//! starts at the first packet, and a machine back in NoInfo asserts again within a second of
//! data.

use super::error::RejectReason;
use super::instance::Pim;
use super::tree::{AssertState, Iface as TreeIface, RouteMetric};
use crate::interface::Interface as Iface;
use crate::protocols::shared::{ROUTE_CONFIG, ROUTE_KERNEL};
use dataplane::wire::pim::Assert;
use mgm::{InterfaceId, OifEntry, RpfRoute};
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Metric preference of a connected route.
pub const PREFERENCE_CONNECTED: u32 = 0;
/// Metric preference of a route of the config's `rpf_routes`.
pub const PREFERENCE_CONFIG: u32 = 1;
/// Metric preference of a kernel route.
pub const PREFERENCE_KERNEL: u32 = 110;

/// The assert metric's preference and metric for an RPF route (see the module doc).
pub fn route_metric(route: &RpfRoute) -> RouteMetric {
    let preference = if route.upstream.is_unspecified() {
        PREFERENCE_CONNECTED
    } else if route.route.protocol == ROUTE_KERNEL {
        PREFERENCE_KERNEL
    } else if route.route.protocol == ROUTE_CONFIG {
        PREFERENCE_CONFIG
    } else {
        // A route of unknown origin: as a static one.
        PREFERENCE_CONFIG
    };
    RouteMetric {
        preference,
        metric: 0,
    }
}

/// One (S,G) or (*,G) assert state on one interface (FRR's `show ip pim assert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssertInfo {
    /// The interface.
    pub iface: Iface,
    /// S; `None` for (*,G).
    pub source: Option<Ipv4Addr>,
    /// G.
    pub group: Ipv4Addr,
    /// "winner" or "loser".
    pub state: &'static str,
    /// AssertWinner.
    pub winner: Ipv4Addr,
    /// AssertWinnerMetric: the RPT bit.
    pub rpt: bool,
    /// AssertWinnerMetric: the metric preference.
    pub preference: u32,
    /// AssertWinnerMetric: the route metric.
    pub metric: u32,
    /// Time left on the Assert Timer.
    pub timer: Duration,
}

impl Pim {
    /// An Assert from `src` on `iface`, checked by the wire parser: from a live neighbour it
    /// goes to the machines; from anyone else it is refused ([`RejectReason::NotNeighbor`]).
    pub(super) fn assert_received(
        &mut self,
        now: Duration,
        iface: Iface,
        src: Ipv4Addr,
        msg: &Assert,
    ) {
        let Some(i) = self.interfaces.get_mut(&iface) else {
            return;
        };
        if i.neighbor(src).is_none() {
            i.reject(RejectReason::NotNeighbor);
            return;
        }
        let bad = self.tib.counters().bad_assert;
        self.with_tree(|tib, env| tib.handle_assert(now, iface, src, msg, env));
        if self.tib.counters().bad_assert > bad {
            if let Some(i) = self.interfaces.get_mut(&iface) {
                i.reject(RejectReason::BadAssert);
            }
        }
    }

    /// The MGM's wrong-interface callback: queued, taken in by the next `sync_tree`.
    pub(super) fn queue_wrong_interface(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: InterfaceId,
    ) {
        let Some(iface) = Iface::from_id(iface) else {
            return;
        };
        if !self.interfaces.contains_key(&iface) || !group.is_multicast() {
            return;
        }
        self.wrong_if_received += 1;
        if self.wrong_if_pending.len() < super::instance::MAX_EVENTS {
            self.wrong_if_pending.push((source, group, iface));
        }
    }

    /// The queued wrong-interface arrivals into the machines.
    pub(super) fn take_wrong_interface(&mut self, now: Duration) {
        let pending = std::mem::take(&mut self.wrong_if_pending);
        for (source, group, iface) in pending {
            self.with_tree(|tib, env| tib.data_on_wrong_interface(now, source, group, iface, env));
        }
    }

    /// The creation alert's answer: PIM's outgoing interfaces of a new entry where an assert
    /// was lost are disabled.
    pub(super) fn assert_creation_alert(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        oifs: &mut [OifEntry],
    ) {
        for o in oifs.iter_mut() {
            let Some(iface) = Iface::from_id(o.iface) else {
                continue;
            };
            if self.interfaces.contains_key(&iface) && self.tib.excludes(source, group, iface) {
                o.enabled = false;
            }
        }
    }

    /// Counts an Assert sent on `iface`.
    pub(super) fn count_assert_sent(&mut self, iface: TreeIface) {
        if let Some(i) = self.interfaces.get_mut(&iface) {
            i.counters.asserts_sent += 1;
        }
    }

    /// Wrong-interface callbacks the MGM made to PIM.
    pub fn wrong_interface_callbacks(&self) -> u64 {
        self.wrong_if_received
    }

    /// Every assert state at `now`: by group, (*,G) first, then by source and interface.
    pub fn assert_infos(&self, now: Duration) -> Vec<AssertInfo> {
        let mut out = Vec::new();
        let row = |iface: &Iface, source, group, a: &super::tree::AssertInfo| AssertInfo {
            iface: *iface,
            source,
            group,
            state: match a.state {
                AssertState::Winner => "winner",
                AssertState::Loser => "loser",
            },
            winner: a.winner.address,
            rpt: a.winner.rpt,
            preference: a.winner.preference,
            metric: a.winner.metric,
            timer: a.timer.saturating_sub(now),
        };
        for (group, g) in self.tib.groups() {
            for (iface, a) in &g.asserts {
                out.push(row(iface, None, *group, a));
            }
            for (source, s) in &g.sources {
                for (iface, a) in &s.asserts {
                    out.push(row(iface, Some(*source), *group, a));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::shared::ROUTE_CONNECTED;
    use mgm::RouteInfo;

    fn route(upstream: &str, protocol: u32) -> RpfRoute {
        RpfRoute {
            iif: InterfaceId::NONE,
            upstream: upstream.parse().unwrap(),
            route: RouteInfo {
                protocol,
                ..RouteInfo::default()
            },
        }
    }

    #[test]
    fn preferences_follow_the_route_origin() {
        let pref = |r: RpfRoute| route_metric(&r).preference;
        assert_eq!(pref(route("0.0.0.0", ROUTE_CONNECTED)), 0);
        // A kernel route to a connected subnet is connected too.
        assert_eq!(pref(route("0.0.0.0", ROUTE_KERNEL)), 0);
        assert_eq!(pref(route("10.0.0.2", ROUTE_CONFIG)), 1);
        assert_eq!(pref(route("10.0.0.2", ROUTE_KERNEL)), 110);
    }
}
