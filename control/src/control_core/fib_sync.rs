//! From MGM entries to forwarding-table entries: interfaces become ports (links that are down
//! left out), TTL thresholds come from the static routes, each entry gets a counter index,
//! and the changes are published.

use crate::control_core::counters::MfeMeta;
use crate::control_core::data_plane::DataPlane;
use crate::control_core::state::State;
use dataplane::fib::{Oif, Route};
use mgm::{InterfaceId, MfeChange};
use std::time::Duration;

/// The data plane's route for an MFE: ports instead of interfaces (those whose link is down
/// left out), TTL thresholds from the static route that governs it.
pub fn route_of(st: &State, entry: &mgm::MfeEntry, counter: u32) -> Route {
    let oifs: dataplane::fib::OifList = entry
        .oifs
        .iter()
        .filter_map(|&o: &InterfaceId| {
            let slot = st.ports.slot(o)?;
            if !st.ports.slot_up(slot) {
                return None;
            }
            Some(Oif {
                port: slot,
                ttl_threshold: st
                    .host
                    .static_routing()
                    .ttl_threshold(entry.source, entry.group, o),
            })
        })
        .collect();
    // Copies for VLAN interfaces take the workers' flagged path, which tags them; entries of
    // untagged interfaces only stay on the fast path.
    let flags = if oifs.iter().any(|o| st.ports.is_vlan_slot(o.port)) {
        dataplane::fib::EntryFlags::TAGGED_OIFS
    } else {
        dataplane::fib::EntryFlags::NONE
    };
    // A protocol that wants the packets (PIM's first-hop DR in register state Join).
    let flags = if st
        .host
        .protocols
        .iter()
        .any(|(_, p)| p.copy_to_control(entry.source, entry.group))
    {
        flags | dataplane::fib::EntryFlags::COPY_TO_CONTROL
    } else {
        flags
    };
    Route {
        counter,
        iif: st.ports.slot(entry.iif).unwrap_or(u16::MAX),
        flags,
        oifs,
    }
}

/// Stages a fresh data-plane route for every MFE `which` selects (their OIFs, TTL thresholds
/// or ports' link state changed outside the MGM); returns how many. The caller publishes.
pub fn refresh_entries(
    st: &mut State,
    dp: &mut dyn DataPlane,
    now: Duration,
    which: impl Fn(&mgm::MibMfe) -> bool,
) -> usize {
    let mfes: Vec<mgm::MibMfe> = st.mgm.mfes(now).filter(|m| which(m)).collect();
    for mfe in &mfes {
        let entry = mgm::MfeEntry {
            source: mfe.source,
            group: mfe.group,
            iif: mfe.iif,
            upstream: mfe.upstream,
            oifs: mfe.oifs.clone(),
        };
        let counter = st.indices.alloc((mfe.source, mfe.group), dp);
        let route = route_of(st, &entry, counter);
        dp.insert_entry(Some(mfe.source), mfe.group, route);
    }
    mfes.len()
}

/// Applies the MGM's MFE changes to the table and publishes them; false if there were none.
pub fn apply_changes(st: &mut State, dp: &mut dyn DataPlane, now: Duration) -> bool {
    let changes: Vec<MfeChange> = st.mgm.drain_mfe_changes().collect();
    if changes.is_empty() {
        return false;
    }
    let mut released = Vec::new();
    let mut installed = Vec::new();
    for change in changes {
        match change {
            MfeChange::Install(e) => {
                installed.push((e.source, e.group));
                let counter = st.indices.alloc((e.source, e.group), dp);
                let route = route_of(st, &e, counter);
                dp.insert_entry(Some(e.source), e.group, route);
                st.meta
                    .insert((e.source, e.group), MfeMeta { installed: now });
                st.counters.mfes_installed += 1;
            }
            MfeChange::Update(e) => {
                let counter = st.indices.alloc((e.source, e.group), dp);
                let route = route_of(st, &e, counter);
                dp.insert_entry(Some(e.source), e.group, route);
                st.counters.mfes_updated += 1;
            }
            MfeChange::Delete { source, group } => {
                dp.remove_entry(Some(source), group);
                released.extend(st.indices.release((source, group)));
                st.meta.remove(&(source, group));
                st.counters.mfes_deleted += 1;
            }
        }
    }
    let publication = dp.publish();
    st.latency.published(&installed, publication.at);
    st.indices.retire(released, publication.epoch);
    st.counters.publishes += 1;
    true
}
