//! The MGM state: registration and the MFE index helpers shared by the other modules. What
//! calls the protocols back (interface ownership, callback delivery) is in `callbacks.rs`, so
//! this file does not depend on the client interface.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use crate::error::MgmError;
use crate::membership::MembershipDb;
use crate::mfe::{Mfe, MfeChange, MfeKey, OifState};
use crate::types::{
    ClientId, EnumHandle, InterfaceId, ProtocolHandle, SourceGroupEntry, MS_IP_IGMP,
};

/// Tunables. The defaults give Windows parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MgmConfig {
    /// Protocol id that marks a client as IGMP (gap 7). Default [`MS_IP_IGMP`].
    pub igmp_protocol_id: u32,
    /// MFE lifetime from (re)creation, also the preset of the prune alert's timeout. 900 s.
    pub default_lifetime: Duration,
    /// Deliver the wrong-interface callback (Windows never does; gap 19). Default off.
    pub wrong_if_callback: bool,
    /// Minimum time between two wrong-interface callbacks for one (S,G).
    pub wrong_if_interval: Duration,
}

impl Default for MgmConfig {
    fn default() -> Self {
        MgmConfig {
            igmp_protocol_id: MS_IP_IGMP,
            default_lifetime: Duration::from_secs(900),
            wrong_if_callback: false,
            wrong_if_interval: Duration::from_secs(1),
        }
    }
}

/// MGM-wide counters (not per MFE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MgmCounters {
    /// Misses that created an MFE.
    pub misses: u64,
    /// Misses for which the RPF lookup found no route (negative MFE with IIF 0; gap 20).
    pub no_route_misses: u64,
    /// Wrong-interface packets reported.
    pub wrong_if_packets: u64,
    /// Wrong-interface callbacks delivered.
    pub wrong_if_callbacks: u64,
    /// MFEs re-validated in place at expiry.
    pub revalidations: u64,
    /// Idle MFEs deleted at expiry.
    pub expirations: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientState {
    pub id: ClientId,
    pub igmp: bool,
    pub owned: usize,
}

/// Who owns an interface: at most one routing protocol, plus IGMP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ownership {
    pub routing: Option<ProtocolHandle>,
    pub igmp: Option<ProtocolHandle>,
}

impl Ownership {
    /// The owner that gets RPF callbacks (for data arriving here), creation alerts and local
    /// joins: the routing protocol, else IGMP.
    pub fn owner(&self) -> Option<ProtocolHandle> {
        self.routing.or(self.igmp)
    }
}

/// An open group enumeration: a snapshot taken at start and a cursor.
#[derive(Debug, Clone)]
pub(crate) struct EnumState {
    pub(crate) entries: Vec<SourceGroupEntry>,
    pub(crate) next: usize,
}

/// A notification queued during a mutating call and delivered, in order, before it returns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice {
    Join {
        to: ProtocolHandle,
        scope: SourceGroupEntry,
        member_update: bool,
    },
    Prune {
        to: ProtocolHandle,
        scope: SourceGroupEntry,
        iface: InterfaceId,
        mfe: Option<MfeKey>,
    },
    LocalJoin {
        to: ProtocolHandle,
        scope: SourceGroupEntry,
        iface: InterfaceId,
    },
    LocalLeave {
        to: ProtocolHandle,
        scope: SourceGroupEntry,
        iface: InterfaceId,
    },
    DisableIgmp {
        to: ProtocolHandle,
        iface: InterfaceId,
    },
    EnableIgmp {
        to: ProtocolHandle,
        iface: InterfaceId,
    },
}

/// The Multicast Group Manager. See the crate documentation for the calling model.
#[derive(Debug)]
pub struct Mgm {
    pub(crate) config: MgmConfig,
    pub(crate) now: Duration,
    next_handle: u64,
    pub(crate) clients: BTreeMap<ProtocolHandle, ClientState>,
    client_ids: HashMap<ClientId, ProtocolHandle>,
    pub(crate) interfaces: HashMap<InterfaceId, Ownership>,
    pub(crate) members: MembershipDb,
    pub(crate) mfes: BTreeMap<MfeKey, Mfe>,
    /// MFEs that mention an interface (IIF, OIF, excluded or forced): release touches only these.
    pub(crate) mfes_by_iface: HashMap<InterfaceId, HashSet<MfeKey>>,
    pub(crate) deadlines: BTreeSet<(Duration, MfeKey)>,
    pub(crate) changes: VecDeque<MfeChange>,
    pub(crate) pending: Vec<Notice>,
    pub(crate) enums: HashMap<EnumHandle, EnumState>,
    pub(crate) next_enum: u64,
    pub(crate) counters: MgmCounters,
}

impl Default for Mgm {
    fn default() -> Self {
        Mgm::new(MgmConfig::default())
    }
}

impl Mgm {
    /// An empty MGM.
    pub fn new(config: MgmConfig) -> Self {
        Mgm {
            config,
            now: Duration::ZERO,
            next_handle: 1,
            clients: BTreeMap::new(),
            client_ids: HashMap::new(),
            interfaces: HashMap::new(),
            members: MembershipDb::default(),
            mfes: BTreeMap::new(),
            mfes_by_iface: HashMap::new(),
            deadlines: BTreeSet::new(),
            changes: VecDeque::new(),
            pending: Vec::new(),
            enums: HashMap::new(),
            next_enum: 1,
            counters: MgmCounters::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MgmConfig {
        &self.config
    }

    /// The latest `now` any input carried (what callbacks may pass to read calls).
    pub fn now(&self) -> Duration {
        self.now
    }

    /// MGM-wide counters.
    pub fn counters(&self) -> &MgmCounters {
        &self.counters
    }

    /// Number of membership records.
    pub fn membership_count(&self) -> usize {
        self.members.len()
    }

    /// Number of MFEs.
    pub fn mfe_count(&self) -> usize {
        self.mfes.len()
    }

    pub(crate) fn touch(&mut self, now: Duration) {
        // Inputs may come with equal or (from a sloppy caller) older times; never go back.
        self.now = self.now.max(now);
    }

    /// `MgmRegisterMProtocol`: registers the client `id`. No callbacks.
    ///
    /// Errors: `AlreadyExists` if the (protocol, component) pair is registered.
    pub fn register_protocol(
        &mut self,
        now: Duration,
        id: ClientId,
    ) -> Result<ProtocolHandle, MgmError> {
        self.touch(now);
        if self.client_ids.contains_key(&id) {
            return Err(MgmError::AlreadyExists);
        }
        let handle = ProtocolHandle(self.next_handle);
        self.next_handle += 1;
        let igmp = id.protocol == self.config.igmp_protocol_id;
        self.clients
            .insert(handle, ClientState { id, igmp, owned: 0 });
        self.client_ids.insert(id, handle);
        Ok(handle)
    }

    /// `MgmDeRegisterMProtocol`: the handle is dead afterwards. No callbacks.
    ///
    /// Errors: `InvalidParameter` (bad handle), `CanNotComplete` (still owns interfaces).
    pub fn deregister_protocol(
        &mut self,
        now: Duration,
        handle: ProtocolHandle,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let c = self
            .clients
            .get(&handle)
            .ok_or(MgmError::InvalidParameter)?;
        if c.owned > 0 {
            return Err(MgmError::CanNotComplete);
        }
        let id = c.id;
        self.clients.remove(&handle);
        self.client_ids.remove(&id);
        Ok(())
    }

    /// The (protocol, component) of a live handle.
    pub fn client_id(&self, handle: ProtocolHandle) -> Option<ClientId> {
        self.clients.get(&handle).map(|c| c.id)
    }

    /// Whether `handle` is registered as IGMP.
    pub fn is_igmp(&self, handle: ProtocolHandle) -> bool {
        self.clients.get(&handle).is_some_and(|c| c.igmp)
    }

    /// `MgmGetProtocolOnInterface`: the owner of `iface`; the routing protocol when IGMP shares
    /// it (gap 9). Errors: `NotFound` for an unowned interface.
    pub fn get_protocol_on_interface(&self, iface: InterfaceId) -> Result<ClientId, MgmError> {
        let owner = self
            .interfaces
            .get(&iface)
            .and_then(Ownership::owner)
            .ok_or(MgmError::NotFound)?;
        self.client_id(owner).ok_or(MgmError::NotFound)
    }

    /// Whether IGMP is enabled on `iface`.
    pub fn igmp_enabled(&self, iface: InterfaceId) -> bool {
        self.interfaces
            .get(&iface)
            .is_some_and(|o| o.igmp.is_some())
    }

    pub(crate) fn owner_of(&self, iface: InterfaceId) -> Option<ProtocolHandle> {
        self.interfaces.get(&iface).and_then(Ownership::owner)
    }

    pub(crate) fn set_lifetime(&mut self, key: MfeKey, timeout: Duration) {
        let Some(mfe) = self.mfes.get_mut(&key) else {
            return;
        };
        self.deadlines.remove(&(mfe.deadline(), key));
        mfe.timeout = timeout;
        self.deadlines.insert((mfe.deadline(), key));
    }

    pub(crate) fn index_add(&mut self, iface: InterfaceId, key: MfeKey) {
        self.mfes_by_iface.entry(iface).or_default().insert(key);
    }

    /// Drops `key` from `iface`'s index entry if the MFE no longer mentions the interface.
    pub(crate) fn reindex(&mut self, key: MfeKey, iface: InterfaceId) {
        let referenced = self.mfes.get(&key).is_some_and(|m| m.references(iface));
        if referenced {
            self.index_add(iface, key);
        } else if let Some(set) = self.mfes_by_iface.get_mut(&iface) {
            set.remove(&key);
            if set.is_empty() {
                self.mfes_by_iface.remove(&iface);
            }
        }
    }

    pub(crate) fn delete_mfe(&mut self, key: MfeKey) {
        let Some(mfe) = self.mfes.remove(&key) else {
            return;
        };
        self.deadlines.remove(&(mfe.deadline(), key));
        for iface in mfe.referenced() {
            self.reindex(key, iface);
        }
        self.changes.push_back(MfeChange::Delete {
            source: key.1,
            group: key.0,
        });
    }

    /// Re-evaluates whether `iface` belongs in the OIF list of MFE `key`, pushing an update and
    /// queueing the MFE-level join (gained) or prune (became empty) alert to the IIF owner.
    pub(crate) fn refresh_oif(&mut self, key: MfeKey, iface: InterfaceId, out: &mut Vec<Notice>) {
        let Some(mfe) = self.mfes.get(&key) else {
            return;
        };
        // Gap 20: an MFE with no route to its source (IIF 0) stays negative.
        let want = iface != mfe.iif
            && mfe.iif != InterfaceId::NONE
            && self.interfaces.contains_key(&iface)
            && ((self.members.covered(iface, key.1, key.0)
                && mfe.excluded.binary_search(&iface).is_err())
                || mfe.forced.binary_search(&iface).is_ok());
        if want == mfe.has_oif(iface) {
            return;
        }
        let owner = self.owner_of(mfe.iif);
        let Some(mfe) = self.mfes.get_mut(&key) else {
            return;
        };
        match mfe.oifs.binary_search_by(|o| o.iface.cmp(&iface)) {
            Err(pos) if want => mfe.oifs.insert(
                pos,
                OifState {
                    iface,
                    counters: Default::default(),
                },
            ),
            Ok(pos) if !want => {
                mfe.oifs.remove(pos);
            }
            _ => {}
        }
        let empty = mfe.oifs.is_empty();
        let iif = mfe.iif;
        self.changes.push_back(MfeChange::Update(mfe.entry(key)));
        self.reindex(key, iface);
        let scope = SourceGroupEntry::sg(key.1, key.0);
        if let Some(to) = owner {
            if want {
                out.push(Notice::Join {
                    to,
                    scope,
                    member_update: false,
                });
            } else if empty {
                out.push(Notice::Prune {
                    to,
                    scope,
                    iface: iif,
                    mfe: Some(key),
                });
            }
        }
    }

    /// Every registered client except the listed ones, in handle order.
    pub(crate) fn everyone_but(&self, except: &[ProtocolHandle]) -> Vec<ProtocolHandle> {
        self.clients
            .keys()
            .copied()
            .filter(|h| !except.contains(h))
            .collect()
    }
}
