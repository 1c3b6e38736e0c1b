//! PIM-SM join/prune state (RFC 7761 section 4.5, with the macros of 4.1.6 and 4.5 and the
//! timer values of 4.11), SSM per RFC 4607 and RFC 7761 4.8.2: a library without I/O that
//! PIM's instance drives. It covers the downstream per-interface machines for (*,G) (4.5.2),
//! (S,G) (4.5.3) and (S,G,rpt) (4.5.4, with the temporary states of a compound message), the
//! upstream machines for (*,G) (4.5.6), (S,G) (4.5.7) and (S,G,rpt) (4.5.8 periodic prunes,
//! 4.5.9 triggered messages), join suppression and prune override on a LAN, Join/Prune
//! aggregation per upstream neighbour, the outgoing sets per entry, and data arrival (4.2:
//! keepalive, SPT bit, the last-hop switch with its policy), and Assert (4.6: the (S,G) and
//! (*,G) machines per interface, `assert.rs`, with their terms in the macros and in RPF').
//! Groups in the SSM range never get (*,G) or (S,G,rpt) state. Not here: Register, the RP set
//! and BSR.
//!
//! What the instance feeds [`Tib`], each call with `now` and a [`TreeEnv`] (RP(G); RPF toward
//! an address with the PIM neighbour that is its next hop, which must be a live neighbour;
//! the SSM range):
//! - [`Tib::set_interface`] / [`Tib::remove_interface`]: our address there, I_am_DR, the
//!   neighbour count, the LAN delays and suppression of 4.3.3, the message size limit;
//! - [`Tib::local_membership`]: IGMP's local join and leave callbacks from the MGM;
//! - [`Tib::handle_join_prune`]: every Join/Prune from a known neighbour (the instance drops
//!   the others, 4.5), parsed with `dataplane::wire::pim`;
//! - [`Tib::neighbor_restarted`] (GenID change), [`Tib::routes_changed`] (MRIB, RP set or
//!   neighbour change, a neighbour's expiry included), [`Tib::data_arrived`] (the MGM's
//!   creation alert or a data-plane hit);
//! - [`Tib::handle_assert`] (an Assert from a live neighbour), [`Tib::data_on_wrong_interface`]
//!   (data on an outgoing interface: the assert trigger), [`Tib::neighbor_gone`];
//! - [`Tib::poll_timeout`] / [`Tib::handle_timeout`] for its timers.
//!
//! What it gives back: [`Tib::poll_join_prune`], messages per upstream neighbour with several
//! groups each, split under the interface's size limit (`OutgoingJoinPrune::datagram` is the
//! datagram `Protocol::poll_datagram` returns: to ALL-PIM-ROUTERS, TTL 1); and
//! [`Tib::poll_event`], outgoing interfaces added to or removed from a (*,G) or (S,G) entry,
//! never the entry's RPF interface: what the instance gives the MGM; [`Tib::poll_assert`],
//! the Asserts to send; [`Tib::poll_forwarding_change`] with [`Tib::excludes`], the
//! entries whose exclusions changed (lost asserts, (S,G,rpt) prunes, members where we are not the DR). Random timer values come
//! from a seeded RNG. [`Tib::groups`] is the state for show views.
//!
//! Files: `types.rs` (what crosses to the instance), `downstream.rs` and `upstream.rs` (the
//! machines as values), `state.rs` (the TIB as data), `macros.rs`, `ctx.rs` (one call's
//! context), `receive.rs` (a received Join/Prune), `recompute.rs` (the macros' changes to the
//! upstream machines, the outgoing sets, the timers), `output.rs` (aggregation), `spt.rs`
//! (data arrival), `assert_state.rs` and `assert.rs` (Assert: its state, its machines), `tib.rs`
//! (the API).

pub mod assert;
pub mod assert_state;
mod ctx;
pub mod downstream;
pub mod macros;
mod output;
mod receive;
mod recompute;
pub mod spt;
pub mod state;
mod tib;
pub mod types;
pub mod upstream;

pub use assert_state::{AssertInfo, AssertMetric, AssertState, OutgoingAssert};
pub use downstream::{Downstream, DownstreamExpiry, JoinState, RptDownstream, RptState};
pub use state::{GroupState, Interfaces, SourceState};
pub use tib::{LocalMember, Tib};
pub use types::{
    Entry, Iface, InterfaceParams, Neighbor, OutgoingJoinPrune, RouteMetric, Rpf, SptPolicy,
    TreeConfig, TreeCounters, TreeEnv, TreeEvent, HOLDTIME_INFINITE, JP_HOLDTIME, T_PERIODIC,
};
pub use upstream::{RptInputs, RptUpstream, RptUpstreamState, Send, Upstream, UpstreamState};
