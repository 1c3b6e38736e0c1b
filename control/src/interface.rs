//! The router's interfaces above the port layer.
//!
//! An interface has one identity in the control plane, [`Interface`]: the MGM's interface index,
//! which is the interface's position in the config's `interfaces` list plus one (MGM index 0
//! means "none"). The protocols take and give interfaces as this type.
//!
//! Ports (`u16` DPDK port ids) and slots (the data plane's name for an interface: a port's
//! untagged interface is the port's index, 802.1Q VLAN interfaces follow the ports) belong to
//! the data plane. The conversion happens in one place, the control core
//! (`control_core/ports.rs`: `PortMap::interface`, `PortMap::slot` and `PortMap::frame_out`,
//! built from the config's `interfaces[i].port` and `vlan`): a miss or a punted packet arrives
//! with a slot and is turned into an interface there, and an MFE's interfaces become slots in
//! `route_of`; protocols' messages leave through the interface's port, tagged on a VLAN
//! interface. Nothing above the core sees a port or a slot.

use mgm::InterfaceId;
use std::fmt;

/// One IPv4 interface of the router (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Interface(u32);

impl Interface {
    /// The interface at `idx` in the config's `interfaces` list.
    pub fn from_config_index(idx: usize) -> Interface {
        Interface(idx as u32 + 1)
    }

    /// The interface with MGM interface index `index` (not 0, which names no interface).
    pub const fn from_index(index: u32) -> Interface {
        assert!(index != 0, "MGM interface index 0 names no interface");
        Interface(index)
    }

    /// The interface an MGM id names, if it names one (not [`InterfaceId::NONE`]).
    pub fn from_id(id: InterfaceId) -> Option<Interface> {
        (id.index != 0).then_some(Interface(id.index))
    }

    /// Its position in the config's `interfaces` list.
    pub fn config_index(self) -> usize {
        self.0 as usize - 1
    }

    /// The MGM interface index (what the protocols' `u32` interface fields hold).
    pub fn index(self) -> u32 {
        self.0
    }

    /// The MGM interface id (no next hop: every interface is a broadcast link).
    pub fn id(self) -> InterfaceId {
        InterfaceId::new(self.0)
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "if{}", self.0)
    }
}

/// The MGM interface of config interface `ifidx`.
pub fn interface_id(ifidx: usize) -> InterfaceId {
    Interface::from_config_index(ifidx).id()
}

/// The config interface index of an MGM interface, if it is one.
pub fn config_index(iface: InterfaceId) -> Option<usize> {
    Interface::from_id(iface).map(Interface::config_index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        for idx in [0usize, 1, 7] {
            let i = Interface::from_config_index(idx);
            assert_eq!(i.config_index(), idx);
            assert_eq!(config_index(interface_id(idx)), Some(idx));
            assert_eq!(Interface::from_id(i.id()), Some(i));
        }
        assert_eq!(config_index(InterfaceId::NONE), None);
    }
}
