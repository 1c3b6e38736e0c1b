//! Static multicast routes from the config, as an MGM routing protocol (smcroute-style: a
//! (*,G) route creates (S,G) entries on demand for every source that sends).
//!
//! - It owns every interface and turns each route's outgoing interfaces into MGM memberships:
//!   (S,G) routes into source-specific ones, (*,G) routes into any-source ones.
//! - RPF callback: the route's configured incoming interface replaces the one the unicast
//!   lookup toward S found (a static route says where its traffic comes from). The MGM calls
//!   it for traffic that arrived on one of the interfaces this protocol owns (every interface
//!   but the IGMP proxy's upstream one), whatever interface the route toward S names, as the
//!   seed page "RPF Alert Callbacks" says; traffic arriving on the proxy's upstream interface
//!   is the proxy's to decide, even for a group a static route names.
//! - Creation alert: an exact (S,G) route overrides the (*,G) route of its group, so only its
//!   own outgoing interfaces stay enabled (MGM's OIF list is the union of both memberships).

mod config;
mod instance;
mod reload;
mod show;
mod start;

pub use instance::{StaticRoute, StaticRouting, STATIC_PROTOCOL};
pub use show::StaticRouteInfo;
pub use start::{memberships, start_requests};

/// The registry's line for static routing.
pub const REGISTRATION: crate::protocols::Registration = crate::protocols::Registration {
    name: "static",
    start: instance::start,
    config: config::SECTION,
};
