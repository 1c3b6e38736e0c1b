//! The proxy's config section, `igmp_proxy` (declared here as a serde type, validated into the
//! model's [`IgmpProxyConfig`]), and how the proxy speaks upstream: its settings, built from
//! that section and the router's interfaces.

use crate::config::values::{Bounded, Seconds};
use crate::config::{Config, ConfigSection, IgmpProxyConfig, SectionError, Violation};
use crate::interface::Interface as Iface;
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The proxy's part of the config file.
pub(super) const SECTION: ConfigSection = ConfigSection {
    keys: &["igmp_proxy"],
    interface_keys: &[],
    load,
    check,
};

/// The key the proxy reads from the file (the others are the core's and other protocols').
#[derive(Debug, Deserialize)]
struct Sections {
    #[serde(default)]
    igmp_proxy: Option<RawIgmpProxy>,
}

/// The IGMP proxy (RFC 4605): its upstream interface and how it speaks there as a host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgmpProxy {
    upstream: String,
    #[serde(default)]
    version: Option<Bounded<2, 3>>,
    #[serde(default)]
    robustness: Option<Bounded<1, 7>>,
    #[serde(default)]
    unsolicited_report_interval: Option<Seconds>,
}

fn load(text: &str, cfg: &mut Config) -> Result<(), SectionError> {
    let Some(raw) = serde_yaml::from_str::<Sections>(text)?.igmp_proxy else {
        return Ok(());
    };
    let Some(upstream) = cfg.interfaces.iter().position(|i| i.name == raw.upstream) else {
        return Err(Violation::new(
            "igmp_proxy.upstream",
            format!("no interface is named {}", raw.upstream),
        )
        .into());
    };
    cfg.igmp_proxy = Some(IgmpProxyConfig {
        upstream,
        version: raw.version.map_or(3, |b| b.0 as u8),
        robustness: raw.robustness.map_or(2, |b| b.0 as u8),
        unsolicited_report_interval: raw
            .unsolicited_report_interval
            .map_or(Duration::from_secs(1), |s| Duration::from_secs_f64(s.0)),
    });
    Ok(())
}

/// The proxy's upstream runs no IGMP router side and carries no static route's traffic out
/// (the proxy owns it); at least one other interface runs IGMP (its downstream side).
fn check(cfg: &Config) -> Result<(), Violation> {
    let Some(p) = &cfg.igmp_proxy else {
        return Ok(());
    };
    let name = &cfg.interfaces[p.upstream].name;
    if cfg.interfaces[p.upstream].igmp.is_some() {
        return Err(Violation::new(
            "igmp_proxy.upstream",
            format!(
                "{name} has an igmp section: the proxy speaks IGMP there as a host, not as a router (remove it)"
            ),
        ));
    }
    if !cfg.interfaces.iter().any(|i| i.igmp.is_some()) {
        return Err(Violation::new(
            "igmp_proxy",
            "the proxy has no downstream interface: give at least one other interface an igmp section",
        ));
    }
    for (i, r) in cfg.routes.iter().enumerate() {
        if let Some(j) = r.oifs.iter().position(|o| o.interface == p.upstream) {
            return Err(Violation::new(
                format!("routes[{i}].oifs[{j}].interface"),
                format!(
                    "{name} is the IGMP proxy's upstream interface: the proxy decides what goes out there"
                ),
            ));
        }
    }
    Ok(())
}

/// How the proxy speaks on its upstream interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The upstream interface (MGM interface index).
    pub upstream: Iface,
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
            upstream: Iface::from_index(1),
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
            upstream: Iface::from_config_index(p.upstream),
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
