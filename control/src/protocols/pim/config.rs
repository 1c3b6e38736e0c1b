//! PIM's config section: `pim:` in an interface's mapping (where PIM runs, its DR priority and
//! Hello timing) and at the top level (static RPs and the SPT switchover policy, kept for the
//! join/prune and register machinery). Declared here as serde types, validated into
//! [`PimSettings`], stored in `Config::protocols`.
//!
//! Defaults are RFC 7761's: Hello_Period 30 s, Hello_Holdtime 3.5 x Hello_Period,
//! Triggered_Hello_Delay 5 s, DR priority 1, Propagation_Delay 500 ms, t_override 2500 ms
//! (sections 4.3.1-4.3.3, 4.11).

use super::tree::{SptPolicy, TreeConfig};
use crate::config::values::{Bounded, MulticastPrefix, NextHop, Seconds};
use crate::config::{Config, ConfigSection, SectionError, Violation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// PIM's part of the config file.
pub(super) const SECTION: ConfigSection = ConfigSection {
    keys: &["pim"],
    interface_keys: &["pim"],
    load,
    check,
};

/// One interface's PIM settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PimInterfaceSettings {
    /// DR priority advertised in Hellos (4.3.2). Default 1.
    pub dr_priority: u32,
    /// Hello_Period (4.11). Default 30 s.
    pub hello_interval: Duration,
    /// Hello_Holdtime advertised: how long neighbours keep us without a Hello. Default 3.5 x
    /// the Hello interval, rounded up to a whole second.
    pub holdtime: Duration,
    /// Triggered_Hello_Delay: the bound of the random delay of the first Hello and of the
    /// Hellos triggered by a new or restarted neighbour. Default 5 s.
    pub triggered_hello_delay: Duration,
    /// Propagation_Delay advertised in the LAN Prune Delay option (4.3.3). Default 500 ms.
    pub propagation_delay_ms: u16,
    /// t_override advertised in the LAN Prune Delay option. Default 2500 ms.
    pub override_interval_ms: u16,
    /// Most neighbours kept on the interface; Hellos from further ones are counted and
    /// ignored. Default 64.
    pub max_neighbors: usize,
}

impl Default for PimInterfaceSettings {
    fn default() -> Self {
        PimInterfaceSettings {
            dr_priority: 1,
            hello_interval: Duration::from_secs(30),
            holdtime: Duration::from_secs(105),
            triggered_hello_delay: Duration::from_secs(5),
            propagation_delay_ms: 500,
            override_interval_ms: 2500,
            max_neighbors: 64,
        }
    }
}

/// A static RP for a range of groups (4.7 "static RP" configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StaticRp {
    /// The RP's address.
    pub address: Ipv4Addr,
    /// The groups it serves: network and prefix length.
    pub groups: (Ipv4Addr, u8),
}

/// When a last-hop router joins the shortest-path tree (4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SptSwitchover {
    /// At the first packet from a source (FRR's and most routers' default).
    #[default]
    Immediate,
    /// Stay on the RP tree.
    Never,
}

/// PIM's validated settings: the interfaces it runs on (by config index) and the global part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PimSettings {
    /// Interfaces with `pim: { enable: true }`, by config index.
    pub interfaces: BTreeMap<usize, PimInterfaceSettings>,
    /// Static RPs, in file order (the longest matching group range wins; part of the RP
    /// mapping, not used yet).
    pub rps: Vec<StaticRp>,
    /// The SPT switchover policy (not used yet).
    pub spt_switchover: SptSwitchover,
}

impl PimSettings {
    /// The join/prune machines' settings: RFC 7761 timer values, the SPT policy.
    pub fn tree_config(&self) -> TreeConfig {
        tree_config(self.spt_switchover)
    }

    /// RP(G) among the static RPs: the longest group range that covers `group`.
    pub fn rp_for(rps: &[StaticRp], group: Ipv4Addr) -> Option<Ipv4Addr> {
        rps.iter()
            .filter(|rp| crate::protocols::igmp::in_prefix(group, rp.groups.0, rp.groups.1))
            .max_by_key(|rp| rp.groups.1)
            .map(|rp| rp.address)
    }
}

/// The join/prune machines' settings for `spt`: RFC 7761 timer values, the SPT policy.
pub fn tree_config(spt: SptSwitchover) -> TreeConfig {
    TreeConfig {
        spt_policy: match spt {
            SptSwitchover::Immediate => SptPolicy::Immediate,
            SptSwitchover::Never => SptPolicy::Never,
        },
        ..TreeConfig::default()
    }
}

/// The keys PIM reads from the file.
#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    pim: Option<RawGlobal>,
    #[serde(default)]
    interfaces: Vec<RawInterfaceSections>,
}

#[derive(Deserialize)]
struct RawInterfaceSections {
    #[serde(default)]
    pim: Option<RawInterface>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    rp: Vec<RawRp>,
    #[serde(default)]
    spt_switchover: SptSwitchover,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRp {
    address: NextHop,
    groups: MulticastPrefix,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterface {
    #[serde(default = "yes")]
    enable: bool,
    #[serde(default)]
    dr_priority: Option<Bounded<0, 4_294_967_295>>,
    /// Whole seconds: the holdtime derived from it is whole seconds on the wire.
    #[serde(default)]
    hello_interval: Option<Bounded<1, 3600>>,
    #[serde(default)]
    holdtime: Option<Bounded<1, 65_534>>,
    #[serde(default)]
    triggered_hello_delay: Option<Seconds>,
    #[serde(default)]
    propagation_delay_ms: Option<Bounded<0, 32_767>>,
    #[serde(default)]
    override_interval_ms: Option<Bounded<0, 65_535>>,
    #[serde(default)]
    max_neighbors: Option<Bounded<1, 100_000>>,
}

fn yes() -> bool {
    true
}

impl RawInterface {
    fn validate(&self, field: &str) -> Result<PimInterfaceSettings, Violation> {
        let d = PimInterfaceSettings::default();
        let hello = self
            .hello_interval
            .map_or(d.hello_interval, |b| Duration::from_secs(b.0));
        // 3.5 x the interval, rounded up to whole seconds (the option's unit).
        let derived = Duration::from_secs((hello.as_secs() * 7).div_ceil(2));
        let holdtime = self.holdtime.map_or(derived, |b| Duration::from_secs(b.0));
        if holdtime <= hello {
            return Err(Violation::new(
                format!("{field}.holdtime"),
                format!(
                    "{}s must be longer than the hello interval ({}s), or neighbours drop this router between two Hellos",
                    holdtime.as_secs(),
                    hello.as_secs()
                ),
            ));
        }
        Ok(PimInterfaceSettings {
            dr_priority: self.dr_priority.map_or(d.dr_priority, |b| b.0 as u32),
            hello_interval: hello,
            holdtime,
            triggered_hello_delay: self
                .triggered_hello_delay
                .map_or(d.triggered_hello_delay, |s| Duration::from_secs_f64(s.0)),
            propagation_delay_ms: self
                .propagation_delay_ms
                .map_or(d.propagation_delay_ms, |b| b.0 as u16),
            override_interval_ms: self
                .override_interval_ms
                .map_or(d.override_interval_ms, |b| b.0 as u16),
            max_neighbors: self.max_neighbors.map_or(d.max_neighbors, |b| b.0 as usize),
        })
    }
}

fn load(text: &str, cfg: &mut Config) -> Result<(), SectionError> {
    let raw: Sections = serde_yaml::from_str(text)?;
    let mut settings = PimSettings::default();
    for (i, section) in raw.interfaces.iter().enumerate() {
        let Some(p) = &section.pim else { continue };
        let s = p.validate(&format!("interfaces[{i}].pim"))?;
        if p.enable {
            settings.interfaces.insert(i, s);
        }
    }
    let global = raw.pim;
    if global.is_some() && settings.interfaces.is_empty() {
        return Err(Violation::new(
            "pim",
            "PIM runs on no interface: give at least one interface `pim: { enable: true }`",
        )
        .into());
    }
    if let Some(g) = global {
        let (ssm, ssm_len) = cfg.ssm_range;
        for (i, rp) in g.rp.iter().enumerate() {
            let (net, len) = (rp.groups.network, rp.groups.len);
            if len >= ssm_len && crate::protocols::igmp::in_prefix(net, ssm, ssm_len) {
                return Err(Violation::new(
                    format!("pim.rp[{i}].groups"),
                    format!(
                        "{net}/{len} lies in the SSM range {ssm}/{ssm_len}, which never uses an RP"
                    ),
                )
                .into());
            }
            settings.rps.push(StaticRp {
                address: rp.address.0,
                groups: (net, len),
            });
        }
        settings.spt_switchover = g.spt_switchover;
    }
    if !settings.interfaces.is_empty() {
        cfg.protocols.insert(settings);
    }
    Ok(())
}

/// PIM owns its interfaces in the MGM: static routes cannot name them (their memberships
/// there would be another protocol's), nor can the IGMP proxy take one as its upstream.
fn check(cfg: &Config) -> Result<(), Violation> {
    let Some(p) = cfg.protocols.get::<PimSettings>() else {
        return Ok(());
    };
    let owned = |idx: usize| p.interfaces.contains_key(&idx);
    let name = |idx: usize| cfg.interfaces[idx].name.clone();
    for (i, r) in cfg.routes.iter().enumerate() {
        if owned(r.iif) {
            return Err(Violation::new(
                format!("routes[{i}].iif"),
                format!(
                    "{} runs PIM: PIM decides what arrives there (remove the route or PIM there)",
                    name(r.iif)
                ),
            ));
        }
        if let Some(j) = r.oifs.iter().position(|o| owned(o.interface)) {
            let idx = r.oifs[j].interface;
            return Err(Violation::new(
                format!("routes[{i}].oifs[{j}].interface"),
                format!(
                    "{} runs PIM: PIM decides what goes out there (remove the route or PIM there)",
                    name(idx)
                ),
            ));
        }
    }
    if let Some(proxy) = &cfg.igmp_proxy {
        if owned(proxy.upstream) {
            return Err(Violation::new(
                "igmp_proxy.upstream",
                format!(
                    "{} runs PIM: an interface is either the proxy's upstream or PIM's",
                    name(proxy.upstream)
                ),
            ));
        }
    }
    Ok(())
}
