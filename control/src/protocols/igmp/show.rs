//! Show data: plain serializable snapshots of interfaces and groups. Timers are given as the
//! time left at the `now` the caller passes.

use super::group::FilterMode;
use super::instance::Igmp;
use super::interface::InterfaceCounters;
use crate::interface::Interface as Iface;
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    /// Interface id.
    pub iface: Iface,
    /// Our address.
    pub address: Ipv4Addr,
    /// Our prefix length.
    pub prefix_len: u8,
    /// Configured version.
    pub version: u8,
    /// The querier's address (ours while we are querier).
    pub querier: Ipv4Addr,
    /// We are the querier.
    pub is_querier: bool,
    /// Time left on the other querier present timer.
    pub other_querier_expires: Option<Duration>,
    /// Time to the next general query.
    pub next_general_query: Option<Duration>,
    /// Startup queries not yet sent.
    pub startup_queries_left: u8,
    /// Robustness.
    pub robustness: u8,
    /// Query interval.
    pub query_interval: Duration,
    /// Query response interval.
    pub query_response_interval: Duration,
    /// Group membership interval.
    pub group_membership_interval: Duration,
    /// Last member query interval.
    pub last_member_query_interval: Duration,
    /// Last member query count.
    pub last_member_query_count: u8,
    /// Groups with state.
    pub groups: usize,
    /// Source records held.
    pub sources: usize,
    /// Counters.
    pub counters: InterfaceCounters,
}

/// One source of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    /// Source address.
    pub source: Ipv4Addr,
    /// Time left on its timer; `None` for an excluded (timer 0) source.
    pub timer: Option<Duration>,
    /// Traffic from it is forwarded (INCLUDE list or EXCLUDE's requested list).
    pub forwarding: bool,
}

/// One group on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    /// Group address.
    pub group: Ipv4Addr,
    /// Filter mode.
    pub filter_mode: FilterMode,
    /// Time left on the group timer (EXCLUDE mode).
    pub group_timer: Option<Duration>,
    /// Sources with their timers.
    pub sources: Vec<SourceInfo>,
    /// Host compatibility mode: 1, 2 or 3.
    pub compat_mode: u8,
    /// Time left on the v1 / v2 host present timers.
    pub older_host_timers: (Option<Duration>, Option<Duration>),
    /// Source of the last report.
    pub last_reporter: Ipv4Addr,
}

impl Igmp {
    /// Every interface, by id.
    pub fn interfaces(&self, now: Duration) -> Vec<InterfaceInfo> {
        let left = |t: Option<Duration>| t.map(|t| t.saturating_sub(now));
        self.interfaces
            .values()
            .map(|i| InterfaceInfo {
                iface: i.id,
                address: i.address,
                prefix_len: i.prefix_len,
                version: i.cfg.version,
                querier: i.querier,
                is_querier: i.is_querier(),
                other_querier_expires: left(i.other_querier_until),
                next_general_query: left(i.general_query_next),
                startup_queries_left: i.startup_left,
                robustness: i.cfg.robustness,
                query_interval: i.cfg.query_interval,
                query_response_interval: i.cfg.query_response_interval,
                group_membership_interval: i.cfg.group_membership_interval(),
                last_member_query_interval: i.cfg.last_member_query_interval,
                last_member_query_count: i.cfg.last_member_query_count(),
                groups: i.groups.len(),
                sources: i.source_count,
                counters: i.counters.clone(),
            })
            .collect()
    }

    /// The groups with state on `iface` (empty for an unknown interface), by address.
    pub fn groups(&self, iface: Iface, now: Duration) -> Vec<GroupInfo> {
        let left = |t: Option<Duration>| t.map(|t| t.saturating_sub(now));
        let Some(i) = self.interfaces.get(&iface) else {
            return Vec::new();
        };
        i.groups
            .iter()
            .map(|(group, g)| GroupInfo {
                group: *group,
                filter_mode: g.mode,
                group_timer: left(g.timer),
                sources: g
                    .sources
                    .iter()
                    .map(|(s, t)| SourceInfo {
                        source: *s,
                        timer: left(*t),
                        forwarding: t.is_some(),
                    })
                    .collect(),
                compat_mode: g.compat_mode(),
                older_host_timers: (left(g.v1_host_until), left(g.v2_host_until)),
                last_reporter: g.last_reporter,
            })
            .collect()
    }
}
