//! The downstream per-interface machines of RFC 7761: (*,G) (4.5.2) and (S,G) (4.5.3), which
//! share one table, and (S,G,rpt) (4.5.4) with its two temporary states for a compound
//! Join/Prune message. Each is a value with its timers as deadlines; every event is a method
//! that takes `now` and returns what the driver must do (a PruneEcho).

use std::time::Duration;

/// A holdtime from a message as a deadline: `None` for the infinite holdtime.
fn deadline(now: Duration, holdtime: Option<Duration>) -> Option<Duration> {
    holdtime.map(|h| now + h)
}

/// The later of two Expiry Timer deadlines (`None` is never).
fn later(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

/// The state of a (*,G) or (S,G) downstream machine on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JoinState {
    /// NoInfo (NI): no join state, no timers.
    #[default]
    NoInfo,
    /// Join (J): forward out of the interface.
    Join,
    /// Prune-Pending (PP): a prune was heard; forwarding goes on until the Prune-Pending Timer
    /// expires without an override.
    PrunePending,
}

/// What expired in [`Downstream::timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownstreamExpiry {
    /// The Prune-Pending Timer: the entry is pruned; send a PruneEcho when the interface has
    /// more than one neighbour.
    PrunePending,
    /// The Expiry Timer: the downstream joins timed out.
    Expiry,
}

/// A (*,G) or (S,G) downstream machine (4.5.2, 4.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Downstream {
    /// The state.
    pub state: JoinState,
    /// The Expiry Timer (ET); `None` when not running or infinite (holdtime 0xFFFF).
    pub expiry: Option<Duration>,
    /// The Prune-Pending Timer (PPT).
    pub prune_pending: Option<Duration>,
}

impl Downstream {
    /// joins(*,G) / joins(S,G) count the interface: Join or Prune-Pending.
    pub fn is_joined(&self) -> bool {
        self.state != JoinState::NoInfo
    }

    /// Receive Join: NI -> J (start ET), J -> J (ET = max(ET, holdtime)), PP -> J (cancel
    /// PPT, ET = max). `holdtime` `None` is forever.
    pub fn receive_join(&mut self, now: Duration, holdtime: Option<Duration>) {
        let new = deadline(now, holdtime);
        self.expiry = match self.state {
            JoinState::NoInfo => new,
            JoinState::Join | JoinState::PrunePending => later(self.expiry, new),
        };
        self.state = JoinState::Join;
        self.prune_pending = None;
    }

    /// Receive Prune: NI -> NI, J -> PP (start PPT = `ppt`, the interface's
    /// [`super::types::InterfaceParams::prune_pending_delay`]), PP -> PP.
    pub fn receive_prune(&mut self, now: Duration, ppt: Duration) {
        if self.state == JoinState::Join {
            self.state = JoinState::PrunePending;
            self.prune_pending = Some(now + ppt);
        }
    }

    /// The earliest of its deadlines.
    pub fn next_deadline(&self) -> Option<Duration> {
        [self.expiry, self.prune_pending]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires a due timer: PPT expires in PP -> NI (PruneEcho); ET expires in J or PP -> NI.
    pub fn timeout(&mut self, now: Duration) -> Option<DownstreamExpiry> {
        let due = |t: Option<Duration>| t.is_some_and(|t| t <= now);
        if self.state == JoinState::PrunePending && due(self.prune_pending) {
            *self = Downstream::default();
            return Some(DownstreamExpiry::PrunePending);
        }
        if self.state != JoinState::NoInfo && due(self.expiry) {
            *self = Downstream::default();
            return Some(DownstreamExpiry::Expiry);
        }
        None
    }
}

/// The state of an (S,G,rpt) downstream machine on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RptState {
    /// NoInfo (NI).
    #[default]
    NoInfo,
    /// Pruned (P): S is not forwarded out of the interface on the shared tree.
    Pruned,
    /// Prune-Pending (PP): forwards as NoInfo until the Prune-Pending Timer expires.
    PrunePending,
    /// PruneTmp (P'): a Join(*,G) came in this message while Pruned; forwards as Pruned. A
    /// Prune(S,G,rpt) later in the message restores Pruned, the end of the message NoInfo.
    PruneTmp,
    /// Prune-Pending-Tmp (PP'): the same from Prune-Pending; forwards as Prune-Pending.
    PrunePendingTmp,
}

/// An (S,G,rpt) downstream machine (4.5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RptDownstream {
    /// The state.
    pub state: RptState,
    /// The Expiry Timer (ET).
    pub expiry: Option<Duration>,
    /// The Prune-Pending Timer (PPT).
    pub prune_pending: Option<Duration>,
}

impl RptDownstream {
    /// prunes(S,G,rpt) counts the interface: Pruned or PruneTmp.
    pub fn is_pruned(&self) -> bool {
        matches!(self.state, RptState::Pruned | RptState::PruneTmp)
    }

    /// Receive Join(*,G): P -> P', PP -> PP'; the rest unchanged.
    pub fn receive_star_join(&mut self) {
        self.state = match self.state {
            RptState::Pruned => RptState::PruneTmp,
            RptState::PrunePending => RptState::PrunePendingTmp,
            other => other,
        };
    }

    /// Receive Join(S,G,rpt): P and PP -> NI (timers cancelled); the rest unchanged.
    pub fn receive_rpt_join(&mut self) {
        if matches!(self.state, RptState::Pruned | RptState::PrunePending) {
            *self = RptDownstream::default();
        }
    }

    /// Receive Prune(S,G,rpt): NI -> PP (start PPT = `ppt` and ET); P -> P, PP -> PP
    /// (ET = max); P' -> P, PP' -> PP (restart ET).
    pub fn receive_rpt_prune(&mut self, now: Duration, holdtime: Option<Duration>, ppt: Duration) {
        let new = deadline(now, holdtime);
        match self.state {
            RptState::NoInfo => {
                self.state = RptState::PrunePending;
                self.prune_pending = Some(now + ppt);
                self.expiry = new;
            }
            RptState::Pruned | RptState::PrunePending => self.expiry = later(self.expiry, new),
            RptState::PruneTmp => {
                self.state = RptState::Pruned;
                self.expiry = new;
            }
            RptState::PrunePendingTmp => {
                self.state = RptState::PrunePending;
                self.expiry = new;
            }
        }
    }

    /// End of Message: P' and PP' -> NI (timers cancelled); the rest unchanged.
    pub fn end_of_message(&mut self) {
        if matches!(self.state, RptState::PruneTmp | RptState::PrunePendingTmp) {
            *self = RptDownstream::default();
        }
    }

    /// The earliest of its deadlines.
    pub fn next_deadline(&self) -> Option<Duration> {
        [self.expiry, self.prune_pending]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires a due timer: PPT expires in PP -> P (ET goes on); ET expires in P or PP -> NI.
    /// Returns whether anything changed.
    pub fn timeout(&mut self, now: Duration) -> bool {
        let due = |t: Option<Duration>| t.is_some_and(|t| t <= now);
        if self.state == RptState::PrunePending && due(self.prune_pending) {
            self.state = RptState::Pruned;
            self.prune_pending = None;
            if !due(self.expiry) {
                return true;
            }
        }
        if matches!(self.state, RptState::Pruned | RptState::PrunePending) && due(self.expiry) {
            *self = RptDownstream::default();
            return true;
        }
        false
    }
}
