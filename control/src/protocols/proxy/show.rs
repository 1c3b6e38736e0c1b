//! The proxy's state as show data (`mrouterctl show igmp proxy`).

use super::instance::{IgmpProxy, ProxyCounters};
use crate::interface::Interface as Iface;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One group of the database, for show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProxyGroup {
    /// The group.
    pub group: Ipv4Addr,
    /// "exclude" (any source wanted) or "include" (only `sources`).
    pub filter_mode: &'static str,
    /// Sources of an include-mode group.
    pub sources: Vec<Ipv4Addr>,
}

/// The proxy's state, for show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProxyInfo {
    /// Upstream interface index (MGM).
    pub upstream: Iface,
    /// Our address upstream.
    pub address: Ipv4Addr,
    /// The version reports go out in now (3, or 2/1 while an older querier is present).
    pub version: u8,
    /// The last querier heard upstream, if any.
    pub querier: Option<Ipv4Addr>,
    /// The aggregate downstream membership reported upstream.
    pub groups: Vec<ProxyGroup>,
    /// Counters.
    pub counters: ProxyCounters,
}

impl IgmpProxy {
    /// The proxy's state for `mrouterctl show igmp proxy`.
    pub fn info(&self, now: Duration) -> ProxyInfo {
        ProxyInfo {
            upstream: self.cfg.upstream,
            address: self.cfg.address,
            version: self.version(now),
            querier: self.querier,
            groups: self
                .db
                .iter()
                .map(|(g, m)| ProxyGroup {
                    group: *g,
                    filter_mode: if m.any { "exclude" } else { "include" },
                    sources: if m.any {
                        Vec::new()
                    } else {
                        m.sources.iter().copied().collect()
                    },
                })
                .collect(),
            counters: self.counters,
        }
    }
}
