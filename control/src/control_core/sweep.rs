//! The counter sweep: feeds the workers' per-entry counters to the MGM (so it sees which
//! entries carry traffic, which decides re-validation or expiry at the end of their lifetime,
//! and `show mroute` shows packets and bytes). A sweep over every counter index starts once a
//! second and takes [`SWEEP_PER_STEP`] indices per step, so no step does O(table) work.

use crate::control_core::data_plane::DataPlane;
use crate::control_core::state::State;
use crate::interface::Interface;
use crate::protocols::shared::Traffic;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Counter indices swept per step.
pub const SWEEP_PER_STEP: usize = 4096;
/// How often a sweep starts.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The pause between two steps of one sweep (the control loop's idle park: a sweep of a
/// million entries takes about half a second and never a whole turn).
pub const SWEEP_STEP_PAUSE: Duration = Duration::from_millis(2);

/// Where the sweep is.
#[derive(Debug, Default)]
pub struct CounterSweep {
    /// The next index to read; `None` between sweeps.
    cursor: Option<usize>,
}

impl CounterSweep {
    /// One step at `now`; returns when the next step is due.
    pub fn step(&mut self, st: &mut State, dp: &dyn DataPlane, now: Duration) -> Duration {
        let start = self.cursor.unwrap_or(0);
        let end = (start + SWEEP_PER_STEP).min(st.indices.len());
        let wants_traffic = st.host.protocols.iter().any(|(_, p)| p.wants_traffic());
        let mut active = Vec::new();
        for index in start..end {
            let Some(((source, group), d)) = st.indices.take_delta(index, dp, &st.ports) else {
                continue;
            };
            // Copies per outgoing port, reported for the port's interface (the MGM ignores
            // interfaces no longer in the entry's OIF list).
            let oifs: Vec<(mgm::InterfaceId, mgm::OifCounters)> = d
                .out
                .iter()
                .map(|&(port, n)| {
                    let counters = mgm::OifCounters {
                        out_packets: n,
                        ..Default::default()
                    };
                    (st.ports.interface(port), counters)
                })
                .collect();
            let delta = mgm::MfeStatsDelta {
                mfe: mgm::MfeCounters {
                    in_packets: d.packets,
                    in_octets: d.bytes,
                    pkts_different_if: d.wrong_if,
                    total_out_packets: d.out.iter().map(|(_, n)| n).sum(),
                    ..Default::default()
                },
                oifs,
            };
            let _ = st.mgm.update_mfe_stats(now, source, group, &delta);
            if wants_traffic && d.packets > 0 {
                active.push((source, group));
            }
        }
        if !active.is_empty() {
            report_traffic(st, now, &active);
        }
        if end >= st.indices.len() {
            self.cursor = None;
            now + SWEEP_EVERY
        } else {
            self.cursor = Some(end);
            now + SWEEP_STEP_PAUSE
        }
    }
}

/// Tells the protocols that want it which entries carried packets in this step, each with
/// its incoming interface from the MGM.
fn report_traffic(st: &mut State, now: Duration, active: &[(Ipv4Addr, Ipv4Addr)]) {
    let traffic: Vec<Traffic> = active
        .iter()
        .filter_map(|&(source, group)| {
            let mfe = st.mgm.get_mfe(now, source, group).ok()?;
            Some(Traffic {
                source,
                group,
                iif: Interface::from_id(mfe.iif)?,
            })
        })
        .collect();
    if traffic.is_empty() {
        return;
    }
    let handles: Vec<_> = st
        .host
        .protocols
        .iter()
        .filter(|(_, p)| p.wants_traffic())
        .map(|(h, _)| h)
        .collect();
    for h in handles {
        if let Some(p) = st.host.protocols.by_handle_mut(h) {
            p.handle_traffic(now, &traffic);
        }
    }
}
