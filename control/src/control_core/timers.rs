//! The control core's one timer table (quinn-proto's `TimerTable`): its own deadlines and
//! those of the MGM and of the protocols, so the daemon asks one `poll_timeout` and makes one
//! `handle_timeout` call.

use std::time::Duration;

/// Every deadline the control core keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Read the ports' link state.
    LinkCheck,
    /// Start (or continue) a sweep of the per-entry counters into the MGM.
    CounterSweep,
    /// The MGM's earliest deadline (entry expiry and re-validation).
    Mgm,
    /// The earliest deadline of any protocol (queries, membership timers, reports).
    Protocols,
}

impl Timer {
    const ALL: [Timer; 4] = [
        Timer::LinkCheck,
        Timer::CounterSweep,
        Timer::Mgm,
        Timer::Protocols,
    ];
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Default, Clone, Copy)]
pub struct TimerTable {
    deadlines: [Option<Duration>; Timer::ALL.len()],
}

impl TimerTable {
    /// Sets (or, with `None`, stops) `timer`.
    pub fn set(&mut self, timer: Timer, at: Option<Duration>) {
        self.deadlines[timer as usize] = at;
    }

    /// `timer`'s deadline.
    pub fn get(&self, timer: Timer) -> Option<Duration> {
        self.deadlines[timer as usize]
    }

    /// The earliest deadline.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The timers due at `now`, each stopped as it is returned (whoever handles it sets it
    /// again).
    pub fn expired(&mut self, now: Duration) -> Vec<Timer> {
        let mut due = Vec::new();
        for t in Timer::ALL {
            if self.get(t).is_some_and(|d| d <= now) {
                self.set(t, None);
                due.push(t);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_expired() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::Mgm, Some(Duration::from_secs(5)));
        t.set(Timer::LinkCheck, Some(Duration::from_millis(100)));
        assert_eq!(t.next_timeout(), Some(Duration::from_millis(100)));
        assert_eq!(t.expired(Duration::from_millis(99)), vec![]);
        assert_eq!(
            t.expired(Duration::from_secs(5)),
            [Timer::LinkCheck, Timer::Mgm]
        );
        assert_eq!(t.next_timeout(), None, "expired timers are stopped");
    }
}
