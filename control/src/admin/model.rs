//! What the admin socket carries: requests from `mrouterctl` and the views the daemon fills.
//!
//! Views are snapshots by value, keyed by names and addresses, never references into the
//! daemon's state, so they serialize as they are and tests can build them by hand.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// One multicast forwarding entry, as `show mroute` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrouteView {
    /// Source address; 0.0.0.0 for a (*,G) entry.
    pub source: Ipv4Addr,
    /// Group address.
    pub group: Ipv4Addr,
    /// Incoming interface name, `-` if none.
    pub iif: String,
    /// Upstream neighbour toward the source (RPF next hop), `None` when directly connected.
    pub upstream: Option<Ipv4Addr>,
    /// Outgoing interfaces.
    pub oifs: Vec<OifView>,
    /// Seconds since the entry was created.
    pub uptime_secs: f64,
    /// Seconds until the entry expires, `None` if it does not.
    pub expires_secs: Option<f64>,
    /// Packets forwarded.
    pub packets: u64,
    /// Bytes forwarded.
    pub bytes: u64,
    /// Packets that arrived on another interface than `iif`.
    pub wrong_if: u64,
    /// A negative entry: matching packets are dropped.
    pub negative: bool,
    /// `static` for an (S,G) config route, `mgm` for one created on demand.
    pub origin: String,
}

/// One outgoing interface of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OifView {
    /// Interface name.
    pub interface: String,
    /// A copy is sent when the packet's TTL is greater than this.
    pub ttl_threshold: u8,
    /// Copies sent on this interface since it joined the entry (handed to the port's tx
    /// queues; a full queue's drops are counted per port, `tx_full`).
    #[serde(default)]
    pub out_packets: u64,
}

/// One IPv4 interface and its port's counters, as `show interfaces` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceView {
    /// Interface name (`if0`).
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Port name (`p0`).
    pub port: String,
    /// The 802.1Q VLAN ID of a VLAN interface; `None`: the port's untagged interface.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Frames with a tag for no interface of the port (or double-tagged), dropped; the
    /// port's count, shown on each of its interfaces.
    #[serde(default)]
    pub unknown_vlan: u64,
    /// The port's device (`net_af_packet0,iface=r0`, `0000:3b:00.0`).
    pub device: String,
    /// DPDK driver name.
    pub driver: String,
    /// The port's MAC address.
    pub mac: String,
    /// Address and prefix length (`10.0.1.1/24`).
    pub address: String,
    /// Protocol that owns the interface in the MGM, if any.
    pub owner: Option<String>,
    /// The interface's kernel twin (its Linux interface name), if it has one.
    #[serde(default)]
    pub twin: Option<String>,
    /// The twin's counters: frames to the kernel, refused by its rate limit or by the tap,
    /// frames from the kernel sent out and failed (zero without a twin).
    #[serde(default)]
    pub twin_to_kernel: u64,
    /// Frames for the twin refused by its rate limit.
    #[serde(default)]
    pub twin_rate_limited: u64,
    /// Frames for the twin the tap refused.
    #[serde(default)]
    pub twin_refused: u64,
    /// Frames the kernel sent on the twin that went out of the port.
    #[serde(default)]
    pub twin_from_kernel: u64,
    /// Frames the kernel sent on the twin that could not go out.
    #[serde(default)]
    pub twin_from_kernel_failed: u64,
    /// Packets received on the port.
    pub rx_packets: u64,
    /// Packets sent on the port.
    pub tx_packets: u64,
    /// Packets the NIC dropped for lack of rx descriptors (af_packet: the kernel, for lack of
    /// room on the socket's rx ring).
    pub rx_missed: u64,
    /// Receive failures for lack of mbufs.
    pub rx_nombuf: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// The MTU copies leave with (the interface's `mtu:`, else the port's); larger copies
    /// are fragmented, or dropped (`mtu_exceeded`) when Don't Fragment is set. 0: unknown.
    #[serde(default)]
    pub mtu: u16,
    /// Fragments sent (of copies larger than the MTU), all workers.
    #[serde(default)]
    pub fragments_out: u64,
    /// The port's link state at the control core's last check (every 100 ms); while it is
    /// down the interface is left out of the entries' outgoing ports.
    #[serde(default = "link_up_default")]
    pub link_up: bool,
    /// The port is started and used by the workers (false while it cannot start, e.g. a memif
    /// server that is not listening yet, or while a memif client restarts to reconnect).
    #[serde(default = "link_up_default")]
    pub running: bool,
    /// How the control core sends on the port: `own-queue:N` (a tx queue of its own), or
    /// `worker:N` (through worker N's queue: the port has no tx queue to spare, a
    /// single-queue device or a memif port whose peer offers one queue pair).
    #[serde(default)]
    pub control_tx: String,
    /// Failed start attempts (the port is started again every second while it fails).
    #[serde(default)]
    pub start_failures: u64,
    /// Why the port last failed to start.
    #[serde(default)]
    pub start_error: Option<String>,
    /// Restarts of a memif client whose link stayed down (to connect again).
    #[serde(default)]
    pub restarts: u64,
    /// Control frames (IGMP) handed to the port's queue or to the worker that sends them.
    #[serde(default)]
    pub control_frames: u64,
    /// Control frames refused (port not running, no mbuf, queue or worker ring full).
    #[serde(default)]
    pub control_refused: u64,
}

fn link_up_default() -> bool {
    true
}

/// One port's DPDK counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortStatsView {
    /// Port name.
    pub name: String,
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets the NIC dropped for lack of rx descriptors (af_packet: the kernel, for lack of
    /// room on the socket's rx ring).
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
    /// Receive failures for lack of mbufs.
    pub rx_nombuf: u64,
}

/// One forwarding worker's counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    /// The worker's lcore; `None` for the main lcore.
    pub lcore: Option<u32>,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent (every copy counts).
    pub tx_packets: u64,
    /// Drops by reason (`ttl_expired`, `no_route`, ...).
    pub drops: BTreeMap<String, u64>,
}

/// Everything `show stats` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsView {
    /// Seconds since the daemon started.
    pub uptime_secs: f64,
    /// Per-port counters.
    pub ports: Vec<PortStatsView>,
    /// Per-worker counters.
    pub workers: Vec<WorkerView>,
    /// Drops by reason, summed over the workers; every reason is listed, zero or not.
    pub drops: BTreeMap<String, u64>,
    /// Control-core counters (`misses_received`, `misses_ring_full`, `mfes_installed`,
    /// `reloads_ok`, `reloads_failed`, ...).
    pub control: BTreeMap<String, u64>,
}

/// The unicast route the RPF check uses toward a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpfView {
    /// The source asked about.
    pub source: Ipv4Addr,
    /// Interface toward the source; `None` when there is no route.
    pub interface: Option<String>,
    /// Next-hop router; `None` when the source is directly connected.
    pub next_hop: Option<Ipv4Addr>,
    /// The matching prefix (`10.0.1.0/24`).
    pub prefix: Option<String>,
    /// Where the route comes from: `connected` or `static`.
    pub origin: Option<String>,
}

/// IGMP on one interface (`show igmp interfaces`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IgmpInterfaceView {
    /// Interface name.
    pub name: String,
    /// The router's address/prefix on it.
    pub address: String,
    /// IGMP version spoken.
    pub version: u8,
    /// The querier's address (ours when we are querier).
    pub querier: Ipv4Addr,
    /// Whether this router is the querier.
    pub is_querier: bool,
    /// Seconds until our next general query, when we send them.
    pub next_query_secs: Option<f64>,
    /// Seconds until the other querier is presumed gone.
    pub other_querier_expires_secs: Option<f64>,
    /// Query interval, query response interval (seconds), robustness.
    pub query_interval_secs: f64,
    /// Query response interval in seconds.
    pub query_response_interval_secs: f64,
    /// Robustness variable.
    pub robustness: u8,
    /// Groups and source records held.
    pub groups: usize,
    /// Source records held.
    pub sources: usize,
    /// Message and rejection counters.
    pub counters: serde_json::Value,
}

/// One group on one interface (`show igmp groups`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IgmpGroupView {
    /// Interface name.
    pub interface: String,
    /// Group address.
    pub group: Ipv4Addr,
    /// "include" or "exclude".
    pub filter_mode: String,
    /// Seconds left on the group timer (EXCLUDE mode).
    pub expires_secs: Option<f64>,
    /// Sources: address, seconds left (none for an excluded source), forwarded or not.
    pub sources: Vec<(Ipv4Addr, Option<f64>, bool)>,
    /// Host compatibility mode (1, 2 or 3).
    pub version: u8,
    /// The last host that reported for the group.
    pub last_reporter: Ipv4Addr,
}

/// The IGMP proxy (`show igmp proxy`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IgmpProxyView {
    /// The upstream interface's name.
    pub upstream: String,
    /// Our address there (the source of our reports).
    pub address: Ipv4Addr,
    /// The IGMP version reports go out in now (3, or 2/1 while an older querier is present).
    pub version: u8,
    /// The last querier heard upstream.
    pub querier: Option<Ipv4Addr>,
    /// The aggregate downstream membership reported upstream: group, "exclude" (any source)
    /// or "include", and the sources of an include-mode group.
    pub groups: Vec<(Ipv4Addr, String, Vec<Ipv4Addr>)>,
    /// Counters (queries received, reports and leaves sent, alerts taken in, ignored).
    pub counters: serde_json::Value,
}

/// PIM on one interface (`show pim interface`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimInterfaceView {
    /// Interface name.
    pub name: String,
    /// The router's address/prefix on it.
    pub address: String,
    /// The DR.
    pub dr: Ipv4Addr,
    /// Whether this router is the DR.
    pub is_dr: bool,
    /// Our DR priority.
    pub dr_priority: u32,
    /// Neighbours.
    pub neighbors: usize,
    /// Hello interval and the holdtime we advertise, seconds.
    pub hello_interval_secs: f64,
    /// Holdtime we advertise, seconds.
    pub holdtime_secs: f64,
    /// Seconds to our next Hello.
    pub next_hello_secs: f64,
    /// Our Generation ID.
    pub generation_id: u32,
    /// Effective override interval and propagation delay (RFC 7761 4.3.3), seconds.
    pub override_interval_secs: f64,
    /// Effective propagation delay, seconds.
    pub propagation_delay_secs: f64,
    /// Message, neighbour and rejection counters.
    pub counters: serde_json::Value,
}

/// One PIM neighbour (`show pim neighbor`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimNeighborView {
    /// Interface name.
    pub interface: String,
    /// Its primary address.
    pub address: Ipv4Addr,
    /// Seconds since it was first heard (or restarted).
    pub uptime_secs: f64,
    /// Seconds before it expires; `None`: never.
    pub expires_secs: Option<f64>,
    /// The holdtime it advertised, seconds.
    pub holdtime: u16,
    /// Its DR priority, if it sent one.
    pub dr_priority: Option<u32>,
    /// Its Generation ID, if it sent one.
    pub generation_id: Option<u32>,
    /// Whether it is the DR.
    pub is_dr: bool,
}

/// One (*,G) or (S,G) entry of PIM's join/prune state (`show pim join`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimJoinView {
    /// S, or `*` for (*,G).
    pub source: String,
    /// G.
    pub group: Ipv4Addr,
    /// RP(G) of a (*,G) entry.
    pub rp: Option<Ipv4Addr>,
    /// RPF interface toward S or the RP.
    pub rpf_interface: String,
    /// The upstream neighbour joins go to, if any.
    pub upstream: Option<Ipv4Addr>,
    /// Joined upstream.
    pub joined: bool,
    /// Seconds to the next periodic Join.
    pub next_join_secs: Option<f64>,
    /// Downstream join state: "IFNAME:join" or "IFNAME:prune_pending".
    pub downstream: Vec<String>,
    /// Interfaces with IGMP members.
    pub local: Vec<String>,
    /// The outgoing interfaces given to the MGM.
    pub oifs: Vec<String>,
    /// (S,G): data arrived along the shortest-path tree (the SPT bit).
    #[serde(default)]
    pub spt_bit: bool,
    /// (S,G): seconds left on the Keepalive Timer, which data restarts.
    #[serde(default)]
    pub keepalive_secs: Option<f64>,
}

/// `show pim rp`: the Bootstrap router and the RP mappings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PimRpView {
    /// The elected BSR, if any.
    pub bsr: Option<PimBsrView>,
    /// Static mappings first, then the Bootstrap router's RP set.
    pub mappings: Vec<PimRpMappingView>,
    /// Bootstrap messages by what became of them.
    pub bootstrap: BTreeMap<String, u64>,
}

/// The elected Bootstrap router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PimBsrView {
    /// Its address.
    pub address: Ipv4Addr,
    /// Its priority (higher is preferred).
    pub priority: u8,
    /// The hash mask length of its RP set.
    pub hash_mask_len: u8,
    /// Seconds since it was elected.
    pub uptime_secs: f64,
    /// Seconds left on the Bootstrap Timer.
    pub expires_secs: f64,
}

/// One group range's RP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PimRpMappingView {
    /// "network/length".
    pub groups: String,
    /// The RP.
    pub rp: Ipv4Addr,
    /// "static" or "bsr".
    pub origin: String,
    /// Its priority in the RP set (lower is preferred); none for static ones.
    pub priority: Option<u8>,
    /// Seconds left on its holdtime; none for static ones.
    pub expires_secs: Option<f64>,
}

/// One (S,G) or (*,G) assert state on one interface (`show pim assert`, FRR's `show ip pim
/// assert`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimAssertView {
    /// Interface name.
    pub interface: String,
    /// S, or `*` for (*,G).
    pub source: String,
    /// G.
    pub group: Ipv4Addr,
    /// "winner" or "loser".
    pub state: String,
    /// The assert winner (our address when we won).
    pub winner: Ipv4Addr,
    /// The winner's metric: the RPT bit.
    pub rpt: bool,
    /// The winner's metric preference.
    pub metric_preference: u32,
    /// The winner's route metric.
    pub metric: u32,
    /// Seconds left on the Assert Timer.
    pub timer_secs: f64,
}

/// One (S,G) of the first-hop DR's register state (`show pim register`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimRegisterRow {
    /// S.
    pub source: Ipv4Addr,
    /// G.
    pub group: Ipv4Addr,
    /// The interface toward S.
    pub interface: String,
    /// RP(G), where the Registers go.
    pub rp: Ipv4Addr,
    /// "Join", "Prune" or "JoinPending" (RFC 7761 4.4.1).
    pub state: String,
    /// Seconds left on the Register-Stop Timer.
    pub stop_timer_secs: Option<f64>,
    /// Seconds left on the Keepalive Timer.
    pub keepalive_secs: f64,
}

/// One (S,G) registered to this router as the RP (`show pim register`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimRpRegisterRow {
    /// S.
    pub source: Ipv4Addr,
    /// G.
    pub group: Ipv4Addr,
    /// The DRs that registered it.
    pub from: Vec<Ipv4Addr>,
    /// Seconds since the last Register.
    pub last_secs: f64,
    /// SPTbit(S,G): the data arrives natively.
    pub spt: bool,
}

/// `show pim register`: the register path's state and counters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PimRegisterView {
    /// The first-hop DR's register state.
    pub dr: Vec<PimRegisterRow>,
    /// What was registered to us as the RP.
    pub rp: Vec<PimRpRegisterRow>,
    /// Registers and Register-Stops sent and received, decapsulated, dropped by reason.
    pub counters: serde_json::Value,
}

/// A request from `mrouterctl`: one JSON object per line, tagged by `cmd`
/// (`{"cmd":"show_mroute"}`, `{"cmd":"show_rpf","source":"10.0.1.2"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The multicast forwarding entries.
    ShowMroute,
    /// The interfaces and their ports' counters.
    ShowInterfaces,
    /// Port, worker, drop and control-core counters.
    ShowStats,
    /// The RPF route toward a source.
    ShowRpf {
        /// The source address.
        source: Ipv4Addr,
    },
    /// IGMP on each interface where it runs.
    ShowIgmpInterfaces,
    /// IGMP group state on every interface.
    ShowIgmpGroups,
    /// The IGMP proxy's upstream state and membership database.
    ShowIgmpProxy,
    /// PIM on each interface where it runs.
    ShowPimInterface,
    /// PIM neighbours.
    ShowPimNeighbor,
    /// PIM's join/prune state.
    ShowPimJoin,
    /// PIM's RPs: static, and the Bootstrap router's RP set.
    ShowPimRp,
    /// PIM's assert state.
    ShowPimAssert,
    /// PIM's register path.
    ShowPimRegister,
    /// Re-read the configuration.
    Reload,
}

/// The command names, as `cmd` spells them, for error messages.
pub const COMMANDS: [&str; 14] = [
    "show_mroute",
    "show_interfaces",
    "show_stats",
    "show_rpf",
    "show_igmp_interfaces",
    "show_igmp_groups",
    "show_igmp_proxy",
    "show_pim_interface",
    "show_pim_neighbor",
    "show_pim_join",
    "show_pim_rp",
    "show_pim_assert",
    "show_pim_register",
    "reload",
];

impl Request {
    /// Parses one request line, with a message that says what is wrong and what was expected.
    pub fn from_line(line: &[u8]) -> Result<Request, String> {
        let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
            format!(
                "malformed request: not valid JSON ({e}); expected one JSON object per line, \
                 e.g. {{\"cmd\":\"show_mroute\"}}"
            )
        })?;
        let Some(object) = value.as_object() else {
            return Err(
                "malformed request: expected a JSON object, e.g. {\"cmd\":\"show_mroute\"}"
                    .to_string(),
            );
        };
        let cmd = match object.get("cmd") {
            Some(serde_json::Value::String(cmd)) => cmd.clone(),
            Some(_) => return Err("malformed request: `cmd` must be a string".to_string()),
            None => return Err("malformed request: missing field `cmd`".to_string()),
        };
        if !COMMANDS.contains(&cmd.as_str()) {
            return Err(format!(
                "unknown command `{cmd}` (expected one of: {})",
                COMMANDS.join(", ")
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("bad arguments to `{cmd}`: {e}"))
    }

    /// The request as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        // Serializing a plain enum of strings and addresses cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The daemon's answer: one JSON object per line, `{"kind":"...","data":...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::ShowMroute`].
    Mroute(Vec<MrouteView>),
    /// Answer to [`Request::ShowInterfaces`].
    Interfaces(Vec<InterfaceView>),
    /// Answer to [`Request::ShowStats`].
    Stats(StatsView),
    /// Answer to [`Request::ShowRpf`].
    Rpf(RpfView),
    /// Answer to [`Request::ShowIgmpInterfaces`].
    IgmpInterfaces(Vec<IgmpInterfaceView>),
    /// Answer to [`Request::ShowIgmpGroups`].
    IgmpGroups(Vec<IgmpGroupView>),
    /// Answer to [`Request::ShowIgmpProxy`]: `None` when no proxy runs.
    IgmpProxy(Option<IgmpProxyView>),
    /// Answer to [`Request::ShowPimInterface`].
    PimInterfaces(Vec<PimInterfaceView>),
    /// Answer to [`Request::ShowPimNeighbor`].
    PimNeighbors(Vec<PimNeighborView>),
    /// Answer to [`Request::ShowPimJoin`].
    PimJoins(Vec<PimJoinView>),
    /// Answer to [`Request::ShowPimRp`].
    PimRp(PimRpView),
    /// Answer to [`Request::ShowPimAssert`].
    PimAsserts(Vec<PimAssertView>),
    /// Answer to [`Request::ShowPimRegister`].
    PimRegister(PimRegisterView),
    /// The configuration was reloaded.
    Reloaded {
        /// What changed.
        message: String,
    },
    /// The request failed; nothing changed.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(message: impl Into<String>) -> Response {
        Response::Error {
            message: message.into(),
        }
    }

    /// The response as one line of JSON, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|e| {
            // Plain data with string map keys does not fail to encode; if it ever does, say so
            // rather than hang up on the client.
            let fallback = Response::error(format!("cannot encode the response: {e}"));
            serde_json::to_vec(&fallback).unwrap_or_default()
        });
        line.push(b'\n');
        line
    }

    /// The payload alone (the list or struct, without the `kind` wrapper), for `--json`.
    pub fn payload_json(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Response::Mroute(v) => serde_json::to_value(v),
            Response::Interfaces(v) => serde_json::to_value(v),
            Response::Stats(v) => serde_json::to_value(v),
            Response::Rpf(v) => serde_json::to_value(v),
            Response::IgmpInterfaces(v) => serde_json::to_value(v),
            Response::IgmpGroups(v) => serde_json::to_value(v),
            Response::IgmpProxy(v) => serde_json::to_value(v),
            Response::PimInterfaces(v) => serde_json::to_value(v),
            Response::PimNeighbors(v) => serde_json::to_value(v),
            Response::PimJoins(v) => serde_json::to_value(v),
            Response::PimRp(v) => serde_json::to_value(v),
            Response::PimAsserts(v) => serde_json::to_value(v),
            Response::PimRegister(v) => serde_json::to_value(v),
            Response::Reloaded { message } | Response::Error { message } => {
                Ok(serde_json::json!({ "message": message }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(
            Request::from_line(br#"{"cmd":"show_mroute"}"#),
            Ok(Request::ShowMroute)
        );
        assert_eq!(
            Request::from_line(br#"{"cmd":"show_rpf","source":"10.0.1.2"}"#),
            Ok(Request::ShowRpf {
                source: Ipv4Addr::new(10, 0, 1, 2)
            })
        );
        for r in [
            Request::ShowMroute,
            Request::ShowInterfaces,
            Request::ShowStats,
            Request::ShowIgmpInterfaces,
            Request::ShowIgmpGroups,
            Request::ShowIgmpProxy,
            Request::ShowPimInterface,
            Request::ShowPimNeighbor,
            Request::ShowPimJoin,
            Request::ShowPimRp,
            Request::ShowPimAssert,
            Request::ShowPimRegister,
            Request::ShowRpf {
                source: Ipv4Addr::new(1, 2, 3, 4),
            },
            Request::Reload,
        ] {
            assert_eq!(Request::from_line(r.to_line().as_bytes()), Ok(r));
        }
    }

    #[test]
    fn bad_requests_say_why() {
        let e = Request::from_line(b"{nope").unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = Request::from_line(b"[1]").unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
        let e = Request::from_line(b"{}").unwrap_err();
        assert!(e.contains("missing field `cmd`"), "{e}");
        let e = Request::from_line(br#"{"cmd":"frobnicate"}"#).unwrap_err();
        assert!(e.contains("unknown command `frobnicate`"), "{e}");
        assert!(e.contains("show_mroute"), "{e}");
        let e = Request::from_line(br#"{"cmd":"show_rpf","source":"10.0.1.300"}"#).unwrap_err();
        assert!(e.contains("bad arguments to `show_rpf`"), "{e}");
        let e = Request::from_line(br#"{"cmd":"show_rpf"}"#).unwrap_err();
        assert!(e.contains("missing field `source`"), "{e}");
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::Rpf(RpfView {
            source: Ipv4Addr::new(10, 0, 1, 2),
            interface: Some("if0".into()),
            next_hop: None,
            prefix: Some("10.0.1.0/24".into()),
            origin: Some("connected".into()),
        });
        let line = r.to_line();
        assert_eq!(line.last(), Some(&b'\n'));
        let back: Response = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, r);
        let m = Response::Mroute(vec![]);
        assert_eq!(serde_json::from_slice::<Response>(&m.to_line()).unwrap(), m);
    }
}
