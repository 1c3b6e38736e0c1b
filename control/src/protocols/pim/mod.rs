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
//!   not yet: (S,G,rpt) prunes in the MGM's entries.
//! - Data arrival (4.2): the MGM's creation alerts (a new source's first packet) and the
//!   entries the core's counter sweep saw carry traffic (`Protocol::handle_traffic`, about
//!   once a second) go to [`tree::Tib::data_arrived`]: the Keepalive Timer, the SPT bit and
//!   the last hop's switch to the SPT.
//! - Bootstrap (RFC 5059, as a non-candidate router): `bsr.rs` (the BSR, the RP set, RP(G))
//!   and `bootstrap.rs` (the checks, the forwarding); `show pim rp`.
//! - Assert (4.6): the (S,G) and (*,G) machines of `tree/assert.rs` driven by `assert.rs`:
//!   Asserts from live neighbours (others refused, `not_neighbor`), data on an outgoing
//!   interface through the MGM's wrong-interface callback (which PIM turns on:
//!   `Protocol::wants_wrong_interface`), the winner's expiry or restart, Asserts and
//!   AssertCancels out (counted per interface, `asserts_sent`); metrics from the RIB route's
//!   origin ([`route_metric`]: connected 0, `rpf_routes` 1, kernel 110). A loser's interface
//!   leaves PIM's olists, and PIM's creation alert keeps it out of the entries IGMP's members
//!   or (*,G) joins would still put it in (the core re-validates the entries PIM names:
//!   `Protocol::poll_revalidate`); RPF' toward a winner upstream. `show pim assert`.
//! - Register (4.4, `register.rs`): the first-hop DR's register state per (S,G) (NoInfo,
//!   Join, Prune, JoinPending, the Register-Stop Timer, Null-Register probes), its data taken
//!   from the data plane by flagging the entry `COPY_TO_CONTROL` while in Join; the RP's
//!   Register handling (decapsulate and forward down inherited_olist(S,G), keepalive so the
//!   machines join toward the source, Register-Stop on SPTbit or an empty olist, and at once
//!   when the SPT data arrives); Registers and Register-Stops are unicast datagrams the core
//!   hands to the kernel; `show pim register`.
//!
//! It owns its interfaces in the MGM; for new entries it takes the RIB's RPF interface and
//! the member interfaces the MGM offers, less its interfaces outside inherited_olist(S,G)
//! (lost asserts, (S,G,rpt) prunes, IGMP members where it is not the DR:
//! [`tree::Tib::excludes`]); entries are built again when those change.

mod assert;
mod bootstrap;
pub mod bsr;
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

pub use assert::{
    route_metric, AssertInfo, PREFERENCE_CONFIG, PREFERENCE_CONNECTED, PREFERENCE_KERNEL,
};
pub use config::{PimInterfaceSettings, PimSettings, SptSwitchover, StaticRp};
pub use error::RejectReason;
pub use instance::{start_seeded, Pim, PimEvent, MAX_EVENTS, PIM_PROTOCOL};
pub use interface::{InterfaceCounters, MessageCounts};
pub use neighbor::Neighbor;
pub use register_state::{
    DrEntry, RegisterCounters, RegisterInfo, RegisterState, RegisterView, Registers, RpEntry,
    RpRegisterInfo,
};
pub use show::{BsrInfo, InterfaceInfo, JoinInfo, NeighborInfo, RpInfo, RpMapping};

/// The registry's line for PIM.
pub const REGISTRATION: crate::protocols::Registration = crate::protocols::Registration {
    name: "pim",
    start: instance::start,
    config: config::SECTION,
};
