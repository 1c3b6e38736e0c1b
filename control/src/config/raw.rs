//! The YAML schema as serde structs, built from the self-checking value types of `values`.
//! Rules that span several fields (references by name, duplicates) are checked afterwards, in
//! `validate`. A protocol's section is declared by the protocol (its `config.rs`).

use serde::Deserialize;

use super::values::*;
use crate::protocols::igmp::IgmpSection;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub eal: Vec<String>,
    pub ports: Vec<RawPort>,
    #[serde(default)]
    pub interfaces: Vec<RawInterface>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub workers: Vec<u32>,
    #[serde(default)]
    pub rpf_routes: Vec<RawRpfRoute>,
    #[serde(default)]
    pub ssm_range: Option<MulticastPrefix>,
    #[serde(default)]
    pub igmp_proxy: Option<RawIgmpProxy>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub control: Option<RawControl>,
}

/// How the control core's thread is scheduled (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControl {
    #[serde(default)]
    pub nice: Option<i64>,
}

/// Resource limits (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    #[serde(default)]
    pub max_mfes: Option<Bounded<1, 16_777_216>>,
    #[serde(default)]
    pub pending_flows: Option<Bounded<1, 1024>>,
    #[serde(default)]
    pub pending_packets_per_flow: Option<Bounded<1, 64>>,
    #[serde(default)]
    pub miss_rate: Option<Bounded<1, 10_000_000>>,
    #[serde(default)]
    pub miss_burst: Option<Bounded<1, 10_000_000>>,
    #[serde(default)]
    pub miss_rate_per_worker: Option<Bounded<1, 10_000_000>>,
    #[serde(default)]
    pub miss_rate_per_source: Option<Bounded<1, 10_000_000>>,
    #[serde(default)]
    pub entry_lifetime: Option<Bounded<1, 86_400>>,
}

/// The IGMP proxy (RFC 4605): its upstream interface and how it speaks there as a host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIgmpProxy {
    pub upstream: String,
    #[serde(default)]
    pub version: Option<Bounded<2, 3>>,
    #[serde(default)]
    pub robustness: Option<Bounded<1, 7>>,
    #[serde(default)]
    pub unsolicited_report_interval: Option<Seconds>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRpfRoute {
    pub prefix: Prefix,
    pub interface: String,
    #[serde(default)]
    pub next_hop: Option<NextHop>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPort {
    pub name: Name,
    pub device: Device,
    #[serde(default)]
    pub rx_queues: Option<Bounded<1, 64>>,
    #[serde(default)]
    pub tx_queues: Option<Bounded<1, 64>>,
    /// 68 is the smallest MTU IPv4 allows (RFC 791); the device's own maximum is checked by its
    /// driver when the port starts.
    #[serde(default)]
    pub mtu: Option<Bounded<68, 65535>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInterface {
    pub name: Name,
    pub port: String,
    pub address: InterfaceAddress,
    #[serde(default)]
    pub igmp: Option<IgmpSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub group: Group,
    #[serde(default)]
    pub source: Option<Source>,
    pub iif: String,
    /// Required, so that a route that drops (`oifs: []`) is written on purpose.
    pub oifs: Vec<RawOif>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOif {
    pub interface: String,
    #[serde(default)]
    pub ttl_threshold: Option<u8>,
}
