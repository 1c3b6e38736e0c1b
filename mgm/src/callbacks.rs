//! The MGM methods that reach the protocols through the [`Host`]: interface ownership (which
//! brackets IGMP's disable and enable callbacks) and the delivery of queued notifications.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::client::{Host, PruneAlert};
use crate::error::MgmError;
use crate::mfe::MfeKey;
use crate::mgm::{Mgm, Notice};
use crate::types::{InterfaceId, ProtocolHandle};

impl Mgm {
    /// `MgmTakeInterfaceOwnership`.
    ///
    /// A routing protocol taking an interface where IGMP is enabled brackets the change with
    /// IGMP's disable and enable callbacks (both before this returns); IGMP's memberships there
    /// are removed (with the alerts that implies) so that its re-adds, which it makes after
    /// this call returns, count for the new owner and produce local joins.
    ///
    /// Errors: `InvalidParameter` (bad handle), `AlreadyExists` (another routing protocol owns
    /// it, or the caller already does).
    pub fn take_interface_ownership(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        handle: ProtocolHandle,
        iface: InterfaceId,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let client = *self
            .clients
            .get(&handle)
            .ok_or(MgmError::InvalidParameter)?;
        let own = self.interfaces.get(&iface).copied().unwrap_or_default();
        if client.igmp {
            if own.igmp.is_some() {
                return Err(MgmError::AlreadyExists);
            }
            self.interfaces.entry(iface).or_default().igmp = Some(handle);
        } else {
            if own.routing.is_some() {
                return Err(MgmError::AlreadyExists);
            }
            if let Some(igmp) = own.igmp {
                self.pending.push(Notice::DisableIgmp { to: igmp, iface });
                let mut alerts = Vec::new();
                let mut mfe_level = Vec::new();
                self.remove_records_on(host, iface, Some(igmp), false, &mut alerts, &mut mfe_level);
                self.pending.extend(alerts);
                self.pending.extend(mfe_level);
                self.interfaces.entry(iface).or_default().routing = Some(handle);
                self.pending.push(Notice::EnableIgmp { to: igmp, iface });
            } else {
                self.interfaces.entry(iface).or_default().routing = Some(handle);
            }
        }
        if let Some(c) = self.clients.get_mut(&handle) {
            c.owned += 1;
        }
        self.deliver(host);
        Ok(())
    }

    /// `MgmReleaseInterfaceOwnership`.
    ///
    /// Removes the memberships the interface's owners hold there (with prune alerts as if each
    /// were deleted). When the routing owner or the sole owner releases, every MFE whose IIF is
    /// the interface is deleted and the interface leaves every OIF list. IGMP releasing an
    /// interface it shares only loses its own records (the owner gets local leaves). A routing
    /// owner releasing an interface IGMP shares brackets this with IGMP's disable and enable.
    ///
    /// Errors: `InvalidParameter` (bad handle, or the caller does not own the interface).
    pub fn release_interface_ownership(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        handle: ProtocolHandle,
        iface: InterfaceId,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let client = *self
            .clients
            .get(&handle)
            .ok_or(MgmError::InvalidParameter)?;
        let own = self
            .interfaces
            .get(&iface)
            .copied()
            .ok_or(MgmError::InvalidParameter)?;
        let mut alerts = Vec::new();
        let mut mfe_level = Vec::new();
        let mut enable = None;
        if client.igmp && own.igmp == Some(handle) && own.routing.is_some() {
            // IGMP leaves a shared interface: only its records go; the owner hears local leaves.
            self.remove_records_on(host, iface, Some(handle), true, &mut alerts, &mut mfe_level);
            if let Some(o) = self.interfaces.get_mut(&iface) {
                o.igmp = None;
            }
        } else if !client.igmp && own.routing == Some(handle) {
            if let Some(igmp) = own.igmp {
                self.pending.push(Notice::DisableIgmp { to: igmp, iface });
                enable = Some(Notice::EnableIgmp { to: igmp, iface });
            }
            self.remove_records_on(host, iface, None, false, &mut alerts, &mut mfe_level);
            match self.interfaces.get_mut(&iface) {
                Some(o) if o.igmp.is_some() => o.routing = None,
                _ => {
                    self.interfaces.remove(&iface);
                }
            }
            self.purge_interface(iface, &mut mfe_level);
        } else if client.igmp && own.igmp == Some(handle) {
            self.remove_records_on(host, iface, None, false, &mut alerts, &mut mfe_level);
            self.interfaces.remove(&iface);
            self.purge_interface(iface, &mut mfe_level);
        } else {
            return Err(MgmError::InvalidParameter);
        }
        if let Some(c) = self.clients.get_mut(&handle) {
            c.owned = c.owned.saturating_sub(1);
        }
        self.pending.extend(alerts);
        self.pending.extend(mfe_level);
        self.pending.extend(enable);
        self.deliver(host);
        Ok(())
    }

    /// Deletes MFEs whose IIF is `iface` and removes `iface` from the rest: touches only the
    /// MFEs that mention it.
    fn purge_interface(&mut self, iface: InterfaceId, mfe_level: &mut Vec<crate::mgm::Notice>) {
        let mut keys: Vec<MfeKey> = self
            .mfes_by_iface
            .get(&iface)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        keys.sort_unstable();
        for key in keys {
            let Some(mfe) = self.mfes.get_mut(&key) else {
                continue;
            };
            if mfe.iif == iface {
                self.delete_mfe(key);
                continue;
            }
            mfe.excluded.retain(|&i| i != iface);
            mfe.forced.retain(|&i| i != iface);
            self.refresh_oif(key, iface, mfe_level);
            self.reindex(key, iface);
        }
    }

    /// Delivers queued notifications in order. Callbacks get `&Mgm`, so they can read but
    /// never mutate; the only influence back is the prune alert's timeout.
    pub(crate) fn deliver(&mut self, host: &mut dyn Host) {
        let notices = std::mem::take(&mut self.pending);
        for n in notices {
            match n {
                Notice::Join {
                    to,
                    scope,
                    member_update,
                } => {
                    if let Some(c) = host.client(to) {
                        c.join_alert(self, scope, member_update);
                    }
                }
                Notice::Prune {
                    to,
                    scope,
                    iface,
                    mfe,
                } => {
                    if let Some(key) = mfe {
                        // An MFE deleted or refilled later in the same call needs no prune.
                        if !self.mfes.get(&key).is_some_and(|m| m.oifs.is_empty()) {
                            continue;
                        }
                    }
                    let mut alert = PruneAlert {
                        scope,
                        iface,
                        member_delete: mfe.is_none(),
                        timeout: self.config.default_lifetime,
                    };
                    if let Some(c) = host.client(to) {
                        c.prune_alert(self, &mut alert);
                    }
                    if let Some(key) = mfe {
                        self.set_lifetime(key, alert.timeout);
                    }
                }
                Notice::LocalJoin { to, scope, iface } => {
                    if let Some(c) = host.client(to) {
                        c.local_join(self, scope, iface);
                    }
                }
                Notice::LocalLeave { to, scope, iface } => {
                    if let Some(c) = host.client(to) {
                        c.local_leave(self, scope, iface);
                    }
                }
                Notice::DisableIgmp { to, iface } => {
                    if let Some(c) = host.client(to) {
                        c.disable_igmp(self, iface);
                    }
                }
                Notice::EnableIgmp { to, iface } => {
                    if let Some(c) = host.client(to) {
                        c.enable_igmp(self, iface);
                    }
                }
            }
        }
    }

    /// The owner of the interface the route toward `source` uses (IIF owner toward S).
    pub(crate) fn rpf_owner(&self, host: &dyn Host, source: Ipv4Addr) -> Option<ProtocolHandle> {
        host.rpf_lookup(source).and_then(|r| self.owner_of(r.iif))
    }
}
