//! Interfaces and ports: the one place they are turned into each other (see
//! `crate::interface`), and the ports' link state as last read.
//!
//! The data plane names an interface by its *slot* (`dataplane::worker::vlan`): a port's
//! untagged interface is the port's index, the VLAN interfaces come after the ports (in
//! `Config::vlan_interfaces` order). Misses, wrong-interface signals and punted frames
//! arrive with a slot; forwarding entries name slots. Frames the core sends out of a VLAN
//! interface get its 802.1Q tag here ([`PortMap::frame_out`]).

use crate::config::Config;
use crate::interface::{config_index, interface_id};
use dataplane::worker::vlan::{with_tag, TAG_LEN};
use mgm::InterfaceId;
use std::borrow::Cow;

/// The config's interface <-> slot <-> port map and the link state of every port.
pub struct PortMap {
    slot_of_interface: Vec<u16>,
    interface_of_slot: Vec<Option<usize>>,
    /// Per slot: the port it sends on and the tag its frames take (VLAN interfaces).
    wire_of_slot: Vec<(u16, Option<[u8; TAG_LEN]>)>,
    /// Link state per port as last read: a port whose link is down is left out of every
    /// entry's outgoing interfaces in the data plane (the MGM keeps it) until it comes back.
    link_up: Vec<bool>,
}

impl PortMap {
    /// The config's map; every link taken as up until read.
    pub fn new(cfg: &Config) -> PortMap {
        let ports = cfg.ports.len();
        let vlans = cfg.vlan_interfaces();
        let slots = ports + vlans.len();
        let mut interface_of_slot: Vec<Option<usize>> = (0..ports)
            .map(|p| {
                cfg.interfaces
                    .iter()
                    .position(|i| i.port == p && i.vlan.is_none())
            })
            .collect();
        let mut wire_of_slot: Vec<(u16, Option<[u8; TAG_LEN]>)> =
            (0..ports).map(|p| (p as u16, None)).collect();
        for &i in &vlans {
            let iface = &cfg.interfaces[i];
            let [a, b] = dataplane::wire::ether::ETHERTYPE_VLAN.to_be_bytes();
            let [c, d] = iface.vlan.unwrap_or(0).to_be_bytes();
            interface_of_slot.push(Some(i));
            wire_of_slot.push((iface.port as u16, Some([a, b, c, d])));
        }
        debug_assert_eq!(interface_of_slot.len(), slots);
        PortMap {
            slot_of_interface: (0..cfg.interfaces.len())
                .map(|i| cfg.slot_of_interface(i).unwrap_or(u16::MAX))
                .collect(),
            interface_of_slot,
            wire_of_slot,
            link_up: vec![true; ports],
        }
    }

    /// How many ports.
    pub fn ports(&self) -> usize {
        self.link_up.len()
    }

    /// How many slots: ports and VLAN interfaces.
    pub fn slots(&self) -> usize {
        self.wire_of_slot.len()
    }

    /// The interface of data-plane slot `slot` ([`InterfaceId::NONE`] when it has none: a
    /// port without an untagged interface).
    pub fn interface(&self, slot: u16) -> InterfaceId {
        self.interface_of_slot
            .get(usize::from(slot))
            .copied()
            .flatten()
            .map_or(InterfaceId::NONE, interface_id)
    }

    /// The interfaces on port `port` (its untagged one and its VLAN interfaces).
    pub fn interfaces_on(&self, port: u16) -> impl Iterator<Item = InterfaceId> + '_ {
        self.wire_of_slot
            .iter()
            .enumerate()
            .filter(move |(_, w)| w.0 == port)
            .map(|(s, _)| self.interface(s as u16))
            .filter(|i| *i != InterfaceId::NONE)
    }

    /// The data-plane slot of interface `iface`, if it is one of ours.
    pub fn slot(&self, iface: InterfaceId) -> Option<u16> {
        config_index(iface).and_then(|i| self.slot_of_interface.get(i).copied())
    }

    /// Whether `slot` is a VLAN interface's (its copies are tagged).
    pub fn is_vlan_slot(&self, slot: u16) -> bool {
        usize::from(slot) >= self.ports() && usize::from(slot) < self.slots()
    }

    /// The port slot `slot` sends on.
    pub fn port_of_slot(&self, slot: u16) -> Option<u16> {
        self.wire_of_slot.get(usize::from(slot)).map(|w| w.0)
    }

    /// `frame` (untagged) as it leaves interface `iface`: the port, and the frame with the
    /// interface's 802.1Q tag when it is a VLAN interface.
    pub fn frame_out<'f>(
        &self,
        iface: InterfaceId,
        frame: &'f [u8],
    ) -> Option<(u16, Cow<'f, [u8]>)> {
        let slot = self.slot(iface)?;
        let &(port, tag) = self.wire_of_slot.get(usize::from(slot))?;
        Some(match tag {
            Some(tag) => (port, Cow::Owned(with_tag(frame, tag))),
            None => (port, Cow::Borrowed(frame)),
        })
    }

    /// Whether `port`'s link was up at the last check (false for no such port).
    pub fn link_up(&self, port: u16) -> bool {
        self.link_up
            .get(usize::from(port))
            .copied()
            .unwrap_or(false)
    }

    /// Whether the link of slot `slot`'s port was up at the last check.
    pub fn slot_up(&self, slot: u16) -> bool {
        self.port_of_slot(slot).is_some_and(|p| self.link_up(p))
    }

    /// Whether every link was up at the last check.
    pub fn all_up(&self) -> bool {
        self.link_up.iter().all(|u| *u)
    }

    /// Records `port`'s link state; true if it changed.
    pub fn set_link(&mut self, port: u16, up: bool) -> bool {
        match self.link_up.get_mut(usize::from(port)) {
            Some(l) if *l != up => {
                *l = up;
                true
            }
            _ => false,
        }
    }
}
