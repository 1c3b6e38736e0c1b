//! The register path's state as data (RFC 7761 4.4): the DR's per-(S,G) register state, what
//! was registered to us as the RP, the counters and the show view. `register.rs` drives it;
//! the instance holds it (this file imports neither).

use crate::interface::Interface as Iface;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The DR's register state of one (S,G) (4.4.1). NoInfo is the absence of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterState {
    /// Data is encapsulated to the RP.
    Join,
    /// The RP said Register-Stop: nothing is sent until the timer runs out.
    Prune,
    /// A Null-Register went: a Register-Stop before the timer keeps Prune, else Join.
    JoinPending,
}

impl std::fmt::Display for RegisterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegisterState::Join => "Join",
            RegisterState::Prune => "Prune",
            RegisterState::JoinPending => "JoinPending",
        })
    }
}

/// One (S,G) the DR registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrEntry {
    /// The interface toward the source (where we are DR).
    pub iface: Iface,
    /// Our address there (the Registers' source as the RP sees it, when the kernel routes
    /// them out of it).
    pub address: Ipv4Addr,
    /// RP(G) the Registers go to.
    pub rp: Ipv4Addr,
    /// The state.
    pub state: RegisterState,
    /// The Register-Stop Timer (Prune, JoinPending).
    pub stop_timer: Option<Duration>,
    /// The Keepalive Timer: data seen (Join) keeps the state.
    pub keepalive: Duration,
}

/// One (S,G) registered to us as the RP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpEntry {
    /// The DRs that sent Registers (Register-Stops go to each).
    pub from: BTreeSet<Ipv4Addr>,
    /// The interface the last Register arrived on.
    pub iface: Iface,
    /// The last Register.
    pub last: Duration,
    /// A Register-Stop went to every DR after SPTbit(S,G) was set.
    pub stopped: bool,
}

/// The register path's counters (`show pim register`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterCounters {
    /// Registers sent (data encapsulated) by the DR.
    pub registers_sent: u64,
    /// Null-Registers sent by the DR.
    pub null_registers_sent: u64,
    /// Registers received (Null-Registers included).
    pub registers_received: u64,
    /// Null-Registers among them.
    pub null_registers_received: u64,
    /// Register-Stops sent by the RP (or by a router that is not the RP).
    pub register_stops_sent: u64,
    /// Register-Stops received.
    pub register_stops_received: u64,
    /// Register-Stops for an (S,G) with no register state here.
    pub register_stops_no_state: u64,
    /// Inner packets decapsulated and forwarded (once per outgoing interface).
    pub decapsulated: u64,
    /// Registers dropped: the inner packet is not an IPv4 multicast packet.
    pub dropped_malformed: u64,
    /// Registers dropped: we are not RP(G) (a Register-Stop went back).
    pub dropped_not_rp: u64,
    /// Registers not forwarded: SPTbit(S,G) is set (the data arrives natively).
    pub dropped_spt: u64,
    /// Registers not forwarded: the olist is empty.
    pub dropped_no_olist: u64,
    /// Inner packets not forwarded: TTL 1 or less.
    pub dropped_ttl: u64,
    /// Decapsulated packets dropped: the queue to the core was full.
    pub dropped_queue_full: u64,
    /// Copies of data packets for an (S,G) not in Join (late copies after a Register-Stop).
    pub copies_not_join: u64,
    /// Copies that were not IPv4 packets.
    pub copies_malformed: u64,
    /// New register state refused past `MAX_REGISTER_STATES` (4096, `register.rs`).
    pub state_limit: u64,
    /// Data arrivals dropped from a full queue.
    pub arrivals_dropped: u64,
}

/// The register path's state, kept in `Pim`.
#[derive(Debug, Clone, Default)]
pub struct Registers {
    /// The DR's (S,G) states, by (S, G).
    pub dr: BTreeMap<(Ipv4Addr, Ipv4Addr), DrEntry>,
    /// The RP's (S,G) states, by (S, G).
    pub rp: BTreeMap<(Ipv4Addr, Ipv4Addr), RpEntry>,
    /// Counters.
    pub counters: RegisterCounters,
    /// Data arrivals (S, G, interface) not yet evaluated.
    pub(super) arrivals: Vec<(Ipv4Addr, Ipv4Addr, Iface)>,
    /// Entries whose `COPY_TO_CONTROL` wish changed, for the core.
    pub(super) refresh: BTreeSet<(Ipv4Addr, Ipv4Addr)>,
    /// Decapsulated packets to send: (interface, whole IPv4 packet).
    pub(super) forwards: VecDeque<(Iface, Vec<u8>)>,
    /// What CouldRegister read at the last check (DRs, addresses, RPs, SSM range), so the
    /// states are checked again only when it changed.
    pub(super) inputs: Option<u64>,
}

/// One (S,G) of the DR's register state, for `show pim register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterInfo {
    /// S.
    pub source: Ipv4Addr,
    /// G.
    pub group: Ipv4Addr,
    /// The interface toward S.
    pub iface: Iface,
    /// RP(G).
    pub rp: Ipv4Addr,
    /// The state.
    pub state: RegisterState,
    /// Time left on the Register-Stop Timer.
    pub stop_timer: Option<Duration>,
    /// Time left on the Keepalive Timer.
    pub keepalive: Duration,
}

/// One (S,G) registered to us as the RP, for `show pim register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpRegisterInfo {
    /// S.
    pub source: Ipv4Addr,
    /// G.
    pub group: Ipv4Addr,
    /// The DRs that registered it.
    pub from: Vec<Ipv4Addr>,
    /// Time since the last Register.
    pub last: Duration,
    /// SPTbit(S,G): the data arrives natively; Registers get a Register-Stop.
    pub spt: bool,
}

/// `show pim register`: the DR's and the RP's state and the counters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RegisterView {
    /// The DR's register state.
    pub dr: Vec<RegisterInfo>,
    /// What was registered to us as the RP.
    pub rp: Vec<RpRegisterInfo>,
    /// Counters.
    pub counters: RegisterCounters,
}
