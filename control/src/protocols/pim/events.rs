//! One handler per input of the PIM instance: a Hello (RFC 7761 4.3.1, 4.3.2), the timers
//! (Hello Timer, Neighbor Liveness Timers).

use super::instance::{Pim, PimEvent};
use super::neighbor::Neighbor;
use super::packet;
use crate::interface::Interface as Iface;
use dataplane::wire::pim::Hello;
use std::net::Ipv4Addr;
use std::time::Duration;

impl Pim {
    /// A Hello from `src` on `iface` (already checked). Holdtime 0 removes the neighbour
    /// (goodbye); a new neighbour, or a known one with a new Generation ID (it restarted),
    /// gets a triggered Hello from us (4.3.1) so it learns of this router without waiting a
    /// Hello period; then the DR is elected again.
    pub(super) fn process_hello(
        &mut self,
        now: Duration,
        iface: Iface,
        src: Ipv4Addr,
        hello: &Hello,
    ) {
        let Some(i) = self.interfaces.get_mut(&iface) else {
            return;
        };
        i.counters.hellos_received += 1;
        if hello.holdtime == Some(0) {
            if i.neighbors.remove(&src).is_some() {
                i.counters.neighbors_goodbye += 1;
                self.report(PimEvent::NeighborDown {
                    iface,
                    address: src,
                });
                self.elect(iface);
            }
            return;
        }
        let full = i.neighbors.len() >= i.settings.max_neighbors;
        let trigger = match i.neighbors.get_mut(&src) {
            Some(n) if n.restarted(hello) => {
                *n = Neighbor::new(now, src, hello);
                i.counters.neighbors_restarted += 1;
                self.report(PimEvent::NeighborRestarted {
                    iface,
                    address: src,
                });
                true
            }
            Some(n) => {
                n.refresh(now, hello);
                false
            }
            None if full => {
                i.counters.hellos_received -= 1;
                i.reject(super::error::RejectReason::NeighborLimit);
                return;
            }
            None => {
                i.neighbors.insert(src, Neighbor::new(now, src, hello));
                i.counters.neighbors_up += 1;
                self.report(PimEvent::NeighborUp {
                    iface,
                    address: src,
                });
                true
            }
        };
        if trigger {
            self.trigger_hello(now, iface);
        }
        self.elect(iface);
    }

    /// Elects the DR of `iface` again and reports a change.
    pub(super) fn elect(&mut self, iface: Iface) {
        let Some(i) = self.interfaces.get_mut(&iface) else {
            return;
        };
        let dr = i.elect_dr();
        if dr != i.dr {
            i.dr = dr;
            self.report(PimEvent::DrChanged { iface, dr });
        }
    }

    /// Fires what is due at `now`: neighbours whose holdtime ran out go (and the DR is elected
    /// again), and a Hello goes out where the Hello Timer expired (then every Hello period);
    /// then the join/prune machines take the changes and fire their own timers.
    pub fn handle_timeout(&mut self, now: Duration) {
        let ids: Vec<Iface> = self.interfaces.keys().copied().collect();
        for iface in ids {
            let Some(i) = self.interfaces.get_mut(&iface) else {
                continue;
            };
            let expired: Vec<Ipv4Addr> = i
                .neighbors
                .values()
                .filter(|n| n.expires.is_some_and(|t| t <= now))
                .map(|n| n.address)
                .collect();
            for address in &expired {
                i.neighbors.remove(address);
                i.counters.neighbors_expired += 1;
            }
            if i.hello_due <= now {
                self.outbox.push_back(packet::hello(i, false));
                i.counters.hellos_sent += 1;
                i.hello_due = now + i.settings.hello_interval;
            }
            for address in &expired {
                self.report(PimEvent::NeighborDown {
                    iface,
                    address: *address,
                });
            }
            if !expired.is_empty() {
                self.elect(iface);
            }
        }
        if self.bsr.next_deadline().is_some_and(|t| t <= now) && self.bsr.handle_timeout(now) {
            self.rp_set_changed(now);
        }
        self.sync_tree(now);
        self.register_timeout(now);
        self.register_sync(now);
    }
}
