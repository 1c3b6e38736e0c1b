//! The control core's state, in one struct that the files of each concern (misses, FIB sync,
//! reload, links, sweep, protocols) work on: they import this file and the leaf types, never
//! each other's callers, and `mod.rs` (the `ControlCore` and its timer table) imports them
//! all.

use crate::control_core::admission::MissLimiter;
use crate::control_core::counter_index::CounterIndices;
use crate::control_core::counters::{ControlCounters, MfeMeta};
use crate::control_core::events::CoreEvent;
use crate::control_core::host::RouterHost;
use crate::control_core::latency::MissLatency;
use crate::control_core::ports::PortMap;
use crate::control_core::twins::Twins;
use mgm::Mgm;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::Ipv4Addr;

/// Everything the control core holds but its timers.
pub struct State {
    /// The Multicast Group Manager.
    pub mgm: Mgm,
    /// What the MGM calls back into (the protocols, the RIB).
    pub host: RouterHost,
    /// Interfaces <-> ports, link state.
    pub ports: PortMap,
    /// Counters for `show stats`.
    pub counters: ControlCounters,
    /// When each entry was installed.
    pub meta: HashMap<(Ipv4Addr, Ipv4Addr), MfeMeta>,
    /// Miss rate limits.
    pub limiter: MissLimiter,
    /// The router's own addresses (never a source to route).
    pub own_addresses: HashSet<Ipv4Addr>,
    /// Entries' counter indices.
    pub indices: CounterIndices,
    /// Miss-to-install latency.
    pub latency: MissLatency,
    /// Log lines for the daemon.
    pub events: VecDeque<CoreEvent>,
    /// The interfaces' kernel twins (none until `ControlCore::start_twins`).
    pub twins: Twins,
    /// Where unicast datagrams go (the kernel; none until `ControlCore::set_unicast_out`).
    pub unicast: Option<Box<dyn crate::control_core::unicast::UnicastOut>>,
}
