//! IGMP router side: IGMPv1 (RFC 1112), IGMPv2 (RFC 2236) and IGMPv3 (RFC 3376 sections 5-7),
//! with the SSM rules of RFC 4604 section 2.2 / RFC 4607, as a sans-IO state machine for all
//! interfaces of the router (quinn-proto style; file layout as holo-igmp).
//!
//! - Inputs: [`Igmp::handle_packet`] (a received IGMP message with the IP fields that matter),
//!   [`Igmp::handle_timeout`], [`Igmp::add_interface`] / [`Igmp::remove_interface`]. Each takes
//!   the current time `now` as a [`Duration`](std::time::Duration) since an epoch the caller
//!   chooses (the control core's clock), like the MGM.
//! - Outputs: [`Igmp::poll_transmit`] (queries to send), [`Igmp::poll_event`] (membership joins
//!   and leaves for the MGM), [`Igmp::poll_timeout`] (the earliest deadline).
//! - Show data: [`Igmp::interfaces`], [`Igmp::groups`].
//!
//! Group state follows RFC 3376 section 6 for every interface version: a v1/v2 report is an
//! IS_EX({}) and a v2 leave a TO_IN({}) (7.3.2), so an IGMPv2 interface keeps EXCLUDE({})
//! groups, which are the (*,G) memberships of RFC 2236.
//!
//! Membership events: a group in EXCLUDE mode is a (*,G) join; a group in INCLUDE mode is an
//! (S,G) join per source with a running timer. The excluded sources of an EXCLUDE(X,Y) group
//! are not reported: the MGM has no way to express "all sources but these".

mod config;
mod error;
mod events;
mod group;
mod instance;
mod interface;
mod packet;
mod show;

pub use crate::protocols::shared::{MembershipEvent, Transmit};
pub use config::{in_prefix, IgmpConfig, IgmpInterfaceConfig};
pub use error::{IgmpError, RejectReason};
pub use group::FilterMode;
pub use instance::{Igmp, IGMP_PROTOCOL};
pub use interface::InterfaceCounters;
pub use show::{GroupInfo, InterfaceInfo, SourceInfo};

/// The registry's line for IGMP.
pub const REGISTRATION: crate::protocols::Registration = crate::protocols::Registration {
    name: "igmp",
    start: instance::start,
    config: instance::SECTION,
};
