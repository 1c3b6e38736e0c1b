//! Per-interface IGMP settings with the defaults of RFC 3376 section 8 (the same values as RFC
//! 2236 section 8), and the router-wide SSM range (RFC 4607 section 1: 232.0.0.0/8).
//!
//! The `igmp:` section of an interface in the config file is declared here too
//! ([`IgmpSection`]), and turned into the one validated type, [`IgmpInterfaceConfig`], in one
//! place ([`IgmpSection::validate`]); the config model and the protocol share that type.

use crate::config::values::{Bounded, Group, Seconds, Source};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::time::Duration;

/// One interface's IGMP settings. Every derived interval (group membership, other querier
/// present, startup query interval, ...) is computed from these by the methods below, as
/// RFC 3376 section 8 defines them, unless overridden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IgmpInterfaceConfig {
    /// Highest IGMP version spoken: 1, 2 or 3 (queries are sent in this version; reports of a
    /// higher version are refused). Default 3.
    pub version: u8,
    /// Robustness Variable (8.1). Default 2; 0 is treated as 1.
    pub robustness: u8,
    /// Query Interval (8.2). Default 125 s.
    pub query_interval: Duration,
    /// Query Response Interval (8.3), the Max Resp Time of general queries. Default 10 s.
    pub query_response_interval: Duration,
    /// Last Member Query Interval (8.8), Max Resp Time of group(-and-source)-specific queries and
    /// their spacing. Default 1 s.
    pub last_member_query_interval: Duration,
    /// Last Member Query Count (8.9); 0 is treated as 1. The config file's default is the
    /// robustness.
    pub last_member_query_count: u8,
    /// Startup Query Interval (8.6). `None`: a quarter of the query interval.
    pub startup_query_interval: Option<Duration>,
    /// Startup Query Count (8.7). `None`: the robustness.
    pub startup_query_count: Option<u8>,
    /// Other Querier Present Interval (8.5). `None`: robustness * QI + QRI / 2.
    pub other_querier_present_interval: Option<Duration>,
    /// v2 leaves (and v3 TO_IN({}) for an EXCLUDE group) remove the group at once, without the
    /// last member queries (one host per interface only). Default false.
    pub immediate_leave: bool,
    /// Most groups on this interface; reports for further groups are refused and counted.
    /// Default 1024.
    pub max_groups: usize,
    /// Most source records (all groups together); further sources are refused and counted.
    /// Default 1024.
    pub max_sources: usize,
    /// Jitter subtracted from each general query interval, drawn from the router's seeded RNG
    /// (0 by default: queries exactly every query interval).
    pub query_jitter: Duration,
    /// Static joins: (source, group); `None` source is (*,G). They hold whatever the hosts do.
    pub static_joins: Vec<(Option<Ipv4Addr>, Ipv4Addr)>,
}

impl Default for IgmpInterfaceConfig {
    fn default() -> Self {
        IgmpInterfaceConfig {
            version: 3,
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: 2,
            startup_query_interval: None,
            startup_query_count: None,
            other_querier_present_interval: None,
            immediate_leave: false,
            max_groups: 1024,
            max_sources: 1024,
            query_jitter: Duration::ZERO,
            static_joins: Vec::new(),
        }
    }
}

impl IgmpInterfaceConfig {
    /// The robustness, at least 1.
    pub fn robustness(&self) -> u32 {
        u32::from(self.robustness.max(1))
    }

    /// Group Membership Interval (8.4): robustness * QI + QRI. Also the Older Host Present
    /// Interval (8.13).
    pub fn group_membership_interval(&self) -> Duration {
        self.query_interval * self.robustness() + self.query_response_interval
    }

    /// Other Querier Present Interval (8.5).
    pub fn other_querier_present_interval(&self) -> Duration {
        self.other_querier_present_interval
            .unwrap_or(self.query_interval * self.robustness() + self.query_response_interval / 2)
    }

    /// Startup Query Interval (8.6).
    pub fn startup_query_interval(&self) -> Duration {
        self.startup_query_interval
            .unwrap_or(self.query_interval / 4)
    }

    /// Startup Query Count (8.7).
    pub fn startup_query_count(&self) -> u8 {
        self.startup_query_count.unwrap_or(self.robustness.max(1))
    }

    /// Last Member Query Count (8.9).
    pub fn last_member_query_count(&self) -> u8 {
        self.last_member_query_count.max(1)
    }

    /// Last Member Query Time (8.10): LMQI * LMQC.
    pub fn last_member_query_time(&self) -> Duration {
        self.last_member_query_interval * u32::from(self.last_member_query_count())
    }
}

/// Router-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IgmpConfig {
    /// The SSM range: only source-specific membership counts there (RFC 4604 section 2.2).
    /// Default 232.0.0.0/8.
    pub ssm_range: (Ipv4Addr, u8),
    /// Seed of the RNG used for query jitter.
    pub seed: u64,
}

impl Default for IgmpConfig {
    fn default() -> Self {
        IgmpConfig {
            ssm_range: (Ipv4Addr::new(232, 0, 0, 0), 8),
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

/// The `igmp:` section of an interface in the config file (router side); every timer defaults
/// to RFC 3376 section 8. Values check themselves while serde reads them, so a bad one is
/// reported with its line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IgmpSection {
    #[serde(default)]
    pub version: Option<Bounded<1, 3>>,
    #[serde(default)]
    pub query_interval: Option<Seconds>,
    #[serde(default)]
    pub query_response_interval: Option<Seconds>,
    /// QRV is 3 bits; 1 is allowed but leaves no room for a lost packet.
    #[serde(default)]
    pub robustness: Option<Bounded<1, 7>>,
    #[serde(default)]
    pub last_member_query_interval: Option<Seconds>,
    #[serde(default)]
    pub last_member_query_count: Option<Bounded<1, 7>>,
    #[serde(default)]
    pub immediate_leave: bool,
    #[serde(default)]
    pub max_groups: Option<Bounded<1, 1_000_000>>,
    #[serde(default)]
    pub max_sources: Option<Bounded<1, 1_000_000>>,
    #[serde(default)]
    pub static_joins: Vec<StaticJoinSection>,
}

/// One `static_joins` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaticJoinSection {
    pub group: Group,
    #[serde(default)]
    pub source: Option<Source>,
}

impl IgmpSection {
    /// The validated settings. `field` is the section's path in the file
    /// (`interfaces[1].igmp`); an error is (the path of the field at fault, the message).
    pub(crate) fn validate(
        &self,
        field: &str,
        ssm_range: (Ipv4Addr, u8),
    ) -> Result<IgmpInterfaceConfig, (String, String)> {
        let d = IgmpInterfaceConfig::default();
        let secs = |s: Option<Seconds>, default: Duration| {
            s.map_or(default, |s| Duration::from_secs_f64(s.0))
        };
        let robustness = self.robustness.map_or(d.robustness, |b| b.0 as u8);
        let cfg = IgmpInterfaceConfig {
            version: self.version.map_or(d.version, |b| b.0 as u8),
            query_interval: secs(self.query_interval, d.query_interval),
            query_response_interval: secs(self.query_response_interval, d.query_response_interval),
            robustness,
            last_member_query_interval: secs(
                self.last_member_query_interval,
                d.last_member_query_interval,
            ),
            last_member_query_count: self
                .last_member_query_count
                .map_or(robustness, |b| b.0 as u8),
            immediate_leave: self.immediate_leave,
            max_groups: self.max_groups.map_or(d.max_groups, |b| b.0 as usize),
            max_sources: self.max_sources.map_or(d.max_sources, |b| b.0 as usize),
            static_joins: self
                .static_joins
                .iter()
                .map(|j| (j.source.and_then(|s| s.0), j.group.0))
                .collect(),
            ..d
        };
        if cfg.query_response_interval >= cfg.query_interval {
            return Err((
                format!("{field}.query_response_interval"),
                format!(
                    "{:?} must be less than the query interval ({:?}) (RFC 3376 8.3)",
                    cfg.query_response_interval, cfg.query_interval
                ),
            ));
        }
        for (j, (source, group)) in cfg.static_joins.iter().enumerate() {
            if source.is_none() && in_prefix(*group, ssm_range.0, ssm_range.1) {
                return Err((
                    format!("{field}.static_joins[{j}]"),
                    format!(
                        "{group} is in the SSM range {}/{}: a join there needs a source",
                        ssm_range.0, ssm_range.1
                    ),
                ));
            }
        }
        Ok(cfg)
    }
}

/// `addr` lies in `prefix/len` (len above 32 is treated as 32).
pub fn in_prefix(addr: Ipv4Addr, prefix: Ipv4Addr, len: u8) -> bool {
    let len = u32::from(len.min(32));
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(addr) & mask == u32::from(prefix) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3376_section8_defaults() {
        let c = IgmpInterfaceConfig::default();
        assert_eq!(c.group_membership_interval(), Duration::from_secs(260));
        assert_eq!(c.other_querier_present_interval(), Duration::from_secs(255));
        assert_eq!(c.startup_query_interval(), Duration::from_millis(31_250));
        assert_eq!(c.startup_query_count(), 2);
        assert_eq!(c.last_member_query_count(), 2);
        assert_eq!(c.last_member_query_time(), Duration::from_secs(2));
        assert_eq!(c.version, 3);
    }

    #[test]
    fn prefixes() {
        let ssm = Ipv4Addr::new(232, 0, 0, 0);
        assert!(in_prefix(Ipv4Addr::new(232, 1, 2, 3), ssm, 8));
        assert!(!in_prefix(Ipv4Addr::new(233, 1, 2, 3), ssm, 8));
        assert!(in_prefix(Ipv4Addr::new(1, 2, 3, 4), ssm, 0));
        assert!(in_prefix(ssm, ssm, 32));
        assert!(!in_prefix(Ipv4Addr::new(232, 0, 0, 1), ssm, 40));
    }
}
