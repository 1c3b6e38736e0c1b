//! Multicast Group Manager: the Windows RRAS MGM model as a sans-IO state machine
//! (behaviour: `shared/design/mgm-spec.md`; the "Decisions for the gaps" table is binding).
//!
//! # Calling model
//!
//! [`Mgm`] has no I/O, threads or clock. The control core owns it together with the protocol
//! state machines and drives it with inputs that carry an explicit `now` (a [`Duration`] since
//! an arbitrary start):
//!
//! * registration and ownership: [`Mgm::register_protocol`], [`Mgm::take_interface_ownership`],
//!   [`Mgm::release_interface_ownership`], ...;
//! * membership: [`Mgm::add_group_membership`], [`Mgm::delete_group_membership`];
//! * the data plane: [`Mgm::handle_miss`], [`Mgm::handle_wrong_interface`],
//!   [`Mgm::update_mfe_stats`];
//! * time: [`Mgm::poll_timeout`] gives the next deadline, [`Mgm::handle_timeout`] fires it.
//!
//! Outputs are (1) callbacks to protocols and (2) a queue of [`MfeChange`]s (install, update,
//! delete, each with the full entry) that the caller drains with [`Mgm::poll_mfe_change`] or
//! [`Mgm::drain_mfe_changes`] and publishes to the data plane.
//!
//! # Callbacks and re-entrancy
//!
//! Mutating calls take `host: &mut dyn` [`Host`], which the control core implements: it maps a
//! [`ProtocolHandle`] to the protocol object ([`Clients`]) and answers RPF lookups in the
//! multicast RIB ([`RpfLookup`]). Callbacks are methods of [`MgmClient`] with default
//! "not interested" bodies. They run synchronously, before the MGM call returns (as in Windows):
//!
//! * the decision callbacks (RPF, creation alert) run in the middle of MFE creation and their
//!   out-parameters shape the entry;
//! * notifications (join/prune alerts, local join/leave, disable/enable IGMP) are queued while
//!   the state changes and delivered in the spec's §5.6 order once the state is consistent.
//!   The MFE-level prune alert's timeout becomes the MFE's lifetime.
//!
//! Every callback receives `&Mgm`: it may read (e.g. [`Mgm::get_mfe`]) but the borrow checker
//! forbids any mutating call, so re-entrancy cannot happen. IGMP's re-add after
//! `enable_igmp` is therefore deferred: IGMP notes the interface and the control core lets it
//! re-add its memberships after the call returns (gap 24/64).
//!
//! # Cost
//!
//! Memberships are indexed by group (then source) and by interface; MFEs live in a
//! `BTreeMap` keyed by (group, source) (the walk order) with a per-interface index. A (S,G)
//! change touches one MFE, a (*,G) change only that group's MFEs, releasing an interface only
//! the MFEs that mention it. A (*,*) change necessarily touches every MFE.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callbacks;
mod client;
mod creation;
mod error;
mod membership;
mod mfe;
mod mgm;
mod ops;
mod query;
mod rib;
mod types;

pub use std::time::Duration;

pub use client::{
    ClientMap, Clients, Host, MgmClient, OifEntry, PruneAlert, RpfLookup, RpfRequest, RpfRoute,
};
pub use creation::Miss;
pub use error::*;
pub use mfe::{
    MfeChange, MfeCounters, MfeEntry, MfeStatsDelta, MibMfe, MibMfeStats, OifCounters, StatsLayout,
};
pub use mgm::{Mgm, MgmConfig, MgmCounters};
pub use query::Batch;
pub use rib::MulticastRib;
pub use types::{
    ClientId, EnumHandle, EnumType, InterfaceId, MembershipFlags, ProtocolHandle, RouteInfo, Scope,
    SourceGroupEntry, MS_IP_IGMP,
};
