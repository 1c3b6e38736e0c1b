//! Routing protocols as MGM clients and plug-ins. Each lives in its own folder with the same
//! file set (holo style): `mod.rs` (what it is, the RFCs it follows, its registration),
//! `instance.rs` (its state, the input dispatch, the `poll_*` outputs, its [`MgmClient`] and
//! [`Protocol`] impls), `interface.rs` (per-interface state), `packet.rs` (messages it builds
//! and checks), `events.rs` (one handler per input), `config.rs` (its config section and the
//! validated settings), `show.rs` (its show views as data). A folder leaves out a file it has
//! no use for (static routing has no packets, no per-interface state and no events).
//!
//! The control core drives every protocol through [`Protocol`]; the MGM reaches them through
//! the core's host, which dispatches its callbacks by handle over the [`registry::Protocols`]
//! (an `mgm::ClientMap`). What crosses between a protocol and the core is in [`shared`].
//!
//! Adding a protocol: a folder as above, an `impl Protocol`, and one line in
//! [`registry::REGISTRY`].

pub mod igmp;
pub mod jitter;
pub mod proxy;
pub mod registry;
pub mod shared;
pub mod static_routing;

use crate::config::Config;
use crate::protocols::shared::{MembershipEvent, ReceivedPacket, ShowView, Transmit};
use mgm::{ClientId, MgmClient};
use std::any::Any;
use std::time::Duration;

/// A protocol as the control core sees it: an MGM client (its callbacks), plus its packet
/// input, its timers, what it sends, the memberships it asks for, its config section and its
/// show views. Sans-IO: every input carries `now`, outputs are polled.
///
/// Interfaces are MGM interface indices (`crate::interface::Interface::index`).
pub trait Protocol: MgmClient + Upcast + Any {
    /// Its name in show output and logs (`"static"`, `"igmp"`, `"igmp-proxy"`).
    fn name(&self) -> &'static str;

    /// The id it registers with the MGM.
    fn client_id(&self) -> ClientId;

    /// The config file section it owns (`"routes"`, `"interfaces[].igmp"`, `"igmp_proxy"`).
    fn config_section(&self) -> &'static str;

    /// Whether it takes received packets of IP protocol `ip_protocol` that arrive on `iface`.
    fn consumes(&self, _ip_protocol: u8, _iface: u32) -> bool {
        false
    }

    /// A received packet it consumes, arrived on `iface`.
    fn handle_packet(&mut self, _now: Duration, _iface: u32, _packet: &ReceivedPacket<'_>) {}

    /// Takes in what the MGM callbacks of this turn queued (alerts); called after the
    /// membership changes of the turn.
    fn handle_alerts(&mut self, _now: Duration) {}

    /// Its earliest deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// Fires what is due at `now`.
    fn handle_timeout(&mut self, _now: Duration) {}

    /// The next message to send.
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }

    /// The next membership change it asks the MGM for (local membership: IGMP).
    fn poll_event(&mut self) -> Option<MembershipEvent> {
        None
    }

    /// Its show views at `now`, as data.
    fn show(&self, now: Duration) -> Vec<ShowView>;
}

/// The upcasts the core needs of a protocol; every MGM client has them (blanket impl), so a
/// protocol's implementation writes none.
pub trait Upcast {
    /// For typed access by the core (`registry::Protocols::get`).
    fn as_any(&self) -> &dyn Any;

    /// For typed access by the core (`registry::Protocols::get_mut`).
    fn as_any_mut(&mut self) -> &mut dyn Any;

    /// Itself as the MGM's client (what `mgm::Clients::client` returns).
    fn as_mgm_client(&mut self) -> &mut dyn MgmClient;
}

impl<T: MgmClient + Any> Upcast for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn as_mgm_client(&mut self) -> &mut dyn MgmClient {
        self
    }
}

/// What a protocol's start returns: the instance, `None` when the config does not run it, or
/// why it cannot start.
pub type Started = Result<Option<Box<dyn Protocol>>, String>;

/// How one protocol starts from the config.
#[derive(Clone, Copy)]
pub struct Registration {
    /// Its name (as [`Protocol::name`]).
    pub name: &'static str,
    /// Builds it from the config at `now`; `Ok(None)` when the config does not run it.
    pub start: fn(&Config, Duration) -> Started,
}
