//! A small multicast RIB with longest-prefix match, usable as [`RpfLookup`] by tests, the bench
//! and a control core that has no RIB of its own yet.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::client::{RpfLookup, RpfRoute};
use crate::types::{InterfaceId, RouteInfo};

/// Routes keyed by prefix length; a lookup probes at most 33 hash tables, so its cost does not
/// grow with the number of routes.
#[derive(Debug, Clone, Default)]
pub struct MulticastRib {
    by_len: Vec<HashMap<u32, RpfRoute>>,
}

fn mask_of(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

impl MulticastRib {
    /// An empty RIB.
    pub fn new() -> Self {
        MulticastRib {
            by_len: vec![HashMap::new(); 33],
        }
    }

    /// Adds (or replaces) the route `network/len` via `iif` and `upstream`.
    pub fn add_route(&mut self, network: Ipv4Addr, len: u8, iif: InterfaceId, upstream: Ipv4Addr) {
        let len = len.min(32);
        let mask = mask_of(len);
        let net = u32::from(network) & mask;
        let route = RouteInfo {
            network: Ipv4Addr::from(net),
            mask: Ipv4Addr::from(mask),
            protocol: 0,
        };
        if self.by_len.is_empty() {
            self.by_len = vec![HashMap::new(); 33];
        }
        self.by_len[usize::from(len)].insert(
            net,
            RpfRoute {
                iif,
                upstream,
                route,
            },
        );
    }

    /// Removes the route `network/len`; returns whether it existed.
    pub fn remove_route(&mut self, network: Ipv4Addr, len: u8) -> bool {
        let len = len.min(32);
        let net = u32::from(network) & mask_of(len);
        self.by_len
            .get_mut(usize::from(len))
            .is_some_and(|t| t.remove(&net).is_some())
    }
}

impl RpfLookup for MulticastRib {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        let addr = u32::from(source);
        (0..self.by_len.len()).rev().find_map(|len| {
            let table = &self.by_len[len];
            if table.is_empty() {
                return None;
            }
            table.get(&(addr & mask_of(len as u8))).copied()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut rib = MulticastRib::new();
        rib.add_route(
            Ipv4Addr::new(10, 0, 0, 0),
            8,
            InterfaceId::new(1),
            Ipv4Addr::new(1, 1, 1, 1),
        );
        rib.add_route(
            Ipv4Addr::new(10, 1, 0, 0),
            16,
            InterfaceId::new(2),
            Ipv4Addr::new(2, 2, 2, 2),
        );
        assert_eq!(
            rib.rpf_lookup(Ipv4Addr::new(10, 1, 2, 3)).unwrap().iif,
            InterfaceId::new(2)
        );
        assert_eq!(
            rib.rpf_lookup(Ipv4Addr::new(10, 2, 2, 3)).unwrap().iif,
            InterfaceId::new(1)
        );
        assert!(rib.rpf_lookup(Ipv4Addr::new(11, 0, 0, 1)).is_none());
        assert!(rib.remove_route(Ipv4Addr::new(10, 1, 0, 0), 16));
        assert_eq!(
            rib.rpf_lookup(Ipv4Addr::new(10, 1, 2, 3)).unwrap().iif,
            InterfaceId::new(1)
        );
    }
}
