//! The control core, sans-IO (in the manner of quinn-proto's `Connection`): it drains the
//! workers' miss and wrong-interface signals (bounded work per turn, de-duplicated per (S,G),
//! rate-limited), feeds them to the MGM with the protocols and the multicast RIB, runs the
//! protocols on the control packets the workers punt, keeps one timer table for its own
//! timers, the MGM's and the protocols', and turns the MGM's MFE changes into
//! forwarding-table changes that it publishes to the workers.
//!
//! It reads no clock, prints nothing and knows no DPDK type: every input carries `now` (the
//! daemon's [`crate::clock::Clock`]), the data plane is reached through the
//! [`DataPlane`] trait (on DPDK: [`DpdkPlane`]; in the `core_*` tests: a recording fake), and
//! what it has to log is polled ([`ControlCore::poll_event`]).
//!
//! The daemon's loop: `handle_input(now, dp)` (signals and punted frames), then, when
//! `poll_timeout()` is due, `handle_timeout(now, dp)`; [`ControlCore::turn`] does both.
//!
//! Files by concern (each works on `state::State`; none imports another's caller):
//! `admission.rs` (miss rate limits), `misses.rs` (the workers' signals), `fib_sync.rs`
//! (MGM changes to table entries), `counter_index.rs` (the entries' counter indices),
//! `sweep.rs` (counters to the MGM), `links.rs` (link checks), `protocol_turn.rs` (the
//! protocols' packets, timers, memberships and messages), `reload.rs`, `start.rs`,
//! `twins.rs` (the kernel twins' frames and links), `kernel_sync.rs` (entries following the
//! kernel's routes), `timers.rs`, and the leaf types (`counters.rs`, `events.rs`, `latency.rs`, `host.rs`,
//! `ports.rs`, `data_plane.rs`, `kernel_routes.rs`; `dpdk.rs`, the DPDK adapter).

mod admission;
mod counter_index;
mod counters;
mod data_plane;
mod dpdk;
mod events;
mod fib_sync;
mod host;
mod kernel_routes;
mod kernel_sync;
mod latency;
mod links;
mod misses;
mod ports;
mod protocol_turn;
mod reload;
mod start;
mod state;
mod sweep;
mod timers;
mod twins;
mod unicast;

pub use counters::{ControlCounters, MfeMeta};
pub use data_plane::{DataPlane, Publication, WorkerSignal};
pub use dpdk::DpdkPlane;
pub use events::CoreEvent;
pub use host::RouterHost;
pub use kernel_routes::{covers, KernelRibCounters, KernelRoutes};
pub use links::{LINK_CHECK_EVERY, LINK_CHECK_WHILE_DOWN};
pub use misses::SIGNALS_PER_TURN;
pub use protocol_turn::PUNTED_PER_TURN;
pub use sweep::{SWEEP_EVERY, SWEEP_PER_STEP};
pub use timers::Timer;
pub use twins::{TwinCounters, TwinPlan, Twins, FROM_KERNEL_PER_TURN, TWIN_BURST, TWIN_RATE};
pub use unicast::UnicastOut;

use crate::config::Config;
use crate::protocols::igmp::Igmp;
use crate::protocols::proxy::IgmpProxy;
use crate::protocols::registry::{Protocols, REGISTRY};
use crate::protocols::static_routing::StaticRouting;
use crate::protocols::Registration;
use mgm::{Mgm, RpfLookup, RpfRoute};
use state::State;
use std::net::Ipv4Addr;
use std::time::Duration;
use sweep::CounterSweep;
use timers::TimerTable;

/// The control core (see the module doc).
pub struct ControlCore {
    st: State,
    /// The protocols it was started with (a reload asks those that do not run whether the new
    /// config would start them).
    registry: Vec<Registration>,
    timers: TimerTable,
    sweep: CounterSweep,
    /// The latest `now` it was given (the time views are shown at).
    last_now: Duration,
}

impl ControlCore {
    /// Starts the MGM and every protocol of [`REGISTRY`] the config runs at `now` (see
    /// `start.rs`); the first link check and counter sweep are due at once.
    pub fn new(cfg: &Config, now: Duration) -> Result<ControlCore, String> {
        ControlCore::start_with(cfg, now, REGISTRY)
    }

    /// As [`ControlCore::new`], with the protocols of `registry` (for a protocol that is not
    /// in [`REGISTRY`]: a test's; load the config with `crate::config::parse_with` and the
    /// same registry).
    pub fn start_with(
        cfg: &Config,
        now: Duration,
        registry: &[Registration],
    ) -> Result<ControlCore, String> {
        let mut core = ControlCore {
            st: start::start(cfg, now, registry)?,
            registry: registry.to_vec(),
            timers: TimerTable::default(),
            sweep: CounterSweep::default(),
            last_now: now,
        };
        core.timers.set(Timer::LinkCheck, Some(now));
        core.timers.set(Timer::CounterSweep, Some(now));
        core.rearm();
        Ok(core)
    }

    fn advance(&mut self, now: Duration) {
        self.last_now = self.last_now.max(now);
    }

    /// The MGM's and the protocols' deadlines into the table (after anything that may have
    /// changed them).
    fn rearm(&mut self) {
        self.timers.set(Timer::Mgm, self.st.mgm.poll_timeout());
        self.timers
            .set(Timer::Protocols, protocol_turn::protocols_timeout(&self.st));
    }

    /// The data plane's input at `now`: the workers' signals, then (once the entries they
    /// created are published: the workers hold those flows' first packets until they see
    /// them) the punted control frames through the protocols. Returns whether there was
    /// anything to do.
    pub fn handle_input(&mut self, now: Duration, dp: &mut dyn DataPlane) -> bool {
        self.advance(now);
        let taken = misses::handle_signals(&mut self.st, dp, now);
        if taken > 0 {
            fib_sync::apply_changes(&mut self.st, dp, now);
        }
        let (punted, received) = protocol_turn::drain_punted(&mut self.st, dp, now);
        let from_kernel = self.st.twins.from_kernel(dp);
        let routes = kernel_sync::follow_kernel_routes(&mut self.st, now);
        if routes > 0 {
            protocol_turn::refresh_rpf(&mut self.st, now);
        }
        protocol_turn::run_protocols(&mut self.st, dp, now, received);
        let changed = fib_sync::apply_changes(&mut self.st, dp, now);
        self.rearm();
        taken > 0 || punted > 0 || from_kernel > 0 || routes > 0 || changed
    }

    /// The earliest deadline of the core, the MGM and the protocols.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next_timeout()
    }

    /// Fires every timer due at `now`; returns whether it changed the table.
    pub fn handle_timeout(&mut self, now: Duration, dp: &mut dyn DataPlane) -> bool {
        self.advance(now);
        for timer in self.timers.expired(now) {
            match timer {
                // Below, after the others: they may have given the protocols work.
                Timer::Protocols => {}
                Timer::Mgm => self.st.mgm.handle_timeout(now, &mut self.st.host),
                Timer::CounterSweep => {
                    let next = self.sweep.step(&mut self.st, dp, now);
                    self.timers.set(Timer::CounterSweep, Some(next));
                }
                Timer::LinkCheck => {
                    let next = links::check_links(&mut self.st, dp, now);
                    self.timers.set(Timer::LinkCheck, Some(next));
                }
            }
        }
        // The protocols' due timers, and what the others gave them: the MGM's alerts (an
        // entry deleted at expiry), a link that came up (IGMP queries again at once).
        protocol_turn::run_protocols(&mut self.st, dp, now, Vec::new());
        let changed = fib_sync::apply_changes(&mut self.st, dp, now);
        self.rearm();
        changed
    }

    /// One turn at `now`: [`ControlCore::handle_input`], then the timers that are due.
    /// Returns whether there was anything to do.
    pub fn turn(&mut self, now: Duration, dp: &mut dyn DataPlane) -> bool {
        let busy = self.handle_input(now, dp);
        let changed = self.poll_timeout().is_some_and(|t| t <= now) && self.handle_timeout(now, dp);
        busy || changed
    }

    /// The router stops at `now`: every protocol says what it says on leaving (PIM's
    /// goodbye Hellos), sent out of the ports while they still run.
    pub fn shutdown(&mut self, now: Duration, dp: &mut dyn DataPlane) {
        self.advance(now);
        self.st.host.protocols.shutdown(now);
        protocol_turn::run_protocols(&mut self.st, dp, now, Vec::new());
    }

    /// The next thing to log.
    pub fn poll_event(&mut self) -> Option<CoreEvent> {
        self.st.events.pop_front()
    }

    /// Reloads: `new` in place of `old` as a difference at `now` (see `reload.rs`). A
    /// change that needs a restart is refused, changes nothing and is counted.
    pub fn reload(
        &mut self,
        now: Duration,
        old: &Config,
        new: &Config,
        dp: &mut dyn DataPlane,
    ) -> Result<String, String> {
        self.advance(now);
        let result = reload::apply_reload(&mut self.st, dp, now, &self.registry, old, new);
        match &result {
            Ok(_) => self.st.counters.reloads += 1,
            Err(_) => self.st.counters.reloads_failed += 1,
        }
        self.rearm();
        result
    }

    /// Runs the kernel twins the daemon made (`crate::twin`) from `now`, and reads RPF routes
    /// from `kernel` too when the config asks for the kernel's routes (`rpf.kernel`).
    pub fn start_twins(
        &mut self,
        now: Duration,
        twins: Vec<TwinPlan>,
        kernel: Option<Box<dyn KernelRoutes>>,
        dp: &mut dyn DataPlane,
    ) {
        self.advance(now);
        self.st.twins = Twins::start(twins, self.st.ports.ports(), now, dp);
        self.st.host.kernel = kernel;
    }

    /// Where the protocols' unicast datagrams go from now (the kernel: PIM's Registers and
    /// Register-Stops); without it they are refused and counted.
    pub fn set_unicast_out(&mut self, out: Box<dyn UnicastOut>) {
        self.st.unicast = Some(out);
    }

    /// The interfaces' kernel twins.
    pub fn twins(&self) -> &Twins {
        &self.st.twins
    }

    /// The kernel RIB's counters, when RPF reads the kernel's routes.
    pub fn kernel_rib(&self) -> Option<KernelRibCounters> {
        self.st.host.kernel.as_ref().map(|k| k.counters())
    }

    /// The RPF route toward `source` and whether it came from the kernel.
    pub fn rpf_with_origin(&self, source: Ipv4Addr) -> Option<(RpfRoute, bool)> {
        self.st.host.rpf_with_origin(source)
    }

    /// Counts a reload refused before it reached [`ControlCore::reload`] (a bad file).
    pub fn reload_refused(&mut self) {
        self.st.counters.reloads_failed += 1;
    }

    /// Miss-to-install latency so far: (count, p50, p99, max) in microseconds.
    pub fn miss_latency(&self) -> (u64, u64, u64, u64) {
        self.st.latency.summary()
    }

    /// The MGM (read-only), for views.
    pub fn mgm(&self) -> &Mgm {
        &self.st.mgm
    }

    /// The static routing protocol's current routes.
    pub fn static_routing(&self) -> &StaticRouting {
        self.st.host.static_routing()
    }

    /// The IGMP proxy, if one runs.
    pub fn proxy(&self) -> Option<&IgmpProxy> {
        self.st.host.protocols.get()
    }

    /// IGMP's interface view, if IGMP runs.
    pub fn igmp(&self) -> Option<&Igmp> {
        self.st.host.protocols.get()
    }

    /// Every running protocol (for their show views as data, `Protocol::show`).
    pub fn protocols(&self) -> &Protocols {
        &self.st.host.protocols
    }

    /// Counters.
    pub fn counters(&self) -> ControlCounters {
        self.st.counters
    }

    /// The latest time the core was given (its inputs' `now`): the time views are shown at.
    pub fn uptime(&self) -> Duration {
        self.last_now
    }

    /// When an entry was installed.
    pub fn meta(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<MfeMeta> {
        self.st.meta.get(&(source, group)).copied()
    }

    /// The RPF route toward `source`.
    pub fn rpf(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.st.host.rpf_lookup(source)
    }

    /// The MGM's view of every MFE, in (group, source) order.
    pub fn mfes(&self) -> Vec<mgm::MibMfe> {
        self.st.mgm.mfes(self.last_now).collect()
    }

    /// Whether port `port`'s link was up at the last check.
    pub fn port_link_up(&self, port: usize) -> bool {
        self.st.ports.link_up(port as u16)
    }

    /// When `timer` is due next (for tests and `show`: the timer table as data).
    pub fn timer(&self, timer: Timer) -> Option<Duration> {
        self.timers.get(timer)
    }
}
