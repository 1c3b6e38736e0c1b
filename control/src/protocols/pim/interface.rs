//! One PIM interface: its Hello state (RFC 7761 4.3.1), its neighbours, the DR election (4.3.2)
//! and the LAN Prune Delay values (4.3.3) the join/prune machinery reads.

use super::config::PimInterfaceSettings;
use super::error::RejectReason;
use super::neighbor::Neighbor;
use crate::interface::Interface as Iface;
use dataplane::wire::pim::{Hello, LanPruneDelay};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Propagation_delay_default (4.11).
pub const PROPAGATION_DELAY_DEFAULT: Duration = Duration::from_millis(500);
/// t_override_default (4.11).
pub const OVERRIDE_INTERVAL_DEFAULT: Duration = Duration::from_millis(2500);

/// Messages received per type, other than Hello: counted, not yet processed (the join/prune,
/// register, assert and bootstrap machinery takes them from here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    /// Join/Prune.
    pub join_prune: u64,
    /// Register (unicast to an RP).
    pub register: u64,
    /// Register-Stop.
    pub register_stop: u64,
    /// Assert.
    pub assert: u64,
    /// Bootstrap.
    pub bootstrap: u64,
    /// Candidate-RP-Advertisement.
    pub candidate_rp_adv: u64,
}

/// One interface's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InterfaceCounters {
    /// Hellos sent (goodbyes included).
    pub hellos_sent: u64,
    /// Hellos received and taken in.
    pub hellos_received: u64,
    /// Neighbours that appeared.
    pub neighbors_up: u64,
    /// Neighbours whose holdtime ran out.
    pub neighbors_expired: u64,
    /// Neighbours that said goodbye (holdtime 0).
    pub neighbors_goodbye: u64,
    /// Neighbours whose Generation ID changed (restarted).
    pub neighbors_restarted: u64,
    /// Other messages received, per type.
    pub received: MessageCounts,
    /// Asserts sent (AssertCancel included).
    pub asserts_sent: u64,
    /// Packets refused, per reason.
    pub rejected: BTreeMap<RejectReason, u64>,
}

/// PIM on one interface.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Its id.
    pub id: Iface,
    /// Its primary address: the source of its Hellos.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Its settings.
    pub settings: PimInterfaceSettings,
    /// The Generation ID its Hellos carry, chosen when PIM starts on it.
    pub generation_id: u32,
    /// When the next Hello goes out (the Hello Timer).
    pub hello_due: Duration,
    /// Neighbours by primary address.
    pub neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    /// The DR as last elected.
    pub dr: Ipv4Addr,
    /// When PIM started on it.
    pub since: Duration,
    /// The interface's MTU (the config's, or its port's; 1500 when neither says): Join/Prune
    /// messages are split to fit it.
    pub mtu: u16,
    /// Counters.
    pub counters: InterfaceCounters,
}

impl Interface {
    /// Counts a refused packet.
    pub fn reject(&mut self, reason: RejectReason) {
        *self.counters.rejected.entry(reason).or_default() += 1;
    }

    /// The Hello it sends: Holdtime (0 for a goodbye), LAN Prune Delay, DR Priority,
    /// Generation ID.
    pub fn hello(&self, goodbye: bool) -> Hello {
        let holdtime = if goodbye {
            0
        } else {
            u16::try_from(self.settings.holdtime.as_secs()).unwrap_or(u16::MAX - 1)
        };
        Hello {
            holdtime: Some(holdtime),
            lan_prune_delay: Some(LanPruneDelay {
                join_suppression_disabled: false,
                propagation_delay_ms: self.settings.propagation_delay_ms,
                override_interval_ms: self.settings.override_interval_ms,
            }),
            dr_priority: Some(self.settings.dr_priority),
            generation_id: Some(self.generation_id),
            ..Hello::default()
        }
    }

    /// The DR (4.3.2): the highest DR priority, then the highest address, when every
    /// neighbour advertises a priority; the highest address otherwise. This router takes
    /// part with its own priority and address.
    pub fn elect_dr(&self) -> Ipv4Addr {
        let all_have_priority = self.neighbors.values().all(|n| n.dr_priority.is_some());
        let me = (self.settings.dr_priority, self.address);
        let best = self
            .neighbors
            .values()
            .map(|n| (n.dr_priority.unwrap_or(0), n.address))
            .chain(std::iter::once(me))
            .max_by(|a, b| {
                if all_have_priority {
                    a.cmp(b)
                } else {
                    a.1.cmp(&b.1)
                }
            });
        best.map_or(self.address, |(_, a)| a)
    }

    /// This router is the DR.
    pub fn is_dr(&self) -> bool {
        self.dr == self.address
    }

    /// lan_delay_enabled(I) (4.3.3): every neighbour sent the LAN Prune Delay option.
    pub fn lan_delay_enabled(&self) -> bool {
        self.neighbors.values().all(|n| n.lan_prune_delay.is_some())
    }

    /// Effective_Propagation_Delay(I) (4.3.3).
    pub fn effective_propagation_delay(&self) -> Duration {
        if !self.lan_delay_enabled() {
            return PROPAGATION_DELAY_DEFAULT;
        }
        let ms = self
            .neighbors
            .values()
            .filter_map(|n| n.lan_prune_delay.map(|d| d.propagation_delay_ms))
            .chain(std::iter::once(self.settings.propagation_delay_ms))
            .max()
            .unwrap_or(self.settings.propagation_delay_ms);
        Duration::from_millis(u64::from(ms))
    }

    /// Effective_Override_Interval(I) (4.3.3).
    pub fn effective_override_interval(&self) -> Duration {
        if !self.lan_delay_enabled() {
            return OVERRIDE_INTERVAL_DEFAULT;
        }
        let ms = self
            .neighbors
            .values()
            .filter_map(|n| n.lan_prune_delay.map(|d| d.override_interval_ms))
            .chain(std::iter::once(self.settings.override_interval_ms))
            .max()
            .unwrap_or(self.settings.override_interval_ms);
        Duration::from_millis(u64::from(ms))
    }

    /// Suppression_Enabled(I) (4.3.3): Join suppression is on unless LAN Prune Delay is
    /// enabled and some neighbour set its T bit.
    pub fn suppression_enabled(&self) -> bool {
        !self.lan_delay_enabled()
            || !self.neighbors.values().any(|n| {
                n.lan_prune_delay
                    .is_some_and(|d| d.join_suppression_disabled)
            })
    }

    /// J/P_Override_Interval(I) (4.3.3): Effective_Propagation_Delay(I) +
    /// Effective_Override_Interval(I).
    pub fn jp_override_interval(&self) -> Duration {
        self.effective_propagation_delay() + self.effective_override_interval()
    }

    /// The neighbour that has `address` as its primary or a secondary address (4.3.4: an
    /// upstream neighbour named by a secondary address is the same neighbour).
    pub fn neighbor(&self, address: Ipv4Addr) -> Option<&Neighbor> {
        self.neighbors
            .get(&address)
            .or_else(|| self.neighbors.values().find(|n| n.has_address(address)))
    }

    /// Its earliest deadline: the Hello Timer or a neighbour's expiry.
    pub fn next_deadline(&self) -> Duration {
        self.neighbors
            .values()
            .filter_map(|n| n.expires)
            .chain(std::iter::once(self.hello_due))
            .min()
            .unwrap_or(self.hello_due)
    }
}
