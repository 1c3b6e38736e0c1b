//! The data-driven path: misses create MFEs (RPF, creation alerts, install), expiry re-validates
//! or deletes them, and the data plane feeds counters and wrong-interface reports back.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::client::{Host, OifEntry, RpfRequest};
use crate::error::MgmError;
use crate::mfe::{group_key, Mfe, MfeChange, MfeCounters, MfeKey, MfeStatsDelta, OifState};
use crate::mgm::{Mgm, Notice};
use crate::types::{InterfaceId, ProtocolHandle, RouteInfo, SourceGroupEntry};

/// A packet the data plane could not match: "new source or new group" (`MgmNewPacketReceived`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Miss<'a> {
    /// Source S.
    pub source: Ipv4Addr,
    /// Group G.
    pub group: Ipv4Addr,
    /// Interface the packet arrived on.
    pub arrival: InterfaceId,
    /// IP header with options and the start of the payload (given to the RPF callback).
    pub header: &'a [u8],
}

impl Mgm {
    /// Handles a miss: RPF lookup toward S, RPF callback to the owner of the interface the
    /// packet arrived on (gap 1, as revised: the seed page "RPF Alert Callbacks"), OIF list =
    /// covering memberships minus the IIF, one creation alert per protocol owning OIFs, then
    /// install; a negative result also gets an MFE-level prune alert to the IIF owner, whose
    /// timeout becomes the lifetime. No route to S gives a negative MFE with IIF 0 and no RPF
    /// callback (gap 20).
    ///
    /// A miss for an (S,G) that already has an MFE (a race with the data plane) changes
    /// nothing, except that arrival on another interface counts as a wrong-interface packet.
    ///
    /// Errors: `InvalidParameter` if the group is not multicast or the source is.
    pub fn handle_miss(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        miss: &Miss<'_>,
    ) -> Result<(), MgmError> {
        self.touch(now);
        if !miss.group.is_multicast() || miss.source.is_multicast() {
            return Err(MgmError::InvalidParameter);
        }
        let key = group_key(miss.source, miss.group);
        if let Some(mfe) = self.mfes.get(&key) {
            if mfe.iif != miss.arrival {
                return self.handle_wrong_interface(now, host, miss);
            }
            return Ok(());
        }
        self.counters.misses += 1;
        let mfe = self.build_mfe(now, host, key, miss.arrival, miss.header);
        self.install(key, mfe);
        self.deliver(host);
        Ok(())
    }

    /// Runs RPF and creation alerts for `key`, whose data arrived on `arrival`, and returns the
    /// resulting entry.
    ///
    /// The RPF callback goes to the protocol that owns `arrival` (its routing owner where IGMP
    /// co-owns it, IGMP where IGMP alone owns it), with the route the lookup found toward S as
    /// its input; that protocol may move the IIF elsewhere (seed "RPF Alert Callbacks", gap 1).
    /// Arrival on an interface nobody owns: no callback, the route's IIF stands.
    fn build_mfe(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        key: MfeKey,
        arrival: InterfaceId,
        header: &[u8],
    ) -> Mfe {
        let (group, source) = key;
        let (iif, upstream, route) = match host.rpf_lookup(source) {
            None => {
                self.counters.no_route_misses += 1;
                (
                    InterfaceId::NONE,
                    Ipv4Addr::UNSPECIFIED,
                    RouteInfo::default(),
                )
            }
            Some(r) => {
                let mut req = RpfRequest {
                    source,
                    group,
                    iif: r.iif,
                    upstream: r.upstream,
                    route: r.route,
                    header,
                };
                if let Some(owner) = self.owner_of(arrival) {
                    if let Some(c) = host.client(owner) {
                        c.rpf(self, &mut req);
                    }
                }
                (req.iif, req.upstream, req.route)
            }
        };
        let iif_protocol = self
            .owner_of(iif)
            .and_then(|h| self.client_id(h))
            .map_or(0, |c| c.protocol);
        // Gap 20: no route to S gives a negative MFE (no OIFs), whatever the memberships.
        let candidates: Vec<InterfaceId> = if iif == InterfaceId::NONE {
            Vec::new()
        } else {
            self.members
                .covered_interfaces(source, group)
                .into_iter()
                .filter(|&i| i != iif)
                .collect()
        };
        // Group candidates by owning protocol: one creation alert each, with only its OIFs.
        let mut by_owner: BTreeMap<ProtocolHandle, Vec<OifEntry>> = BTreeMap::new();
        for &iface in &candidates {
            let Some(owner) = self.owner_of(iface) else {
                continue;
            };
            by_owner.entry(owner).or_default().push(OifEntry {
                iface,
                igmp: self.igmp_enabled(iface),
                enabled: true,
            });
        }
        let mut excluded = Vec::new();
        for (owner, mut entries) in by_owner {
            if let Some(c) = host.client(owner) {
                c.creation_alert(self, source, group, iif, &mut entries);
            }
            excluded.extend(entries.iter().filter(|e| !e.enabled).map(|e| e.iface));
        }
        excluded.sort_unstable();
        excluded.dedup();
        let oifs = candidates
            .into_iter()
            .filter(|i| excluded.binary_search(i).is_err() && self.interfaces.contains_key(i))
            .map(|iface| OifState {
                iface,
                counters: Default::default(),
            })
            .collect();
        Mfe {
            iif,
            arrival,
            upstream,
            iif_protocol,
            route,
            oifs,
            excluded,
            forced: Vec::new(),
            created: now,
            timeout: self.config.default_lifetime,
            active: false,
            counters: MfeCounters::default(),
            last_wrong_if_callback: None,
        }
    }

    /// Puts a freshly built entry in the table (replacing an old one atomically) and queues the
    /// install/update and, when negative, the MFE-level prune alert.
    fn install(&mut self, key: MfeKey, mut mfe: Mfe) {
        let replaced = if let Some(old) = self.mfes.remove(&key) {
            self.deadlines.remove(&(old.deadline(), key));
            // Counters are cumulative across re-validation; per-OIF ones follow the interface.
            mfe.counters = old.counters;
            for o in &mut mfe.oifs {
                if let Some(prev) = old.oifs.iter().find(|p| p.iface == o.iface) {
                    o.counters = prev.counters;
                }
            }
            for iface in old.referenced() {
                self.reindex(key, iface);
            }
            true
        } else {
            false
        };
        let entry = mfe.entry(key);
        let negative = mfe.oifs.is_empty();
        let iif = mfe.iif;
        self.deadlines.insert((mfe.deadline(), key));
        let refs = mfe.referenced();
        self.mfes.insert(key, mfe);
        for iface in refs {
            self.index_add(iface, key);
        }
        self.changes.push_back(if replaced {
            MfeChange::Update(entry)
        } else {
            MfeChange::Install(entry)
        });
        if negative {
            if let Some(to) = self.owner_of(iif) {
                let scope = SourceGroupEntry::sg(key.1, key.0);
                self.pending.push(Notice::Prune {
                    to,
                    scope,
                    iface: iif,
                    mfe: Some(key),
                });
            }
        }
    }

    /// The earliest MFE expiry, if any: call [`Mgm::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.deadlines.first().map(|d| d.0)
    }

    /// Fires every expiry due at `now`. An MFE that carried traffic since it was (re)created is
    /// re-validated in place (RPF and creation alerts again, then one atomic
    /// [`MfeChange::Update`]), so active flows see no gap; an idle one is deleted (gap 16/17).
    pub fn handle_timeout(&mut self, now: Duration, host: &mut dyn Host) {
        self.touch(now);
        while let Some(&(deadline, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.remove(&(deadline, key));
            let Some(mfe) = self.mfes.get(&key) else {
                continue;
            };
            if mfe.active {
                self.counters.revalidations += 1;
                // The same decision again: the RPF callback goes to the owner of the interface
                // the first packet arrived on, as it did at creation.
                let arrival = mfe.arrival;
                let fresh = self.build_mfe(now, host, key, arrival, &[]);
                self.install(key, fresh);
            } else {
                self.counters.expirations += 1;
                // Put the deadline back so delete_mfe's bookkeeping finds a consistent entry.
                self.deadlines.insert((deadline, key));
                self.delete_mfe(key);
            }
        }
        self.deliver(host);
    }

    /// Re-validates MFE (S,G) now, as at the end of its lifetime (RPF lookup and the RPF
    /// callback again, creation alerts, one atomic [`MfeChange::Update`]): for a host whose
    /// routes toward S changed (a routing protocol moved or withdrew them). The entry's IIF
    /// follows the route; with no route left it becomes negative. Counted in
    /// `revalidations`.
    ///
    /// Errors: `NotFound` when there is no MFE for (S,G).
    pub fn revalidate(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let key = group_key(source, group);
        let arrival = self.mfes.get(&key).ok_or(MgmError::NotFound)?.arrival;
        self.counters.revalidations += 1;
        let fresh = self.build_mfe(now, host, key, arrival, &[]);
        self.install(key, fresh);
        self.deliver(host);
        Ok(())
    }

    /// The data plane saw (S,G) data on an interface other than the MFE's IIF. Always counted
    /// in `ulPktsDifferentIf`; the wrong-interface callback goes to the arrival interface's
    /// owner only when enabled in [`crate::MgmConfig`], at most once per interval per (S,G).
    ///
    /// Errors: `NotFound` when there is no MFE for (S,G).
    pub fn handle_wrong_interface(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        miss: &Miss<'_>,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let key = group_key(miss.source, miss.group);
        let owner = self.owner_of(miss.arrival);
        let config = self.config;
        let mfe = self.mfes.get_mut(&key).ok_or(MgmError::NotFound)?;
        mfe.counters.pkts_different_if += 1;
        self.counters.wrong_if_packets += 1;
        let due = match mfe.last_wrong_if_callback {
            None => true,
            Some(t) => now.saturating_sub(t) >= config.wrong_if_interval,
        };
        if config.wrong_if_callback && due {
            mfe.last_wrong_if_callback = Some(now);
            if let Some(c) = owner.and_then(|o| host.client(o)) {
                self.counters.wrong_if_callbacks += 1;
                c.wrong_interface(self, miss.source, miss.group, miss.arrival, miss.header);
            }
        }
        Ok(())
    }

    /// Adds the data plane's counter increments to MFE (S,G). Incoming packets mark the entry
    /// active, so it is re-validated rather than deleted at expiry.
    ///
    /// Errors: `NotFound` when there is no MFE for (S,G).
    pub fn update_mfe_stats(
        &mut self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        delta: &MfeStatsDelta,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let mfe = self
            .mfes
            .get_mut(&group_key(source, group))
            .ok_or(MgmError::NotFound)?;
        mfe.add_stats(delta);
        Ok(())
    }

    /// Next MFE change for the data plane, oldest first.
    pub fn poll_mfe_change(&mut self) -> Option<MfeChange> {
        self.changes.pop_front()
    }

    /// Drains every queued MFE change, oldest first.
    pub fn drain_mfe_changes(&mut self) -> std::collections::vec_deque::Drain<'_, MfeChange> {
        self.changes.drain(..)
    }
}
