//! The validated configuration: the model the control core and the protocols read. Names in
//! the file have become indices: a port index is its DPDK port id, an interface index is the
//! interface id used by the MGM and the data plane.

use super::store::ProtocolSections;
use crate::protocols::igmp::IgmpInterfaceConfig;
use std::net::Ipv4Addr;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// EAL arguments, appended after those given on the command line before `--`.
    pub eal: Vec<String>,
    /// DPDK ports; the index of a port is its DPDK port id.
    pub ports: Vec<PortConfig>,
    /// IPv4 interfaces: per port at most one untagged and any number of VLAN interfaces (no
    /// two with the same VLAN ID); the index is the interface id.
    pub interfaces: Vec<InterfaceConfig>,
    /// Static multicast routes; no two share a (source, group).
    pub routes: Vec<RouteConfig>,
    /// EAL lcore ids of the forwarding workers, all different; empty: the main lcore forwards.
    pub workers: Vec<u32>,
    /// Static unicast routes for RPF (besides the interfaces' connected subnets).
    pub rpf_routes: Vec<RpfRouteConfig>,
    /// The kernel routing table whose IPv4 routes RPF also uses (`rpf: { kernel: true,
    /// table: main }`; see `crate::rib_kernel`); `None`: the kernel's routes are not used.
    pub rpf_kernel_table: Option<u32>,
    /// Source-specific multicast range (RFC 4607): (network, prefix length); default
    /// 232.0.0.0/8.
    pub ssm_range: (Ipv4Addr, u8),
    /// The IGMP proxy, if one runs: its downstream interfaces are those with an `igmp` section.
    pub igmp_proxy: Option<IgmpProxyConfig>,
    /// Resource limits.
    pub limits: Limits,
    /// How the control core's thread is scheduled.
    pub control: ControlConfig,
    /// Data-plane buffers.
    pub dataplane: DataplaneConfig,
    /// The validated sections of protocols this model has no field for (each declared by its
    /// protocol, see `protocols::Registration::config`).
    pub protocols: ProtocolSections,
}

/// Data-plane buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataplaneConfig {
    /// Bytes of packet one mbuf holds (`dataplane.mbuf_data_room`, default 2048): the largest
    /// frame any port receives, so at least every configured MTU plus its Ethernet header,
    /// and for af_packet ports at least `framesz` less 32.
    pub mbuf_data_room: u16,
    /// Whether workers classify eight frames at once in AVX2 where the CPU has it
    /// (`dataplane.avx2`, default true); false runs the four-frame SSE classifier (the same
    /// verdicts), e.g. to compare the two or on a CPU whose AVX2 slows the core down.
    pub avx2: bool,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            mbuf_data_room: 2048,
            avx2: true,
        }
    }
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
    /// Default 1,048,576 (the entries that can have per-entry counters).
    pub max_mfes: u64,
    /// Flows each worker holds first packets for while they are resolved (default 64).
    pub pending_flows: u32,
    /// Packets held per such flow (default 8).
    pub pending_packets_per_flow: u32,
    /// Packets each worker's held flows may hold beyond `pending_packets_per_flow`, shared
    /// between them, so a flow that starts at line rate loses nothing while its entry is
    /// created (default 1,024).
    pub pending_packets_shared: u32,
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
            pending_packets_shared: 1024,
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
    /// The 802.1Q VLAN ID (1..=4094) of a VLAN interface; `None`: the port's untagged
    /// interface.
    pub vlan: Option<u16>,
    /// The MTU copies leave this interface with (larger ones are fragmented, or dropped when
    /// Don't Fragment is set). `None`: the port's.
    pub mtu: Option<u16>,
    /// IGMP router side on this interface; `None`: IGMP off here. The protocol's own settings
    /// type: the config file's section is declared and validated by the protocol.
    pub igmp: Option<IgmpInterfaceConfig>,
    /// The kernel interface name of the interface's kernel twin (see `crate::twin`), unique
    /// among the twins and at most 15 bytes; `None`: no twin (`kernel_twin: false`).
    pub kernel_twin: Option<String>,
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

    /// The VLAN interfaces (indices into [`Config::interfaces`]) in the order the data plane
    /// gives them slots after the ports' (`dataplane::worker::vlan`): by port, then in the
    /// order of the file.
    pub fn vlan_interfaces(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.interfaces.len())
            .filter(|&i| self.interfaces[i].vlan.is_some())
            .collect();
        v.sort_by_key(|&i| (self.interfaces[i].port, i));
        v
    }

    /// The VLAN interfaces of the port named `port` as (VLAN ID, MTU), in
    /// [`Config::vlan_interfaces`] order (which gives the control core's slots).
    pub fn vlans_of_port(&self, port: &str) -> Vec<(u16, Option<u16>)> {
        self.vlan_interfaces()
            .into_iter()
            .map(|i| &self.interfaces[i])
            .filter(|i| self.ports.get(i.port).is_some_and(|q| q.name == port))
            .map(|i| (i.vlan.unwrap_or(0), i.mtu))
            .collect()
    }

    /// The data plane's slot of interface `ifidx`: its port's index when untagged, else
    /// past the ports in [`Config::vlan_interfaces`] order.
    pub fn slot_of_interface(&self, ifidx: usize) -> Option<u16> {
        let iface = self.interfaces.get(ifidx)?;
        if iface.vlan.is_none() {
            return Some(iface.port as u16);
        }
        let k = self.vlan_interfaces().iter().position(|&i| i == ifidx)?;
        Some((self.ports.len() + k) as u16)
    }

    /// DPDK port id of interface `ifidx`.
    ///
    /// # Panics
    /// If `ifidx` is not an index into [`Config::interfaces`]: indices come from this config.
    pub fn port_of_interface(&self, ifidx: usize) -> usize {
        self.interfaces[ifidx].port
    }
}
