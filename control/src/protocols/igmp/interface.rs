//! One interface running IGMP: its querier state (RFC 3376 6.6, 7.3.1), its groups and its
//! counters.

use super::config::IgmpInterfaceConfig;
use super::error::RejectReason;
use super::group::{FilterMode, Group};
use crate::interface::Interface as Iface;
use crate::protocols::shared::MembershipEvent;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// One interface running IGMP.
#[derive(Debug, Clone)]
pub(super) struct Interface {
    pub id: Iface,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub cfg: IgmpInterfaceConfig,
    /// The querier's address: ours while we are querier.
    pub querier: Ipv4Addr,
    /// Other Querier Present timer; `None` while we are querier.
    pub other_querier_until: Option<Duration>,
    /// Our own (configured) robustness and query interval while we use the querier's (RFC 3376
    /// 4.1.6, 4.1.7); restored when we become querier again.
    pub own_timers: Option<(u8, Duration)>,
    /// Next general query (only while querier).
    pub general_query_next: Option<Duration>,
    /// Startup queries still to send after the next one.
    pub startup_left: u8,
    pub groups: BTreeMap<Ipv4Addr, Group>,
    /// Source records held by all groups (for `max_sources`).
    pub source_count: usize,
    pub static_joins: BTreeSet<(Ipv4Addr, Option<Ipv4Addr>)>,
    pub counters: InterfaceCounters,
}

impl Interface {
    pub fn is_querier(&self) -> bool {
        self.other_querier_until.is_none()
    }

    pub fn reject(&mut self, reason: RejectReason) {
        *self.counters.rejected.entry(reason).or_insert(0) += 1;
    }

    /// What `group` forwards on this interface: `None` is (*,G), `Some(s)` is (S,G).
    pub fn forwarding(&self, group: Ipv4Addr) -> BTreeSet<Option<Ipv4Addr>> {
        let mut set: BTreeSet<Option<Ipv4Addr>> = self
            .static_joins
            .range((group, None)..=(group, Some(Ipv4Addr::BROADCAST)))
            .map(|(_, s)| *s)
            .collect();
        if let Some(g) = self.groups.get(&group) {
            match g.mode {
                FilterMode::Exclude => {
                    set.insert(None);
                }
                FilterMode::Include => set.extend(g.requested().into_iter().map(Some)),
            }
        }
        set
    }

    /// Remove `group` if it is INCLUDE({}) (6.5: no state left).
    pub fn drop_if_empty(&mut self, group: Ipv4Addr) {
        if self.groups.get(&group).is_some_and(Group::is_empty) {
            self.groups.remove(&group);
        }
    }

    /// Remove `group` whatever its state, freeing its sources.
    pub fn remove_group(&mut self, group: Ipv4Addr) {
        if let Some(g) = self.groups.remove(&group) {
            self.source_count -= g.sources.len();
        }
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        [self.other_querier_until, self.general_query_next]
            .into_iter()
            .chain(self.groups.values().map(Group::next_deadline))
            .flatten()
            .min()
    }
}

/// Queue the Join and Leave events that turn forwarding set `before` into `after`.
pub(super) fn emit_diff(
    events: &mut VecDeque<MembershipEvent>,
    iface: Iface,
    group: Ipv4Addr,
    before: &BTreeSet<Option<Ipv4Addr>>,
    after: &BTreeSet<Option<Ipv4Addr>>,
) {
    for &source in before.difference(after) {
        events.push_back(MembershipEvent::Leave {
            iface,
            source,
            group,
        });
    }
    for &source in after.difference(before) {
        events.push_back(MembershipEvent::Join {
            iface,
            source,
            group,
        });
    }
}

/// Per-interface counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InterfaceCounters {
    /// Queries sent (general and specific).
    pub queries_sent: u64,
    /// Valid queries received.
    pub queries_received: u64,
    /// Queries of a version below the interface's (RFC 3376 7.3.1: configure the lower version).
    pub older_version_queries: u64,
    /// Valid v1 reports.
    pub v1_reports: u64,
    /// Valid v2 reports.
    pub v2_reports: u64,
    /// Valid v3 reports.
    pub v3_reports: u64,
    /// Valid v2 leaves.
    pub leaves: u64,
    /// Groups refused by `max_groups`.
    pub group_limit_refused: u64,
    /// Sources refused by `max_sources`.
    pub source_limit_refused: u64,
    /// v3 EXCLUDE-mode records for SSM groups, ignored (RFC 4604 2.2.4).
    pub ssm_exclude_ignored: u64,
    /// Records or leaves ignored otherwise: a non-routable group, BLOCK in compatibility mode,
    /// a leave with v1 hosts present or for an unknown group.
    pub records_ignored: u64,
    /// Packets rejected, by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
}

impl InterfaceCounters {
    /// Packets rejected for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected.get(&reason).copied().unwrap_or(0)
    }
}
