//! The daemon's clock: the only clock the control plane has. The control core and the
//! protocols never read it; the daemon reads it and hands the time to every call (`now`), and
//! the data plane's adapter stamps what it reports (a miss's arrival, a publication) with it.

use std::time::{Duration, Instant};

/// Time since the daemon started, as a [`Duration`] (what every `now` in the control plane
/// is).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
}

impl Clock {
    /// A clock that starts at zero now.
    pub fn start() -> Clock {
        Clock {
            started: Instant::now(),
        }
    }

    /// Time since the clock started.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }
}
