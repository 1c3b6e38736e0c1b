//! Membership changes (`MgmAddGroupMembershipEntry` / `MgmDeleteGroupMembershipEntry`) and the
//! join/prune alert rules of spec §3.3/§3.4 and gaps 5/6.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::client::Host;
use crate::error::MgmError;
use crate::membership::{Change, Record};
use crate::mfe::{group_key, MfeKey};
use crate::mgm::{Mgm, Notice};
use crate::types::{InterfaceId, MembershipFlags, ProtocolHandle, Scope};

impl Mgm {
    /// Checks a membership call; returns (caller is IGMP, the component the record counts for).
    fn check_member_call(
        &self,
        handle: ProtocolHandle,
        iface: InterfaceId,
    ) -> Result<(bool, ProtocolHandle), MgmError> {
        let client = self
            .clients
            .get(&handle)
            .ok_or(MgmError::InvalidParameter)?;
        let own = self.interfaces.get(&iface).ok_or(MgmError::NotFound)?;
        let allowed = if client.igmp {
            own.igmp == Some(handle)
        } else {
            own.routing == Some(handle)
        };
        if !allowed {
            return Err(MgmError::InvalidParameter);
        }
        // Gap 5: IGMP's records on a routing-owned interface count for the routing owner.
        Ok((client.igmp, own.routing.unwrap_or(handle)))
    }

    /// `MgmAddGroupMembershipEntry`.
    ///
    /// With [`MembershipFlags::join`] the record is stored (idempotently: a duplicate is
    /// `Ok` with no alerts, gap 11) and every MFE it covers gains `iface`. With
    /// [`MembershipFlags::forward`] (only for (S,G)) only the existing (S,G) MFE gains `iface`.
    /// Callbacks, delivered in this order before returning: local join to the routing owner
    /// (when the caller is IGMP on a shared interface), join alerts (first/second-component
    /// rules), then MFE-level join alerts (`member_update == false`) to IIF owners.
    ///
    /// Errors: `InvalidParameter` (bad handle, no flags, forward flag on a wildcard, interface
    /// owned by someone else), `NotFound` (unowned interface).
    pub fn add_group_membership(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        handle: ProtocolHandle,
        scope: Scope,
        iface: InterfaceId,
        flags: MembershipFlags,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let (is_igmp, component) = self.check_member_call(handle, iface)?;
        check_flags(scope, flags)?;
        let mut local = Vec::new();
        let mut alerts = Vec::new();
        let mut mfe_level = Vec::new();
        if flags.join {
            if let Some(ch) = self.members.insert(
                scope,
                Record {
                    iface,
                    adder: handle,
                    component,
                },
            ) {
                if ch.iface_coverage_changed {
                    self.refresh_scope(scope, iface, &mut mfe_level);
                }
                if is_igmp {
                    if let Some(owner) = self.interfaces.get(&iface).and_then(|o| o.routing) {
                        local.push(Notice::LocalJoin {
                            to: owner,
                            scope: scope.to_entry(),
                            iface,
                        });
                    }
                }
                self.join_alerts(&*host, scope, handle, ch, &mut alerts);
            }
        }
        if let (true, Scope::SourceGroup { source, group }) = (flags.forward, scope) {
            self.forward_state(group_key(source, group), iface, true, &mut mfe_level);
        }
        self.pending.extend(local);
        self.pending.extend(alerts);
        self.pending.extend(mfe_level);
        self.deliver(host);
        Ok(())
    }

    /// `MgmDeleteGroupMembershipEntry`: the mirror of [`Mgm::add_group_membership`], with local
    /// leave, prune alerts (`member_delete == true`, last/second-to-last rules) and MFE-level
    /// prune alerts for MFEs whose OIF list became empty.
    ///
    /// Errors: `InvalidParameter` (bad handle, flags, or interface owned by someone else),
    /// `NotFound` (unknown interface, or no such record: gap 11).
    pub fn delete_group_membership(
        &mut self,
        now: Duration,
        host: &mut dyn Host,
        handle: ProtocolHandle,
        scope: Scope,
        iface: InterfaceId,
        flags: MembershipFlags,
    ) -> Result<(), MgmError> {
        self.touch(now);
        let (is_igmp, _) = self.check_member_call(handle, iface)?;
        check_flags(scope, flags)?;
        if flags.join && !self.members.contains(scope, iface, handle) {
            return Err(MgmError::NotFound);
        }
        let mut alerts = Vec::new();
        let mut mfe_level = Vec::new();
        if flags.join {
            self.remove_record(
                host,
                scope,
                iface,
                handle,
                is_igmp,
                &mut alerts,
                &mut mfe_level,
            );
        }
        if let (true, Scope::SourceGroup { source, group }) = (flags.forward, scope) {
            self.forward_state(group_key(source, group), iface, false, &mut mfe_level);
        }
        self.pending.extend(alerts);
        self.pending.extend(mfe_level);
        self.deliver(host);
        Ok(())
    }

    /// Removes one record with its consequences; `local_leave` sends the owner a local leave.
    #[allow(clippy::too_many_arguments)]
    fn remove_record(
        &mut self,
        host: &dyn Host,
        scope: Scope,
        iface: InterfaceId,
        adder: ProtocolHandle,
        local_leave: bool,
        alerts: &mut Vec<Notice>,
        mfe_level: &mut Vec<Notice>,
    ) {
        let Some(ch) = self.members.remove(scope, iface, adder) else {
            return;
        };
        if ch.iface_coverage_changed {
            self.refresh_scope(scope, iface, mfe_level);
        }
        if local_leave {
            if let Some(owner) = self.interfaces.get(&iface).and_then(|o| o.routing) {
                if owner != adder {
                    alerts.push(Notice::LocalLeave {
                        to: owner,
                        scope: scope.to_entry(),
                        iface,
                    });
                }
            }
        }
        self.prune_alerts(host, scope, iface, adder, ch, alerts);
    }

    /// Removes the records on `iface` (only `only`'s when given), as though each were deleted.
    pub(crate) fn remove_records_on(
        &mut self,
        host: &dyn Host,
        iface: InterfaceId,
        only: Option<ProtocolHandle>,
        local_leave: bool,
        alerts: &mut Vec<Notice>,
        mfe_level: &mut Vec<Notice>,
    ) {
        for (scope, adder) in self.members.records_on(iface) {
            if only.is_some_and(|o| o != adder) {
                continue;
            }
            self.remove_record(host, scope, iface, adder, local_leave, alerts, mfe_level);
        }
    }

    /// `MGM_FORWARD_STATE_FLAG`: force `iface` in (add) or out (delete) of one MFE's OIF list.
    /// Without an MFE there is nothing to edit and the call is a no-op.
    fn forward_state(&mut self, key: MfeKey, iface: InterfaceId, add: bool, out: &mut Vec<Notice>) {
        let Some(mfe) = self.mfes.get_mut(&key) else {
            return;
        };
        let (put, take) = if add {
            (&mut mfe.forced, &mut mfe.excluded)
        } else {
            (&mut mfe.excluded, &mut mfe.forced)
        };
        take.retain(|&i| i != iface);
        if let Err(pos) = put.binary_search(&iface) {
            put.insert(pos, iface);
        }
        self.refresh_oif(key, iface, out);
        self.reindex(key, iface);
    }

    /// Re-evaluates `iface` in every MFE the scope covers: one MFE for (S,G), the group's MFEs
    /// for (*,G) (a range of the (group, source)-ordered table), every MFE for (*,*).
    pub(crate) fn refresh_scope(
        &mut self,
        scope: Scope,
        iface: InterfaceId,
        out: &mut Vec<Notice>,
    ) {
        let keys: Vec<MfeKey> = match scope {
            Scope::SourceGroup { source, group } => vec![group_key(source, group)],
            Scope::AnySource { group } => self
                .mfes
                .range((group, Ipv4Addr::UNSPECIFIED)..=(group, Ipv4Addr::BROADCAST))
                .map(|(k, _)| *k)
                .collect(),
            Scope::All => self.mfes.keys().copied().collect(),
        };
        for key in keys {
            self.refresh_oif(key, iface, out);
        }
    }

    /// Components with receivers for the scope's group, counting (*,*) for every group (gap 6).
    fn present_components(&self, scope: Scope) -> Vec<ProtocolHandle> {
        let mut v: Vec<ProtocolHandle> = self.members.scope(scope).components().collect();
        if let Scope::AnySource { .. } = scope {
            v.extend(self.members.scope(Scope::All).components());
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether `c` still has receivers for the scope through (*,*).
    fn wildcard_still_covers(&self, scope: Scope, c: ProtocolHandle) -> bool {
        matches!(scope, Scope::AnySource { .. }) && self.members.scope(Scope::All).has_component(c)
    }

    /// Who hears about a membership change by the first/second/last-component rules. `edge` is
    /// the component count that makes the change an edge: 1 after a join (the first arrived),
    /// 0 after a leave (the last left). At `edge` everyone else hears (for (S,G): only the
    /// owner of the IIF toward S); at `edge + 1` (not for (S,G)) only the other component
    /// present does.
    fn alert_recipients(
        &self,
        host: &dyn Host,
        scope: Scope,
        adder: ProtocolHandle,
        ch: Change,
        edge: usize,
    ) -> Vec<ProtocolHandle> {
        if !ch.component_changed || self.wildcard_still_covers(scope, ch.component) {
            return Vec::new();
        }
        let me = [ch.component, adder];
        match scope {
            Scope::SourceGroup { source, .. }
                if self.members.scope(scope).components().count() == edge =>
            {
                self.rpf_owner(host, source)
                    .filter(|o| !me.contains(o))
                    .into_iter()
                    .collect()
            }
            Scope::SourceGroup { .. } => Vec::new(),
            _ => {
                let present = self.present_components(scope);
                if present.len() == edge {
                    self.everyone_but(&me)
                } else if present.len() == edge + 1 {
                    present.into_iter().filter(|p| !me.contains(p)).collect()
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn join_alerts(
        &self,
        host: &dyn Host,
        scope: Scope,
        adder: ProtocolHandle,
        ch: Change,
        out: &mut Vec<Notice>,
    ) {
        let entry = scope.to_entry();
        let to = self.alert_recipients(host, scope, adder, ch, 1);
        out.extend(to.into_iter().map(|to| Notice::Join {
            to,
            scope: entry,
            member_update: true,
        }));
    }

    fn prune_alerts(
        &self,
        host: &dyn Host,
        scope: Scope,
        iface: InterfaceId,
        adder: ProtocolHandle,
        ch: Change,
        out: &mut Vec<Notice>,
    ) {
        let entry = scope.to_entry();
        let to = self.alert_recipients(host, scope, adder, ch, 0);
        out.extend(to.into_iter().map(|to| Notice::Prune {
            to,
            scope: entry,
            iface,
            mfe: None,
        }));
    }
}

fn check_flags(scope: Scope, flags: MembershipFlags) -> Result<(), MgmError> {
    if !flags.join && !flags.forward {
        return Err(MgmError::InvalidParameter);
    }
    if flags.forward && !matches!(scope, Scope::SourceGroup { .. }) {
        return Err(MgmError::InvalidParameter);
    }
    Ok(())
}
