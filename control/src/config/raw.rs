//! The YAML schema as serde structs, built from the self-checking value types of `values`.
//! Rules that span several fields (references by name, duplicates) are checked afterwards, in
//! `validate`. A protocol's section is declared by the protocol (its registration's
//! `ConfigSection`): the keys no field here names are collected in `other` and checked against
//! the registered protocols' keys (`validate::unowned_keys`), as `deny_unknown_fields` would.

use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::values::*;

/// The keys the core declares at the top level, in the order of the file's documentation.
pub(super) const CORE_KEYS: &[&str] = &[
    "eal",
    "ports",
    "interfaces",
    "workers",
    "ssm_range",
    "rpf",
    "limits",
    "control",
    "dataplane",
];

/// The keys the core declares in an interface's mapping.
pub(super) const INTERFACE_KEYS: &[&str] = &[
    "name",
    "port",
    "address",
    "mtu",
    "vlan",
    "kernel_twin",
    "kernel_twin_name",
];

#[derive(Debug, Deserialize)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub eal: Vec<String>,
    pub ports: Vec<RawPort>,
    #[serde(default)]
    pub interfaces: Vec<RawInterface>,
    #[serde(default)]
    pub workers: Vec<u32>,
    #[serde(default)]
    pub ssm_range: Option<MulticastPrefix>,
    #[serde(default)]
    pub rpf: Option<RawRpf>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub control: Option<RawControl>,
    #[serde(default)]
    pub dataplane: Option<RawDataplane>,
    /// Keys the core does not declare: the protocols' sections, or mistakes.
    #[serde(flatten)]
    pub other: BTreeMap<String, IgnoredAny>,
}

/// Data-plane buffers (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDataplane {
    /// Bytes of packet per mbuf; the headroom (128) comes on top, within DPDK's 16-bit room.
    #[serde(default)]
    pub mbuf_data_room: Option<Bounded<1024, 65407>>,
    /// Whether workers classify eight frames at once in AVX2 where the CPU has it.
    #[serde(default)]
    pub avx2: Option<bool>,
}

/// Where RPF looks besides the connected subnets and `rpf_routes`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRpf {
    #[serde(default)]
    pub kernel: Option<bool>,
    #[serde(default)]
    pub table: Option<RawTable>,
}

/// A kernel routing table: `main`, `default`, `local`, or its number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTable {
    Number(u32),
    Name(String),
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
    pub pending_packets_shared: Option<Bounded<0, 65_536>>,
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
pub(super) struct RawInterface {
    pub name: Name,
    pub port: String,
    pub address: InterfaceAddress,
    /// As a port's: at least IPv4's 68; at most the port's MTU (checked in `validate` when
    /// the port sets one, at start otherwise).
    #[serde(default)]
    pub mtu: Option<Bounded<68, 65535>>,
    /// An 802.1Q VLAN interface on the port with this VLAN ID (0 and 4095 are reserved,
    /// IEEE 802.1Q 9.6); absent: the port's untagged interface.
    #[serde(default)]
    pub vlan: Option<Bounded<1, 4094>>,
    /// A kernel twin for this interface (default true; a VLAN interface has none).
    #[serde(default)]
    pub kernel_twin: Option<bool>,
    /// The twin's kernel interface name (default: the interface's name, cut to 15 bytes).
    #[serde(default)]
    pub kernel_twin_name: Option<Name>,
    /// Keys the core does not declare: the protocols' per-interface sections, or mistakes.
    #[serde(flatten)]
    pub other: BTreeMap<String, IgnoredAny>,
}
