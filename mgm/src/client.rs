//! What the MGM calls out to: protocol callbacks ([`MgmClient`]), the dispatcher that finds a
//! protocol by handle ([`Clients`]), and the multicast RPF table ([`RpfLookup`]).
//!
//! Every callback gets `&Mgm` (read-only) and never a way to mutate the MGM, so the Windows
//! rule "callbacks must not call back into MGM" holds by construction: the borrow checker
//! rejects a re-entrant mutating call. Default methods mean "not interested" (gap 21).

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::types::{InterfaceId, ProtocolHandle, RouteInfo, SourceGroupEntry};
use crate::Mgm;

/// Result of an RPF lookup: where traffic from a source is expected to arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpfRoute {
    /// Expected incoming interface (index and next hop).
    pub iif: InterfaceId,
    /// Upstream neighbour toward the source.
    pub upstream: Ipv4Addr,
    /// The route used.
    pub route: RouteInfo,
}

/// Longest-prefix-match lookup in the multicast (RPF) view of the routing table. The control
/// core implements it over its MRIB; [`crate::MulticastRib`] is a simple ready-made one.
pub trait RpfLookup {
    /// The route toward `source`, or `None` when there is none.
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute>;
}

/// Finds the protocol object behind a registration handle. The control core, which owns both
/// the MGM and the protocol state machines, implements this (or uses [`crate::ClientMap`]).
pub trait Clients {
    /// The client registered under `handle`; `None` skips its callbacks.
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient>;
}

/// Everything a mutating MGM call may need from its caller: clients and the RPF table.
pub trait Host: Clients + RpfLookup {}
impl<T: Clients + RpfLookup + ?Sized> Host for T {}

/// In/out arguments of the RPF callback (`PMGM_RPF_CALLBACK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpfRequest<'a> {
    /// Source of the new flow.
    pub source: Ipv4Addr,
    /// Group of the new flow.
    pub group: Ipv4Addr,
    /// In: the IIF from the route lookup (not necessarily the interface the data arrived on).
    /// Out: the IIF the MFE will use.
    pub iif: InterfaceId,
    /// In: the upstream neighbour from the route lookup. Out: the MFE's `dwUpStrmNgbr`.
    pub upstream: Ipv4Addr,
    /// In/out: the route used (`pbRoute`).
    pub route: RouteInfo,
    /// The IP header (with options) and the start of the payload of the packet that missed.
    pub header: &'a [u8],
}

/// One outgoing interface in a creation alert (`MGM_IF_ENTRY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OifEntry {
    /// The interface.
    pub iface: InterfaceId,
    /// `bIGMP`: IGMP is enabled on this interface.
    pub igmp: bool,
    /// `bIsEnabled` (in/out, preset `true`): clear it to keep the interface out of the MFE.
    pub enabled: bool,
}

/// In/out arguments of the prune alert (`PMGM_PRUNE_ALERT_CALLBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneAlert {
    /// The scope whose receivers went away.
    pub scope: SourceGroupEntry,
    /// The interface on which to stop receiving: the deleted membership's interface for
    /// member deletions, the MFE's IIF for MFE-level alerts.
    pub iface: InterfaceId,
    /// `bMemberDelete`: `true` for a membership deletion, `false` for an MFE whose OIF list
    /// became empty.
    pub member_delete: bool,
    /// `*pdwTimeout` (in/out, preset 900 s): only for `member_delete == false`, the lifetime
    /// of the (negative) MFE. Ignored otherwise.
    pub timeout: Duration,
}

/// The callbacks a protocol implements (`ROUTING_PROTOCOL_CONFIG`). Every method defaults to
/// "not interested": a no-op that keeps the in/out defaults.
///
/// `mgm` is the MGM in a consistent state: callbacks may read it (`get_mfe`, ...) but cannot
/// mutate it. A protocol that must react with a mutation (IGMP re-adding memberships after
/// `enable_igmp`) queues the work and does it after the MGM call returns.
#[allow(unused_variables)]
pub trait MgmClient {
    /// `PMGM_RPF_CALLBACK`: an MFE is being created for data that arrived on an interface this
    /// client owns (its routing owner where IGMP co-owns it). `request` comes in with the route
    /// the lookup found toward S, whose IIF may be another protocol's interface; the client may
    /// rewrite the IIF, the upstream neighbour and the route (e.g. to accept the data where it
    /// arrived). Also called when an active MFE is re-validated at expiry, for the interface
    /// its first packet arrived on.
    fn rpf(&mut self, mgm: &Mgm, request: &mut RpfRequest<'_>) {}

    /// `PMGM_CREATION_ALERT_CALLBACK`: a new MFE will forward out of `oifs` (this client's
    /// interfaces only). Clear `enabled` to keep an interface out.
    fn creation_alert(
        &mut self,
        mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: InterfaceId,
        oifs: &mut [OifEntry],
    ) {
    }

    /// `PMGM_PRUNE_ALERT_CALLBACK`: receivers went away elsewhere; stop pulling the traffic.
    fn prune_alert(&mut self, mgm: &Mgm, alert: &mut PruneAlert) {}

    /// `PMGM_JOIN_ALERT_CALLBACK`: new receivers exist elsewhere; start pulling the traffic.
    /// `member_update` is `true` for a membership add, `false` for an MFE that gained an OIF.
    fn join_alert(&mut self, mgm: &Mgm, scope: SourceGroupEntry, member_update: bool) {}

    /// `PMGM_WRONG_IF_CALLBACK`: (S,G) data arrived on `iface`, which is not the MFE's IIF.
    /// Only called when [`crate::MgmConfig::wrong_if_callback`] is on (Windows never calls it).
    fn wrong_interface(
        &mut self,
        mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: InterfaceId,
        header: &[u8],
    ) {
    }

    /// `PMGM_LOCAL_JOIN_CALLBACK`: IGMP added `scope` on `iface`, which this client owns.
    fn local_join(&mut self, mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {}

    /// `PMGM_LOCAL_LEAVE_CALLBACK`: IGMP deleted `scope` on `iface`, which this client owns.
    fn local_leave(&mut self, mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {}

    /// `PMGM_DISABLE_IGMP_CALLBACK` (IGMP only): ownership of `iface` is changing; IGMP's
    /// memberships there have been removed.
    fn disable_igmp(&mut self, mgm: &Mgm, iface: InterfaceId) {}

    /// `PMGM_ENABLE_IGMP_CALLBACK` (IGMP only): the change is complete. IGMP should re-add its
    /// memberships on `iface` after the MGM call returns (it cannot from inside the callback).
    fn enable_igmp(&mut self, mgm: &Mgm, iface: InterfaceId) {}
}

/// A ready-made [`Clients`] dispatcher: boxed clients keyed by handle.
///
/// The value type defaults to `dyn MgmClient`; a host whose clients are a richer trait object
/// (e.g. a router's `dyn Protocol`, which is an `MgmClient` plus what its control core needs)
/// keeps them in a `ClientMap<dyn Protocol>` and dispatches with [`ClientMap::get_mut`].
pub struct ClientMap<C: ?Sized = dyn MgmClient> {
    clients: std::collections::BTreeMap<ProtocolHandle, Box<C>>,
}

impl<C: ?Sized> Default for ClientMap<C> {
    fn default() -> Self {
        ClientMap {
            clients: std::collections::BTreeMap::new(),
        }
    }
}

impl<C: ?Sized> ClientMap<C> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches the client object for `handle` (replacing any previous one).
    pub fn insert(&mut self, handle: ProtocolHandle, client: Box<C>) {
        self.clients.insert(handle, client);
    }

    /// Detaches and returns the client object for `handle`.
    pub fn remove(&mut self, handle: ProtocolHandle) -> Option<Box<C>> {
        self.clients.remove(&handle)
    }

    /// The client object for `handle`.
    pub fn get(&self, handle: ProtocolHandle) -> Option<&C> {
        self.clients.get(&handle).map(|c| &**c)
    }

    /// The client object for `handle`, mutably.
    pub fn get_mut(&mut self, handle: ProtocolHandle) -> Option<&mut C> {
        self.clients.get_mut(&handle).map(|c| &mut **c)
    }

    /// Every client with its handle, in handle (registration) order.
    pub fn iter(&self) -> impl Iterator<Item = (ProtocolHandle, &C)> {
        self.clients.iter().map(|(h, c)| (*h, &**c))
    }

    /// Every client with its handle, mutably, in handle (registration) order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ProtocolHandle, &mut C)> {
        self.clients.iter_mut().map(|(h, c)| (*h, &mut **c))
    }
}

impl Clients for ClientMap {
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        match self.clients.get_mut(&handle) {
            Some(c) => Some(c.as_mut()),
            None => None,
        }
    }
}
