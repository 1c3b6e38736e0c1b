//! Bootstrap messages into the PIM instance (RFC 5059; the state is `bsr.rs`): the checks a
//! received Bootstrap must pass (multicast, from RPF'(BSR) on the route's interface, a live
//! neighbour, an acceptable BSR), the RP set it gives, and its forwarding out of the other PIM
//! interfaces.

use super::instance::Pim;
use crate::interface::Interface as Iface;
use dataplane::wire::pim::{Bootstrap, Repr, ALL_PIM_ROUTERS};
use std::net::Ipv4Addr;
use std::time::Duration;

impl Pim {
    /// A Bootstrap from `src` to `dst` on `iface`, parsed and checksummed.
    pub(super) fn bootstrap_received(
        &mut self,
        now: Duration,
        iface: Iface,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        msg: Bootstrap,
    ) {
        self.bsr.counters.received += 1;
        if dst != ALL_PIM_ROUTERS {
            self.bsr.counters.unicast += 1;
            return;
        }
        self.check_bootstrap(now, iface, src, msg);
    }

    /// The RPF and preference checks, then the RP set and the forwarding. A BSR the RIB has
    /// not answered about is asked, and the Bootstrap waits for the answer.
    fn check_bootstrap(&mut self, now: Duration, iface: Iface, src: Ipv4Addr, msg: Bootstrap) {
        let bsr = msg.bsr_address;
        if self.interfaces.values().any(|i| i.address == bsr) {
            self.bsr.counters.no_route_to_bsr += 1;
            return;
        }
        let Some(answer) = self.rpf.get(&bsr) else {
            self.rpf_queries.insert(bsr);
            self.bsr_pending = Some((iface, src, msg));
            return;
        };
        let Some(route) = *answer else {
            self.bsr.counters.no_route_to_bsr += 1;
            return;
        };
        let hop = if route.upstream.is_unspecified() {
            bsr
        } else {
            route.upstream
        };
        let neighbour = self
            .interfaces
            .get(&iface)
            .is_some_and(|i| i.neighbor(src).is_some());
        if Iface::from_id(route.iif) != Some(iface) || src != hop || !neighbour {
            self.bsr.counters.not_rpf_neighbor += 1;
            return;
        }
        if !self.bsr.acceptable((msg.bsr_priority, bsr)) {
            self.bsr.counters.not_preferred += 1;
            return;
        }
        let taken = self.bsr.take(now, &msg);
        if !msg.no_forward {
            let payload = Repr::Bootstrap(msg).to_bytes();
            for i in self.interfaces.values().filter(|i| i.id != iface) {
                self.outbox
                    .push_back(super::packet::link_local(i, payload.clone()));
                self.bsr.counters.forwarded += 1;
            }
        }
        if taken.rp_set_changed {
            self.rp_set_changed(now);
        }
    }

    /// RPF answers came: a Bootstrap waiting for its BSR's is checked now.
    pub(super) fn retry_bootstrap(&mut self, now: Duration) {
        let Some((iface, src, msg)) = self.bsr_pending.take() else {
            return;
        };
        if self.rpf.contains_key(&msg.bsr_address) {
            self.check_bootstrap(now, iface, src, msg);
        } else {
            self.bsr_pending = Some((iface, src, msg));
        }
    }
}
