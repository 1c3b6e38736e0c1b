//! IGMP proxy (RFC 4605, "IGMP/MLD-based multicast forwarding"), as an MGM routing protocol in
//! the shape the MGM spec gives it (section 7.1): the owner of one upstream interface, holding a
//! (*,*) membership there so every MFE also forwards upstream, and consuming the join and prune
//! alerts that tell it when downstream membership for a group or (S,G) appears or goes away.
//!
//! - Downstream interfaces are the router's IGMP (router-side) interfaces; their membership
//!   reaches the MGM as usual and, through the alert rules, reaches the proxy as one aggregate
//!   membership database (RFC 4605 section 4.1).
//! - On the upstream interface the proxy is a host (RFC 3376 section 5, RFC 2236 section 3,
//!   with the host compatibility rules of RFC 3376 7.2): it sends unsolicited state-change
//!   reports when the database changes (retransmitted Robustness - 1 more times at random within
//!   the Unsolicited Report Interval), answers general, group-specific and
//!   group-and-source-specific queries after a random delay within the Max Resp Time, falls back
//!   to IGMPv2 or v1 while an older querier is present, and sends a v2 Leave when a group goes.
//! - Forwarding (RFC 4605 section 4.2) follows from the MGM: an MFE for a source upstream
//!   (RPF toward the upstream interface: the control core installs a default RPF route there)
//!   forwards to the downstream interfaces with members; an MFE for a downstream source forwards
//!   upstream (the (*,*) membership) and to the other downstream members.
//! - RPF callback (the MGM gives it to the owner of the arrival interface, so the proxy hears
//!   of every new flow arriving upstream): traffic arriving upstream is accepted there even
//!   when the RIB routes its source downstream, unless the source is on a downstream subnet.
//!
//! Sans-IO like the other protocols: alerts are queued by the [`mgm::MgmClient`] callbacks and
//! taken in with [`IgmpProxy::handle_alerts`]; received IGMP with [`IgmpProxy::handle_packet`];
//! timers with [`IgmpProxy::handle_timeout`]; output by [`IgmpProxy::poll_transmit`].

mod config;
mod events;
mod instance;
pub mod packet;
mod show;

pub use config::ProxyConfig;
pub use instance::{IgmpProxy, ProxyCounters, PROXY_PROTOCOL};
pub use show::{ProxyGroup, ProxyInfo};

/// The registry's line for the IGMP proxy.
pub const REGISTRATION: crate::protocols::Registration = crate::protocols::Registration {
    name: "igmp-proxy",
    start: instance::start,
    config: config::SECTION,
};
