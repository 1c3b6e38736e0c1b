//! PIM-SM (RFC 7761) for IPv4 as an MGM routing protocol, sans-IO (every input takes `now`,
//! outputs are polled), in the file layout of the other protocols.
//!
//! Built so far: the interfaces and their neighbours, and the join/prune state.
//! - Hello (4.3.1): the first one after a random delay below Triggered_Hello_Delay, then one
//!   every Hello period; a triggered one when a neighbour appears or restarts (new Generation
//!   ID) and when the link comes back; a changed DR priority, holdtime or LAN Prune Delay goes
//!   out at once; a goodbye (holdtime 0) when PIM stops on an interface or the router stops.
//! - Neighbours: created and refreshed by Hellos, gone at holdtime expiry or on a goodbye,
//!   at most `max_neighbors` per interface (more counted); a changed Generation ID is a
//!   restart ([`PimEvent::NeighborRestarted`]).
//! - DR election (4.3.2) and the LAN Prune Delay values (4.3.3:
//!   [`interface::Interface::effective_propagation_delay`], `effective_override_interval`,
//!   `suppression_enabled`, `jp_override_interval`).
//! - Input: IP protocol 103 on PIM interfaces, checked with `dataplane::wire::pim`; refusals
//!   counted per reason and interface ([`RejectReason`]); messages other than Hello counted
//!   per type ([`interface::MessageCounts`]), for the join/prune, register, assert and
//!   bootstrap machinery to process.
//! - Config: `pim:` per interface and globally (static RPs, SPT switchover), kept for that
//!   machinery; `show pim interface|neighbor`.
//!
//! - Join/prune (4.5): the machines of [`tree`] driven by `join_prune.rs`: Join/Prune from
//!   live neighbours (others counted), neighbour and DR changes, IGMP's local joins and
//!   leaves on PIM interfaces (the MGM's local join/leave callbacks), RPF from the router's RIB
//!   (asked through the core: `Protocol::poll_rpf_query`), Join/Prune messages out, and
//!   outgoing-interface changes as PIM's MGM memberships. SSM and static-RP (*,G) joins;
//!   not yet: Assert, BSR, (S,G,rpt) prunes in the MGM's entries.
//! - Register (4.4, `register.rs`): the first-hop DR's register state per (S,G) (NoInfo,
//!   Join, Prune, JoinPending, the Register-Stop Timer, Null-Register probes), its data taken
//!   from the data plane by flagging the entry `COPY_TO_CONTROL` while in Join; the RP's
//!   Register handling (decapsulate and forward down inherited_olist(S,G), keepalive so the
//!   machines join toward the source, Register-Stop on SPTbit or an empty olist, and at once
//!   when the SPT data arrives); Registers and Register-Stops are unicast datagrams the core
//!   hands to the kernel; `show pim register`.
//!
//! It owns its interfaces in the MGM; for new entries it takes the MGM's defaults (the RIB's
//! RPF interface, every member interface).

mod config;
mod error;
mod events;
mod instance;
pub mod interface;
mod join_prune;
mod neighbor;
mod packet;
mod register;
mod register_state;
mod show;
pub mod tree;

pub use config::{PimInterfaceSettings, PimSettings, SptSwitchover, StaticRp};
pub use error::RejectReason;
pub use instance::{start_seeded, Pim, PimEvent, MAX_EVENTS, PIM_PROTOCOL};
pub use interface::{InterfaceCounters, MessageCounts};
pub use neighbor::Neighbor;
pub use register_state::{
    DrEntry, RegisterCounters, RegisterInfo, RegisterState, RegisterView, Registers, RpEntry,
    RpRegisterInfo,
};
pub use show::{InterfaceInfo, JoinInfo, NeighborInfo};

/// The registry's line for PIM.
pub const REGISTRATION: crate::protocols::Registration = crate::protocols::Registration {
    name: "pim",
    start: instance::start,
    config: config::SECTION,
};
