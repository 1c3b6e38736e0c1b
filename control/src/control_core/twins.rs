//! The kernel twins on the control core's side (see `crate::twin`, which makes them): frames
//! punted from a port with a twin go to the twin's kernel side within a token bucket per twin,
//! what the kernel sends on a twin goes out of its port, and a twin's kernel interface follows
//! its port's link. Everything goes through the [`DataPlane`] trait; the core does no I/O.
//!
//! - **Port to kernel**: at most [`TWIN_RATE`] frames a second per twin ([`TWIN_BURST`] at
//!   once), so a flood of ARP or pings costs the control core a bounded share of its CPU; what
//!   the bucket refuses is counted (`rate_limited`), as is what the tap refuses (`refused`);
//!   what the workers' punt rings cannot take is their `control_ring_full` drop.
//! - **Kernel to port**: through the control core's transmit path (`DataPlane::send_frame`),
//!   at most [`FROM_KERNEL_PER_TURN`] frames per twin and turn.

use crate::control_core::data_plane::DataPlane;
use std::time::Duration;

/// Frames a second one twin takes from its port (token bucket rate).
pub const TWIN_RATE: f64 = 10_000.0;
/// Frames one twin takes at once after a quiet period (token bucket depth).
pub const TWIN_BURST: f64 = 1_000.0;
/// Frames read from one twin's kernel side per control turn at most.
pub const FROM_KERNEL_PER_TURN: usize = 64;

/// A twin as `crate::twin` made it: the data the core needs to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwinPlan {
    /// The interface's index in the config.
    pub iface: usize,
    /// Its port.
    pub port: u16,
    /// The kernel interface's name.
    pub name: String,
    /// The tap's index in the data plane (`DataPlane::add_tap`).
    pub tap: usize,
    /// The kernel interface's index.
    pub ifindex: u32,
}

/// One twin's counters (shown by `show interfaces`, summed in `show stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TwinCounters {
    /// Frames written to the kernel.
    pub to_kernel: u64,
    /// Frames for the kernel refused by the twin's rate limit.
    pub rate_limited: u64,
    /// Frames for the kernel the tap refused (its queue full, the twin down, no mbuf).
    pub refused: u64,
    /// Frames the kernel sent that went out of the port.
    pub from_kernel: u64,
    /// Frames the kernel sent that could not go out (port down, no mbuf, queue full).
    pub from_kernel_failed: u64,
}

impl TwinCounters {
    fn add(&mut self, o: &TwinCounters) {
        self.to_kernel += o.to_kernel;
        self.rate_limited += o.rate_limited;
        self.refused += o.refused;
        self.from_kernel += o.from_kernel;
        self.from_kernel_failed += o.from_kernel_failed;
    }
}

struct Twin {
    plan: TwinPlan,
    tokens: f64,
    last_refill: Duration,
    counters: TwinCounters,
}

impl Twin {
    fn admit(&mut self, now: Duration) -> bool {
        let dt = now.saturating_sub(self.last_refill).as_secs_f64();
        self.last_refill = self.last_refill.max(now);
        self.tokens = (self.tokens + dt * TWIN_RATE).min(TWIN_BURST);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Every interface's kernel twin (none until the daemon made them).
#[derive(Default)]
pub struct Twins {
    twins: Vec<Twin>,
    /// Twin index by port index.
    by_port: Vec<Option<usize>>,
}

impl Twins {
    /// The twins of `plans` from `now`, their ports told to punt their exception traffic.
    pub fn start(
        plans: Vec<TwinPlan>,
        ports: usize,
        now: Duration,
        dp: &mut dyn DataPlane,
    ) -> Twins {
        let mut twins = Twins {
            twins: Vec::with_capacity(plans.len()),
            by_port: vec![None; ports],
        };
        for plan in plans {
            let Some(slot) = twins.by_port.get_mut(usize::from(plan.port)) else {
                continue;
            };
            *slot = Some(twins.twins.len());
            dp.set_exception_punt(plan.port, true);
            twins.twins.push(Twin {
                plan,
                tokens: TWIN_BURST,
                last_refill: now,
                counters: TwinCounters::default(),
            });
        }
        twins
    }

    fn of_port(&self, port: u16) -> Option<usize> {
        self.by_port.get(usize::from(port)).copied().flatten()
    }

    /// Whether port `port`'s interface has a twin.
    pub fn has_twin(&self, port: u16) -> bool {
        self.of_port(port).is_some()
    }

    /// Writes `frame`, punted from port `port`, to that port's twin (within its rate limit);
    /// a port without a twin drops it.
    pub fn to_kernel(&mut self, dp: &mut dyn DataPlane, now: Duration, port: u16, frame: &[u8]) {
        let Some(i) = self.of_port(port) else {
            return;
        };
        let twin = &mut self.twins[i];
        if !twin.admit(now) {
            twin.counters.rate_limited += 1;
        } else if dp.tap_send(twin.plan.tap, frame) {
            twin.counters.to_kernel += 1;
        } else {
            twin.counters.refused += 1;
        }
    }

    /// Sends what the kernel wrote on the twins out of their ports (bounded per twin);
    /// returns how many frames were read.
    pub fn from_kernel(&mut self, dp: &mut dyn DataPlane) -> usize {
        let mut total = 0;
        for twin in &mut self.twins {
            let mut frames = Vec::new();
            total += dp.tap_recv(twin.plan.tap, FROM_KERNEL_PER_TURN, &mut |f| {
                frames.push(f.to_vec())
            });
            for f in frames {
                if dp.send_frame(twin.plan.port, &f) {
                    twin.counters.from_kernel += 1;
                } else {
                    twin.counters.from_kernel_failed += 1;
                }
            }
        }
        total
    }

    /// Port `port`'s link went up or down: so does its twin's kernel interface (the kernel
    /// then withdraws or restores its connected route, which routing daemons follow). An
    /// error is returned for the log.
    pub fn link(&mut self, dp: &mut dyn DataPlane, port: u16, up: bool) -> Option<String> {
        let twin = &self.twins[self.of_port(port)?];
        dp.tap_set_link(twin.plan.tap, up)
            .err()
            .map(|e| format!("kernel twin {}: {e}", twin.plan.name))
    }

    /// The twin's kernel name and counters of config interface `iface`, if it has one.
    pub fn of_interface(&self, iface: usize) -> Option<(&str, TwinCounters)> {
        self.twins
            .iter()
            .find(|t| t.plan.iface == iface)
            .map(|t| (t.plan.name.as_str(), t.counters))
    }

    /// Every twin's counters summed.
    pub fn totals(&self) -> TwinCounters {
        let mut t = TwinCounters::default();
        for twin in &self.twins {
            t.add(&twin.counters);
        }
        t
    }
}
