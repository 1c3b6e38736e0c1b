//! The protocols the router can run, and the running ones keyed by their MGM handle.

use crate::config::Config;
use crate::interface::Interface as Iface;
use crate::protocols::{igmp, pim, proxy, static_routing, Protocol, Registration};
use mgm::{ClientMap, MgmClient, ProtocolHandle};
use std::time::Duration;

/// Every protocol, one line each, in the order they start.
pub const REGISTRY: &[Registration] = &[
    static_routing::REGISTRATION,
    proxy::REGISTRATION,
    pim::REGISTRATION,
    igmp::REGISTRATION,
];

/// Starts every protocol of [`REGISTRY`] that `cfg` runs, in registry order. They are not yet
/// registered with the MGM: the control core does that, and attaches each to its handle with
/// [`Protocols::insert`].
pub fn start(cfg: &Config, now: Duration) -> Result<Vec<Box<dyn Protocol>>, String> {
    start_with(REGISTRY, cfg, now)
}

/// As [`start`], with the protocols of `registry` (a program or a test that brings a
/// protocol of its own: [`REGISTRY`] and its own registration, see
/// `crate::config::parse_with` and `crate::control_core::ControlCore::start_with`).
pub fn start_with(
    registry: &[Registration],
    cfg: &Config,
    now: Duration,
) -> Result<Vec<Box<dyn Protocol>>, String> {
    let mut out = Vec::new();
    for r in registry {
        out.extend((r.start)(cfg, now)?);
    }
    Ok(out)
}

/// Takes the started protocol of type `T` out of `started`.
pub fn take<T: Protocol>(started: &mut Vec<Box<dyn Protocol>>) -> Option<Box<dyn Protocol>> {
    let pos = started.iter().position(|p| p.as_any().is::<T>())?;
    Some(started.remove(pos))
}

/// The running protocols, keyed by the handle the MGM gave them: the MGM's callbacks are
/// dispatched through this (see [`Protocols::client`]).
#[derive(Default)]
pub struct Protocols {
    map: ClientMap<dyn Protocol>,
}

impl Protocols {
    /// No protocol.
    pub fn new() -> Protocols {
        Protocols::default()
    }

    /// Attaches `protocol` to `handle`: the MGM's callbacks for `handle` reach it from now on.
    pub fn insert(&mut self, handle: ProtocolHandle, protocol: Box<dyn Protocol>) {
        self.map.insert(handle, protocol);
    }

    /// The client the MGM calls for `handle`.
    pub fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        self.map.get_mut(handle).map(|p| p.as_mgm_client())
    }

    /// The running protocol of type `T`.
    pub fn get<T: Protocol>(&self) -> Option<&T> {
        self.map.iter().find_map(|(_, p)| p.as_any().downcast_ref())
    }

    /// The running protocol of type `T`, mutably.
    pub fn get_mut<T: Protocol>(&mut self) -> Option<&mut T> {
        self.map
            .iter_mut()
            .find_map(|(_, p)| p.as_any_mut().downcast_mut())
    }

    /// The handle of the running protocol of type `T`.
    pub fn handle_of<T: Protocol>(&self) -> Option<ProtocolHandle> {
        self.map
            .iter()
            .find_map(|(h, p)| p.as_any().is::<T>().then_some(h))
    }

    /// The running protocol `handle` names.
    pub fn by_handle_mut(&mut self, handle: ProtocolHandle) -> Option<&mut dyn Protocol> {
        self.map.get_mut(handle)
    }

    /// The first running protocol, in registration order, that consumes packets of IP protocol
    /// `ip_protocol` arriving on `iface` ([`Protocol::consumes`]).
    pub fn consumer_mut(&mut self, ip_protocol: u8, iface: Iface) -> Option<&mut dyn Protocol> {
        self.map
            .iter_mut()
            .map(|(_, p)| p)
            .find(|p| p.consumes(ip_protocol, iface))
    }

    /// Whether a running protocol consumes packets of IP protocol `ip_protocol` arriving on
    /// `iface`.
    pub fn consumes(&self, ip_protocol: u8, iface: Iface) -> bool {
        self.map.iter().any(|(_, p)| p.consumes(ip_protocol, iface))
    }

    /// Tells every running protocol that `iface`'s link came up.
    pub fn link_up(&mut self, now: Duration, iface: Iface) {
        for (_, p) in self.map.iter_mut() {
            p.handle_link_up(now, iface);
        }
    }

    /// Tells every running protocol that the router stops (PIM's goodbye Hellos).
    pub fn shutdown(&mut self, now: Duration) {
        for (_, p) in self.map.iter_mut() {
            p.handle_shutdown(now);
        }
    }

    /// Every running protocol, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (ProtocolHandle, &dyn Protocol)> {
        self.map.iter()
    }
}
