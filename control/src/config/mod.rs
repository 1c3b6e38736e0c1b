//! The router's YAML configuration: schema, validation and the model the rest of the control
//! core uses.
//!
//! `configs/reference.yaml` documents every field. Loading is all-or-nothing: [`load`] and
//! [`parse`] return either a [`Config`] in which every rule holds, or one [`ConfigError`] that
//! names the file, the line and the field. Names in the file become indices in the model: a port
//! index is its DPDK port id, an interface index is the interface id used by MGM and the data
//! plane.
//!
//! Checks happen in two places. Values that can be judged alone (addresses, groups, names,
//! counts) check themselves while serde reads them (`raw`), so serde_yaml reports their line.
//! Rules across fields (`validate`) run afterwards; their line comes from `locate`, which
//! finds a field path in the text.

#![forbid(unsafe_code)]

mod error;
mod locate;
mod raw;
mod validate;
pub(crate) mod values;

use crate::protocols::igmp::IgmpInterfaceConfig;
use std::{net::Ipv4Addr, path::Path};

pub use error::ConfigError;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// EAL arguments, appended after those given on the command line before `--`.
    pub eal: Vec<String>,
    /// DPDK ports; the index of a port is its DPDK port id.
    pub ports: Vec<PortConfig>,
    /// IPv4 interfaces, at most one per port; the index is the interface id.
    pub interfaces: Vec<InterfaceConfig>,
    /// Static multicast routes; no two share a (source, group).
    pub routes: Vec<RouteConfig>,
    /// EAL lcore ids of the forwarding workers, all different; empty: the main lcore forwards.
    pub workers: Vec<u32>,
    /// Static unicast routes for RPF (besides the interfaces' connected subnets).
    pub rpf_routes: Vec<RpfRouteConfig>,
    /// Source-specific multicast range (RFC 4607): (network, prefix length); default
    /// 232.0.0.0/8.
    pub ssm_range: (Ipv4Addr, u8),
    /// The IGMP proxy, if one runs: its downstream interfaces are those with an `igmp` section.
    pub igmp_proxy: Option<IgmpProxyConfig>,
    /// Resource limits.
    pub limits: Limits,
    /// How the control core's thread is scheduled.
    pub control: ControlConfig,
}

/// Scheduling of the control core's thread (mrouter's main thread, which runs the MGM, the
/// protocols and the admin socket). Default: as started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlConfig {
    /// Nice value (-20..=19) set on the control thread at start, so that it runs as soon as a
    /// worker wakes it on a miss even while other programs share its CPU. `None`: unchanged.
    pub nice: Option<i8>,
}

/// Resource limits: what the router holds at most and how fast new flows are taken in.
/// Hitting one refuses the new state and counts it; established flows are not touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Forwarding entries (MFEs) at most; a new flow beyond is refused (`misses_mfe_limit`).
    /// Default 1,048,576 (the per-entry counter slots).
    pub max_mfes: u64,
    /// Flows each worker holds first packets for while they are resolved (default 64).
    pub pending_flows: u32,
    /// Packets held per such flow (default 8).
    pub pending_packets_per_flow: u32,
    /// New flows (misses) handed to the MGM per second, all workers together (default 20,000).
    pub miss_rate: u32,
    /// Misses taken at once after a quiet period (default 2,000).
    pub miss_burst: u32,
    /// Misses per second from any one worker (default: `miss_rate`).
    pub miss_rate_per_worker: u32,
    /// Misses per second for any one source address (default 1,000).
    pub miss_rate_per_source: u32,
    /// How long a forwarding entry lives from its creation (MGM's MFE lifetime; default 900 s,
    /// 1 s to 24 h). At the end an entry that carried traffic is re-validated in place, an idle
    /// one is deleted.
    pub entry_lifetime: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_mfes: 1 << 20,
            pending_flows: 64,
            pending_packets_per_flow: 8,
            miss_rate: 20_000,
            miss_burst: 2_000,
            miss_rate_per_worker: 20_000,
            miss_rate_per_source: 1_000,
            entry_lifetime: std::time::Duration::from_secs(900),
        }
    }
}

/// The IGMP proxy (RFC 4605). Defaults are RFC 3376 section 8's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgmpProxyConfig {
    /// The upstream interface (index into [`Config::interfaces`]); it runs no IGMP router side.
    pub upstream: usize,
    /// Highest IGMP version the proxy speaks upstream as a host: 2 or 3 (default 3).
    pub version: u8,
    /// Robustness Variable: unsolicited reports are sent this many times (default 2).
    pub robustness: u8,
    /// Unsolicited Report Interval (default 1 s).
    pub unsolicited_report_interval: std::time::Duration,
}

/// One DPDK port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Unique name, `[A-Za-z0-9_.-]{1,32}`.
    pub name: String,
    /// vdev devargs (`net_af_packet0,iface=r0`) or PCI address (`0000:3b:00.0`), as written.
    pub device: String,
    /// 1..=64.
    pub rx_queues: u16,
    /// 1..=64; the router may raise it to the number of workers.
    pub tx_queues: u16,
    /// `None`: the device's default.
    pub mtu: Option<u16>,
}

/// One IPv4 interface on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Unique name.
    pub name: String,
    /// Index into [`Config::ports`], which is the DPDK port id.
    pub port: usize,
    /// The interface's own unicast address.
    pub address: Ipv4Addr,
    /// 0..=32.
    pub prefix_len: u8,
    /// IGMP router side on this interface; `None`: IGMP off here. The protocol's own settings
    /// type: the config file's section is declared and validated by the protocol.
    pub igmp: Option<IgmpInterfaceConfig>,
}

impl InterfaceConfig {
    /// The subnet mask, e.g. 255.255.255.0 for a /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(
            u32::MAX
                .checked_shl(32 - u32::from(self.prefix_len))
                .unwrap_or(0),
        )
    }

    /// The subnet's network address, e.g. 10.0.1.0 for 10.0.1.1/24.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.netmask()))
    }

    /// Whether `addr` is on this interface's subnet (the connected route).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask());
        u32::from(addr) & mask == u32::from(self.address) & mask
    }
}

/// A static multicast route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// `None`: any source, a (*,G) route.
    pub source: Option<Ipv4Addr>,
    /// A multicast group outside 224.0.0.0/24.
    pub group: Ipv4Addr,
    /// Incoming interface: index into [`Config::interfaces`].
    pub iif: usize,
    /// Outgoing interfaces, none of them the iif, no two the same; empty: drop.
    pub oifs: Vec<OifConfig>,
}

/// A static unicast route used for RPF: traffic from sources in `prefix` is expected on
/// `interface`, from the upstream neighbour `next_hop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpfRouteConfig {
    /// Network address (host bits zero).
    pub network: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
    /// Index into [`Config::interfaces`].
    pub interface: usize,
    /// Upstream neighbour, on the interface's subnet.
    pub next_hop: Option<Ipv4Addr>,
}

/// An outgoing interface of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OifConfig {
    /// Index into [`Config::interfaces`].
    pub interface: usize,
    /// Forward only packets whose TTL is greater than this (Linux ipmr semantics); default 1.
    pub ttl_threshold: u8,
}

impl Config {
    /// Index of the interface named `name`.
    pub fn interface_by_name(&self, name: &str) -> Option<usize> {
        self.interfaces.iter().position(|i| i.name == name)
    }

    /// Index (DPDK port id) of the port named `name`.
    pub fn port_by_name(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// DPDK port id of interface `ifidx`.
    ///
    /// # Panics
    /// If `ifidx` is not an index into [`Config::interfaces`]: indices come from this config.
    pub fn port_of_interface(&self, ifidx: usize) -> usize {
        self.interfaces[ifidx].port
    }
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Validates configuration `text`; `file_name` is only used in errors.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig =
        serde_yaml::from_str(text).map_err(|e| error::from_yaml(file_name, text, &e))?;
    validate::validate(raw).map_err(|v| ConfigError::Invalid {
        file: file_name.to_string(),
        line: locate::line_of(text, &v.field),
        field: v.field,
        message: v.message,
    })
}
