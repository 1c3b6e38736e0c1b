//! The upstream machines of RFC 7761: (*,G) (4.5.6) and (S,G) (4.5.7), NotJoined / Joined
//! with a Join Timer, which share one table; and the (S,G,rpt) machine of triggered messages
//! (4.5.9): RPTNotJoined / Pruned / NotPruned with an Override Timer. Events are methods that
//! take `now` and the random delays already drawn (the driver owns the seeded RNG), and
//! return the messages to send, which the driver aggregates per neighbour.

use std::time::Duration;

use super::types::Neighbor;

/// One entry of a Join/Prune message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// Join the entry at this neighbour.
    Join(Neighbor),
    /// Prune it there.
    Prune(Neighbor),
}

/// The state of an upstream (*,G) or (S,G) machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpstreamState {
    /// NotJoined: JoinDesired is false.
    #[default]
    NotJoined,
    /// Joined: joins go upstream every t_periodic.
    Joined,
}

/// An upstream (*,G) or (S,G) machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Upstream {
    /// The state.
    pub state: UpstreamState,
    /// The Join Timer (JT), running in Joined.
    pub join_timer: Option<Duration>,
    /// RPF' as this machine last acted on it (what an RPF' change is compared with).
    pub rpf: Option<Neighbor>,
}

/// The earlier of a running timer and a new deadline (`min(JT, t)`; a stopped timer takes
/// the new one).
fn earlier(t: Option<Duration>, new: Duration) -> Duration {
    t.map_or(new, |t| t.min(new))
}

impl Upstream {
    /// JoinDesired changed to `desired`: NotJoined -> Joined (send Join, JT = t_periodic);
    /// Joined -> NotJoined (send Prune, stop JT). Nothing for an unchanged value.
    pub fn join_desired(
        &mut self,
        now: Duration,
        desired: bool,
        t_periodic: Duration,
    ) -> Vec<Send> {
        match (self.state, desired) {
            (UpstreamState::NotJoined, true) => {
                self.state = UpstreamState::Joined;
                self.join_timer = Some(now + t_periodic);
                self.rpf.map(Send::Join).into_iter().collect()
            }
            (UpstreamState::Joined, false) => {
                self.state = UpstreamState::NotJoined;
                self.join_timer = None;
                self.rpf.map(Send::Prune).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the Join Timer is due.
    pub fn timer_due(&self, now: Duration) -> bool {
        self.state == UpstreamState::Joined && self.join_timer.is_some_and(|t| t <= now)
    }

    /// Join Timer expires (Joined): send Join to RPF', JT = t_periodic.
    pub fn timer_expired(&mut self, now: Duration, t_periodic: Duration) -> Option<Send> {
        if !self.timer_due(now) {
            return None;
        }
        self.join_timer = Some(now + t_periodic);
        self.rpf.map(Send::Join)
    }

    /// See Join to RPF' on the upstream interface (Joined): JT = max(JT, t_joinsuppress).
    pub fn see_join(&mut self, now: Duration, t_joinsuppress: Duration) {
        if self.state == UpstreamState::Joined {
            let new = now + t_joinsuppress;
            self.join_timer = Some(self.join_timer.map_or(new, |t| t.max(new)));
        }
    }

    /// See Prune to RPF' (and, for (S,G), Prune(S,G,rpt) or Prune(*,G) to RPF'(S,G)), or
    /// RPF' changes because of an Assert, or RPF''s GenID changes (Joined):
    /// JT = min(JT, t_override).
    pub fn decrease_timer(&mut self, now: Duration, t_override: Duration) {
        if self.state == UpstreamState::Joined {
            self.join_timer = Some(earlier(self.join_timer, now + t_override));
        }
    }

    /// RPF' is now `new`. Not because of an Assert (Joined): Join to the new neighbour, Prune
    /// to the old one, JT = t_periodic. Because of an Assert: JT = min(JT, t_override). In
    /// NotJoined only the neighbour is remembered.
    pub fn rpf_changed(
        &mut self,
        now: Duration,
        new: Option<Neighbor>,
        due_to_assert: bool,
        t_periodic: Duration,
        t_override: Duration,
    ) -> Vec<Send> {
        let old = std::mem::replace(&mut self.rpf, new);
        if old == new || self.state != UpstreamState::Joined {
            return Vec::new();
        }
        if due_to_assert {
            self.decrease_timer(now, t_override);
            return Vec::new();
        }
        self.join_timer = Some(now + t_periodic);
        new.map(Send::Join)
            .into_iter()
            .chain(old.map(Send::Prune))
            .collect()
    }
}

/// The state of an upstream (S,G,rpt) machine (4.5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RptUpstreamState {
    /// RPTNotJoined(G): the shared tree is not joined.
    #[default]
    NotJoined,
    /// Pruned(S,G,rpt): joined on the shared tree with S pruned off it.
    Pruned,
    /// NotPruned(S,G,rpt): joined on the shared tree and S not pruned.
    NotPruned,
}

/// The macros the (S,G,rpt) machine reacts to, evaluated by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RptInputs {
    /// RPTJoinDesired(G).
    pub rpt_join_desired: bool,
    /// PruneDesired(S,G,rpt).
    pub prune_desired: bool,
    /// inherited_olist(S,G,rpt) != NULL.
    pub inherited_olist: bool,
}

/// An upstream (S,G,rpt) machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RptUpstream {
    /// The state.
    pub state: RptUpstreamState,
    /// The Override Timer (OT), which delays a triggered Join(S,G,rpt).
    pub override_timer: Option<Duration>,
    /// The macros at the last evaluation: the machine reacts to their changes.
    pub last: RptInputs,
}

impl RptUpstream {
    /// The macros are now `now_inputs`; the table's transitions on their changes, at most one
    /// per call. Returns the triggered message, sent to RPF'(S,G,rpt) by the driver: a
    /// Join(S,G,rpt) (`Send::Join`) on Pruned -> NotPruned, a Prune(S,G,rpt) on NotPruned ->
    /// Pruned.
    pub fn update(&mut self, inputs: RptInputs) -> Option<bool> {
        let last = std::mem::replace(&mut self.last, inputs);
        let prune_up = inputs.prune_desired && !last.prune_desired;
        let prune_down = !inputs.prune_desired && last.prune_desired;
        let rpt_join_down = !inputs.rpt_join_desired && last.rpt_join_desired;
        let olist_up = inputs.inherited_olist && !last.inherited_olist;
        match self.state {
            RptUpstreamState::NotJoined => {
                if prune_up {
                    self.state = RptUpstreamState::Pruned;
                } else if olist_up {
                    self.state = RptUpstreamState::NotPruned;
                }
                None
            }
            RptUpstreamState::Pruned => {
                if rpt_join_down {
                    self.state = RptUpstreamState::NotJoined;
                    None
                } else if prune_down {
                    self.state = RptUpstreamState::NotPruned;
                    Some(true)
                } else {
                    None
                }
            }
            RptUpstreamState::NotPruned => {
                if rpt_join_down {
                    self.state = RptUpstreamState::NotJoined;
                    self.override_timer = None;
                    None
                } else if prune_up {
                    self.state = RptUpstreamState::Pruned;
                    self.override_timer = None;
                    Some(false)
                } else {
                    None
                }
            }
        }
    }

    /// See Prune(S,G,rpt) or Prune(S,G) to RPF'(S,G,rpt), or RPF'(S,G,rpt) becomes
    /// RPF'(*,G) (NotPruned): OT = min(OT, t_override).
    pub fn decrease_timer(&mut self, now: Duration, t_override: Duration) {
        if self.state == RptUpstreamState::NotPruned {
            self.override_timer = Some(earlier(self.override_timer, now + t_override));
        }
    }

    /// See Join(S,G,rpt) to RPF'(S,G,rpt) (NotPruned): cancel OT, someone else overrode.
    pub fn see_join(&mut self) {
        if self.state == RptUpstreamState::NotPruned {
            self.override_timer = None;
        }
    }

    /// Override Timer expires (NotPruned): send Join(S,G,rpt), leave OT unset. Returns
    /// whether to send it.
    pub fn timer_expired(&mut self, now: Duration) -> bool {
        if self.state == RptUpstreamState::NotPruned
            && self.override_timer.is_some_and(|t| t <= now)
        {
            self.override_timer = None;
            return true;
        }
        false
    }
}
