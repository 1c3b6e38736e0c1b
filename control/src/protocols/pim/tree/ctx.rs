//! What one call into the machines works with: `now`, the settings, the interfaces, the
//! environment, the seeded RNG for the randomised timers, and the output collector.

use std::time::Duration;

use crate::protocols::jitter::Jitter;

use super::output::Output;
use super::state::Interfaces;
use super::types::{Iface, TreeConfig, TreeCounters, TreeEnv};

/// The context of one call.
pub struct Ctx<'a> {
    /// The virtual or real time of the call.
    pub now: Duration,
    /// Settings.
    pub cfg: &'a TreeConfig,
    /// The PIM interfaces.
    pub ifaces: &'a Interfaces,
    /// RP and RPF.
    pub env: &'a dyn TreeEnv,
    /// The seeded RNG.
    pub jitter: &'a mut Jitter,
    /// Messages and events produced.
    pub out: &'a mut Output,
    /// Refused input.
    pub counters: &'a mut TreeCounters,
    /// New groups and sources this call may still make ([`TreeConfig::max_entries`]).
    pub room: usize,
}

impl Ctx<'_> {
    /// Takes room for one new group or source; counts the refusal when there is none.
    pub fn take_room(&mut self) -> bool {
        if self.room == 0 {
            self.counters.entry_limit += 1;
            return false;
        }
        self.room -= 1;
        true
    }

    /// t_override = rand(0, Effective_Override_Interval(I)) (4.11).
    pub fn t_override(&mut self, iface: Iface) -> Duration {
        let max = self
            .ifaces
            .get(&iface)
            .map_or(super::types::DEFAULT_OVERRIDE_INTERVAL, |p| {
                p.override_interval
            });
        self.jitter.below(max)
    }

    /// t_suppressed = rand(1.1 * t_periodic, 1.4 * t_periodic) when Suppression_Enabled(I),
    /// zero otherwise (4.11).
    pub fn t_suppressed(&mut self, iface: Iface) -> Duration {
        let enabled = self
            .ifaces
            .get(&iface)
            .is_some_and(|p| p.suppression_enabled);
        if !enabled {
            return Duration::ZERO;
        }
        let tp = self.cfg.t_periodic;
        tp.mul_f64(1.1) + self.jitter.below(tp.mul_f64(0.3))
    }

    /// The Prune-Pending Timer delay of a downstream machine on `iface`.
    pub fn prune_pending_delay(&self, iface: Iface) -> Duration {
        self.ifaces
            .get(&iface)
            .map_or(Duration::ZERO, |p| p.prune_pending_delay())
    }
}
