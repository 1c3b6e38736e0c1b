//! [`DataPlane`] on DPDK: a thin adapter over `dataplane::router::Dataplane` that also turns
//! the workers' TSC stamps into times on the daemon's clock.

use crate::clock::Clock;
use crate::control_core::data_plane::{DataPlane, Publication, WorkerSignal};
use dataplane::fib::Route;
use dataplane::router::Dataplane;
use dataplane::worker::Signal;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The DPDK data plane with the daemon's clock, for one call into the control core.
pub struct DpdkPlane<'a> {
    dp: &'a mut Dataplane,
    clock: &'a Clock,
}

impl<'a> DpdkPlane<'a> {
    /// The adapter over `dp`, stamping with `clock`.
    pub fn new(dp: &'a mut Dataplane, clock: &'a Clock) -> DpdkPlane<'a> {
        DpdkPlane { dp, clock }
    }
}

/// How long ago, on the TSC, a worker stamped `at`. The TSC rate is the EAL's, read when
/// needed (it is 0 before the EAL starts, when there is nothing to convert).
fn tsc_age(at: u64) -> Duration {
    let hz = dataplane::dpdk::tsc_hz().max(1);
    let ticks = dataplane::dpdk::tsc().saturating_sub(at);
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64)
}

impl DataPlane for DpdkPlane<'_> {
    fn drain_signals(&mut self, max: usize, f: &mut dyn FnMut(usize, WorkerSignal)) -> usize {
        let clock = self.clock;
        self.dp.drain_signals_by_worker(max, |w, s| {
            let s = match s {
                Signal::Miss {
                    source,
                    group,
                    port,
                    at,
                } => WorkerSignal::Miss {
                    source: source.into(),
                    group: group.into(),
                    port,
                    // The age, not the absolute TSC: the TSC's rate estimate would drift
                    // against the daemon's clock over a long uptime.
                    at: clock.now().saturating_sub(tsc_age(at)),
                },
                Signal::WrongInterface {
                    source,
                    group,
                    port,
                } => WorkerSignal::WrongInterface {
                    source: source.into(),
                    group: group.into(),
                    port,
                },
                Signal::Hit {
                    source,
                    group,
                    port,
                } => WorkerSignal::Hit {
                    source: source.into(),
                    group: group.into(),
                    port,
                },
            };
            f(w, s)
        })
    }

    fn drain_punted(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize {
        self.dp.drain_control(max, |port, m| f(port, m.data()))
    }

    fn drain_entry_copies(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize {
        self.dp.drain_entry_copies(max, |port, m| f(port, m.data()))
    }

    fn send_frame(&mut self, port: u16, frame: &[u8]) -> bool {
        self.dp.send_control(usize::from(port), frame)
    }

    fn insert_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr, route: Route) {
        self.dp.fib().insert(source, group, route);
    }

    fn remove_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr) {
        self.dp.fib().remove(source, group);
    }

    fn publish(&mut self) -> Publication {
        let epoch = self.dp.publish();
        Publication {
            epoch,
            at: self.clock.now(),
        }
    }

    fn acknowledged(&mut self, epoch: u64) -> bool {
        self.dp.fib().acknowledged(epoch)
    }

    fn counter_capacity(&self) -> usize {
        dataplane::worker::entry_counters::COUNTED_ENTRIES
    }

    fn entry_totals(&self, counter: u32) -> (u64, u64) {
        self.dp.entry_totals(counter)
    }

    fn entry_out(&self, counter: u32, port: u16) -> u64 {
        self.dp.entry_out(counter, port)
    }

    fn entry_wrong_if(&self, counter: u32) -> u64 {
        self.dp.entry_wrong_if(counter)
    }

    fn link_up(&self, port: u16) -> bool {
        self.dp.link_up(usize::from(port))
    }

    fn maintain_ports(&mut self) {
        self.dp.maintain_ports();
    }

    fn port_mac_mtu(&self, port: u16) -> Option<([u8; 6], u16)> {
        self.dp.port_mac_mtu(usize::from(port))
    }

    fn set_exception_punt(&mut self, port: u16, on: bool) {
        self.dp.set_exception_punt(usize::from(port), on);
    }

    fn add_tap(&mut self, name: &str, mac: [u8; 6], mtu: u16) -> Result<usize, String> {
        self.dp.add_tap(name, mac, mtu).map_err(|e| e.to_string())
    }

    fn tap_send(&mut self, tap: usize, frame: &[u8]) -> bool {
        self.dp.tap_send(tap, frame)
    }

    fn tap_recv(&mut self, tap: usize, max: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        self.dp.tap_recv(tap, max, f)
    }

    fn tap_set_link(&mut self, tap: usize, up: bool) -> Result<(), String> {
        self.dp.tap_set_link(tap, up).map_err(|e| e.to_string())
    }
}
