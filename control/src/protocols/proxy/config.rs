//! How the proxy speaks upstream: its settings, built from the config file's `igmp_proxy`
//! section (validated by `crate::config`) and the router's interfaces.

use crate::config::Config;
use crate::interface::interface_id;
use std::net::Ipv4Addr;
use std::time::Duration;

/// How the proxy speaks on its upstream interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The upstream interface (MGM interface index).
    pub upstream: u32,
    /// Our address on it (the source of our reports).
    pub address: Ipv4Addr,
    /// Highest IGMP version spoken upstream: 2 or 3 (an older querier lowers it, RFC 3376 7.2.1).
    pub version: u8,
    /// Robustness Variable: how many times an unsolicited report is sent (RFC 3376 8.1).
    pub robustness: u8,
    /// Unsolicited Report Interval (RFC 3376 8.11: 1 s).
    pub unsolicited_report_interval: Duration,
    /// Seed of the RNG that draws report delays.
    pub seed: u64,
    /// The subnets (network, prefix length) of the router's other interfaces. A source on one
    /// of them sends downstream; its traffic arriving upstream is refused (see the RPF callback).
    pub local_subnets: Vec<(Ipv4Addr, u8)>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            upstream: 0,
            address: Ipv4Addr::UNSPECIFIED,
            version: 3,
            robustness: 2,
            unsolicited_report_interval: Duration::from_secs(1),
            seed: 0x5eed_4605,
            local_subnets: Vec::new(),
        }
    }
}

impl ProxyConfig {
    /// The proxy's settings from `cfg`, if it runs one: the upstream interface and its address,
    /// and the other interfaces' subnets (sources there are downstream for certain).
    pub fn from_config(cfg: &Config) -> Option<ProxyConfig> {
        let p = cfg.igmp_proxy.as_ref()?;
        let iface = &cfg.interfaces[p.upstream];
        Some(ProxyConfig {
            upstream: interface_id(p.upstream).index,
            address: iface.address,
            version: p.version,
            robustness: p.robustness,
            unsolicited_report_interval: p.unsolicited_report_interval,
            local_subnets: cfg
                .interfaces
                .iter()
                .enumerate()
                .filter(|&(idx, _)| idx != p.upstream)
                .map(|(_, i)| (i.network(), i.prefix_len))
                .collect(),
            ..ProxyConfig::default()
        })
    }
}
