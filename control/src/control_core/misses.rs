//! The workers' signals: misses (de-duplicated, own sources and the entry limit refused,
//! rate-limited, then to the MGM) and wrong-interface packets (counted on their entry).

use crate::control_core::admission::MissRefused;
use crate::control_core::data_plane::{DataPlane, WorkerSignal};
use crate::control_core::state::State;
use mgm::Miss;
use std::collections::HashSet;
use std::time::Duration;

/// Signals taken from the rings per turn.
pub const SIGNALS_PER_TURN: usize = 512;

/// Takes up to [`SIGNALS_PER_TURN`] signals and hands them to the MGM; returns how many were
/// taken.
pub fn handle_signals(st: &mut State, dp: &mut dyn DataPlane, now: Duration) -> usize {
    let mut signals = Vec::new();
    let taken = dp.drain_signals(SIGNALS_PER_TURN, &mut |w, s| signals.push((w, s)));
    let mut seen = HashSet::new();
    st.limiter.refill(now);
    for (worker, s) in signals {
        match s {
            WorkerSignal::Miss {
                source,
                group,
                port,
                at,
            } => {
                st.counters.misses_received += 1;
                if !seen.insert((source, group)) || st.mgm.get_mfe(now, source, group).is_ok() {
                    st.counters.misses_duplicate += 1;
                    continue;
                }
                if st.own_addresses.contains(&source) {
                    st.counters.misses_own_source += 1;
                    continue;
                }
                if st.mgm.mfe_count() as u64 >= st.limiter.limits().max_mfes {
                    st.counters.misses_mfe_limit += 1;
                    continue;
                }
                match st.limiter.admit(worker, source) {
                    Ok(()) => {}
                    Err(MissRefused::Rate) => {
                        st.counters.misses_rate_limited += 1;
                        continue;
                    }
                    Err(MissRefused::Worker) => {
                        st.counters.misses_worker_limited += 1;
                        continue;
                    }
                    Err(MissRefused::Source) => {
                        st.counters.misses_source_limited += 1;
                        continue;
                    }
                }
                let miss = Miss {
                    source,
                    group,
                    arrival: st.ports.interface(port),
                    header: &[],
                };
                if st.mgm.handle_miss(now, &mut st.host, &miss).is_err() {
                    st.counters.misses_rejected += 1;
                } else {
                    st.latency.arrived(source, group, at);
                }
            }
            WorkerSignal::WrongInterface {
                source,
                group,
                port,
            } => {
                st.counters.wrong_if_received += 1;
                let miss = Miss {
                    source,
                    group,
                    arrival: st.ports.interface(port),
                    header: &[],
                };
                if st
                    .mgm
                    .handle_wrong_interface(now, &mut st.host, &miss)
                    .is_ok()
                {
                    // The MGM counted this signal's packet; the sweep adds the rest.
                    st.indices.wrong_if_signalled((source, group));
                }
            }
            // No protocol sets the flag yet (PIM's SPT switchover will use it): counted.
            WorkerSignal::Hit { .. } => st.counters.hits_received += 1,
        }
    }
    taken
}
