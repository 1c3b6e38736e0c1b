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
//! Adding a protocol: a folder as above, an `impl Protocol`, a [`Registration`] (its start and
//! its config section, [`ConfigSection`]) and one line in [`registry::REGISTRY`]; nothing in
//! `config` or the core (see ARCHITECTURE.md, and `control/tests/core_plugin.rs` for one
//! registered from outside the crate).

pub mod igmp;
pub mod jitter;
pub mod pim;
pub mod proxy;
pub mod registry;
pub mod shared;
pub mod static_routing;

use crate::config::{Config, ConfigSection};
use crate::interface::Interface as Iface;
use crate::protocols::shared::{
    Datagram, MembershipEvent, ReceivedPacket, ReloadRequests, ShowView, StartRequests, Traffic,
    Transmit,
};
use mgm::{ClientId, MgmClient, RpfRoute};
use std::any::Any;
use std::net::Ipv4Addr;
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

    /// What it asks of the MGM and the RIB at start, from the config (see [`StartRequests`]).
    fn start_requests(&self, _cfg: &Config) -> Result<StartRequests, String> {
        Ok(StartRequests::default())
    }

    /// A reload from `old` to `new`, checked before anything changes: what it asks of the core
    /// to apply its changed settings as a difference, or why they need a restart (`Err`, a
    /// message for the operator; then nothing changes, for any protocol). Every protocol
    /// answers: one that cannot apply a change must say so rather than run on old settings.
    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String>;

    /// Takes `new`'s settings, once every protocol accepted the reload; the core then applies
    /// what [`Protocol::prepare_reload`] asked.
    fn commit_reload(&mut self, _now: Duration, _new: &Config) {}

    /// Whether it takes received packets of IP protocol `ip_protocol` that arrive on `iface`.
    fn consumes(&self, _ip_protocol: u8, _iface: Iface) -> bool {
        false
    }

    /// A received packet it consumes, arrived on `iface`.
    fn handle_packet(&mut self, _now: Duration, _iface: Iface, _packet: &ReceivedPacket<'_>) {}

    /// The link of `iface` came (back) up: what it sent there while the link was down was
    /// lost (IGMP runs its startup queries again).
    fn handle_link_up(&mut self, _now: Duration, _iface: Iface) {}

    /// The router stops: what it says on leaving (PIM's goodbye Hellos) goes in its
    /// outputs, which the core sends before the ports stop.
    fn handle_shutdown(&mut self, _now: Duration) {}

    /// Whether it wants the MGM's wrong-interface callback (`MgmConfig::wrong_if_callback`,
    /// off in the MGM by default as in Windows): PIM's Assert starts from it. The core turns
    /// it on when a running protocol asks.
    fn wants_wrong_interface(&self) -> bool {
        false
    }

    /// Takes in what the MGM callbacks of this turn queued (alerts); called after the
    /// membership changes of the turn.
    fn handle_alerts(&mut self, _now: Duration) {}

    /// A copy of a data packet of an entry it asked to have copied
    /// ([`Protocol::copy_to_control`]), arrived on `iface`; `ip` is the IPv4 packet.
    fn handle_entry_copy(&mut self, _now: Duration, _iface: Iface, _ip: &[u8]) {}

    /// Whether the data plane should copy the packets of entry (source, group) to the control
    /// core (`dataplane::fib::EntryFlags::COPY_TO_CONTROL`: PIM's first-hop DR registers
    /// them). Read whenever the core builds the entry's route.
    fn copy_to_control(&self, _source: Ipv4Addr, _group: Ipv4Addr) -> bool {
        false
    }

    /// The next entry whose [`Protocol::copy_to_control`] answer changed: the core builds its
    /// route again.
    fn poll_entry_refresh(&mut self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        None
    }

    /// The next whole IPv4 packet (multicast destination) to send as it is out of `iface`
    /// (PIM's RP: a Register's decapsulated packet).
    fn poll_forward(&mut self) -> Option<(Iface, Vec<u8>)> {
        None
    }

    /// Its earliest deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether it wants [`Protocol::handle_traffic`] (the core then looks up each active
    /// entry's incoming interface for it).
    fn wants_traffic(&self) -> bool {
        false
    }

    /// Entries that carried packets since the last report: the counter sweep's, about once a
    /// second. PIM keeps its (S,G) state alive from it (RFC 7761 4.2: data along the tree
    /// restarts the Keepalive Timer), the way FRR's pimd polls its kernel's entry counters.
    fn handle_traffic(&mut self, _now: Duration, _active: &[Traffic]) {}

    /// Fires what is due at `now`.
    fn handle_timeout(&mut self, _now: Duration) {}

    /// The next message to send.
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }

    /// The next datagram of its own IP protocol to send, to a multicast destination out of
    /// its interface or to a unicast one through the kernel (see [`Datagram`]); IGMP's
    /// messages go through [`Protocol::poll_transmit`].
    fn poll_datagram(&mut self) -> Option<Datagram> {
        None
    }

    /// The next line for the operator's log (PIM: a neighbour up or down, a new DR).
    fn poll_log(&mut self) -> Option<String> {
        None
    }

    /// The next membership change it asks the MGM for (local membership: IGMP).
    fn poll_event(&mut self) -> Option<MembershipEvent> {
        None
    }

    /// The next forwarding entry to build again (RPF and creation alerts, as at the end of
    /// its lifetime): (source, group), `None` for every entry of the group. PIM asks after an
    /// assert changed which interfaces it leaves out of the entry (its creation alert's
    /// answer).
    fn poll_revalidate(&mut self) -> Option<(Option<Ipv4Addr>, Ipv4Addr)> {
        None
    }

    /// The next address whose RPF route it needs and has not been told (PIM: a source or an
    /// RP its join/prune machines asked about); the core answers with
    /// [`Protocol::handle_rpf`] from the router's RIB (connected, config and kernel routes).
    fn poll_rpf_query(&mut self) -> Option<Ipv4Addr> {
        None
    }

    /// Every address whose RPF route it follows: the core answers them all again when the
    /// routes change (the kernel's, a reload's).
    fn rpf_tracked(&self) -> Vec<Ipv4Addr> {
        Vec::new()
    }

    /// RPF answers from the router's RIB (`None`: no route), for [`Protocol::poll_rpf_query`]
    /// and [`Protocol::rpf_tracked`].
    fn handle_rpf(&mut self, _now: Duration, _answers: &[(Ipv4Addr, Option<RpfRoute>)]) {}

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
    /// Its part of the config file: the keys it owns and how they are read and checked
    /// ([`ConfigSection::NONE`] for none).
    pub config: ConfigSection,
}
