//! The Tree Information Base as data: per group the (*,G) machines, per source the (S,G) and
//! (S,G,rpt) machines, the local members IGMP reported, and what was last told to the MGM.
//! The macros (`macros.rs`) read it; the driver (`tib.rs`, `receive.rs`, `recompute.rs`)
//! writes it. Fields are public for the driver's show views and for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use super::assert_state::AssertInfo;
use super::downstream::{Downstream, RptDownstream};
use super::types::{Iface, InterfaceParams, RouteMetric};
use super::upstream::{RptUpstream, Upstream};

/// The PIM interfaces the machines know, with their parameters.
pub type Interfaces = BTreeMap<Iface, InterfaceParams>;

/// Per source S of a group G: (S,G) and (S,G,rpt) state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    /// DownstreamJPState(S,G,I) per interface.
    pub downstream: BTreeMap<Iface, Downstream>,
    /// DownstreamJPState(S,G,rpt,I) per interface.
    pub rpt: BTreeMap<Iface, RptDownstream>,
    /// local_receiver_include(S,G,I): IGMPv3 members that include S.
    pub local_include: BTreeSet<Iface>,
    /// local_receiver_exclude(S,G,I): members of G that exclude S.
    pub local_exclude: BTreeSet<Iface>,
    /// The upstream (S,G) machine.
    pub upstream: Upstream,
    /// The upstream (S,G,rpt) machine.
    pub rpt_upstream: RptUpstream,
    /// KeepaliveTimer(S,G), running while data flows on the SPT or the last hop switches.
    pub keepalive: Option<Duration>,
    /// SPTbit(S,G): data arrived on the shortest-path tree.
    pub spt_bit: bool,
    /// RPF_interface(S) at the last evaluation.
    pub rpf_iface: Option<Iface>,
    /// The outgoing interfaces last announced (inherited_olist(S,G) without the RPF
    /// interface).
    pub oifs: BTreeSet<Iface>,
    /// Made by data (4.2: a Keepalive Timer started for a source without state): once it
    /// holds nothing of its own, it stops announcing what it inherits from (*,G) and goes.
    pub from_data: bool,
    /// (S,G) assert state per interface (4.6.1), Winner or Loser (NoInfo is no entry).
    pub asserts: BTreeMap<Iface, AssertInfo>,
    /// MRIB preference and metric toward S at the last evaluation (spt_assert_metric).
    pub route_metric: RouteMetric,
    /// RPF'(S,G) was last set from an assert winner.
    pub rpf_by_assert: bool,
}

impl SourceState {
    /// Nothing left to keep: every machine at rest and nothing announced.
    pub fn is_idle(&self) -> bool {
        !self.holds_state() && self.oifs.is_empty()
    }

    /// State of its own (a machine not at rest, a member, a running timer), outgoing
    /// interfaces aside.
    pub fn holds_state(&self) -> bool {
        !(self
            .downstream
            .values()
            .all(|d| !d.is_joined() && d.next_deadline().is_none())
            && self
                .rpt
                .values()
                .all(|r| r.next_deadline().is_none() && !r.is_pruned())
            && self.local_include.is_empty()
            && self.local_exclude.is_empty()
            && self.upstream.join_timer.is_none()
            && self.rpt_upstream.override_timer.is_none()
            && self.rpt_upstream.state != super::upstream::RptUpstreamState::Pruned
            && self.keepalive.is_none()
            && self.asserts.is_empty())
    }
}

/// Per group G: (*,G) state and its sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupState {
    /// DownstreamJPState(*,G,I) per interface.
    pub downstream: BTreeMap<Iface, Downstream>,
    /// local_receiver_include(*,G,I): IGMP members of G in exclude mode (any source).
    pub local: BTreeSet<Iface>,
    /// The upstream (*,G) machine.
    pub upstream: Upstream,
    /// RP(G) at the last evaluation.
    pub rp: Option<Ipv4Addr>,
    /// RPF_interface(RP(G)) at the last evaluation.
    pub rpf_iface: Option<Iface>,
    /// The outgoing interfaces last announced (immediate_olist(*,G) without the RPF
    /// interface).
    pub oifs: BTreeSet<Iface>,
    /// Sources with state.
    pub sources: BTreeMap<Ipv4Addr, SourceState>,
    /// (*,G) assert state per interface (4.6.2), Winner or Loser (NoInfo is no entry).
    pub asserts: BTreeMap<Iface, AssertInfo>,
    /// MRIB preference and metric toward RP(G) at the last evaluation (rpt_assert_metric).
    pub route_metric: RouteMetric,
    /// RPF'(*,G) was last set from an assert winner.
    pub rpf_by_assert: bool,
}

impl GroupState {
    /// Nothing left to keep.
    pub fn is_idle(&self) -> bool {
        self.downstream
            .values()
            .all(|d| !d.is_joined() && d.next_deadline().is_none())
            && self.local.is_empty()
            && self.upstream.join_timer.is_none()
            && self.oifs.is_empty()
            && self.sources.is_empty()
            && self.asserts.is_empty()
    }
}
