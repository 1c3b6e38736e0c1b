//! The group-membership database, indexed by group (then source) and by interface, so that no
//! operation scans the whole table. Each scope also counts records per *component* (the
//! interface's routing owner, else IGMP: gap 5) for the first/second/last alert rules.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use crate::types::{InterfaceId, ProtocolHandle, Scope};

/// One membership record: `adder` made the call; `component` is who it counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub iface: InterfaceId,
    pub adder: ProtocolHandle,
    pub component: ProtocolHandle,
}

/// The records of one scope, kept as small sorted vectors: a scope usually has a handful of
/// interfaces, and a vector costs far less memory than a tree node at 1M scopes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeState {
    /// Sorted by (iface, adder).
    records: Vec<Record>,
    /// Record count per component, sorted by component.
    components: Vec<(ProtocolHandle, u32)>,
}

impl ScopeState {
    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn covers(&self, iface: InterfaceId) -> bool {
        let i = self.records.partition_point(|r| r.iface < iface);
        self.records.get(i).is_some_and(|r| r.iface == iface)
    }

    pub fn has_component(&self, c: ProtocolHandle) -> bool {
        self.components.binary_search_by(|x| x.0.cmp(&c)).is_ok()
    }

    pub fn components(&self) -> impl Iterator<Item = ProtocolHandle> + '_ {
        self.components.iter().map(|c| c.0)
    }

    pub fn interfaces(&self) -> impl Iterator<Item = InterfaceId> + '_ {
        self.records.iter().map(|r| r.iface)
    }
}

/// What an insert or removal changed, for MFE updates and alert rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// The component the record counts for.
    pub component: ProtocolHandle,
    /// The interface gained its first / lost its last record in this scope.
    pub iface_coverage_changed: bool,
    /// The component gained its first / lost its last record in this scope.
    pub component_changed: bool,
}

#[derive(Debug, Default)]
struct GroupState {
    any_source: ScopeState,
    sources: HashMap<Ipv4Addr, ScopeState>,
}

/// The membership database.
#[derive(Debug, Default)]
pub(crate) struct MembershipDb {
    groups: HashMap<Ipv4Addr, GroupState>,
    all: ScopeState,
    by_iface: HashMap<InterfaceId, HashSet<(Scope, ProtocolHandle)>>,
    len: usize,
}

static EMPTY: ScopeState = ScopeState {
    records: Vec::new(),
    components: Vec::new(),
};

impl MembershipDb {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The state of one scope (an empty one if it has no records).
    pub fn scope(&self, scope: Scope) -> &ScopeState {
        match scope {
            Scope::All => &self.all,
            Scope::AnySource { group } => self.groups.get(&group).map_or(&EMPTY, |g| &g.any_source),
            Scope::SourceGroup { source, group } => self
                .groups
                .get(&group)
                .and_then(|g| g.sources.get(&source))
                .unwrap_or(&EMPTY),
        }
    }

    fn scope_mut(&mut self, scope: Scope) -> &mut ScopeState {
        match scope {
            Scope::All => &mut self.all,
            Scope::AnySource { group } => &mut self.groups.entry(group).or_default().any_source,
            Scope::SourceGroup { source, group } => self
                .groups
                .entry(group)
                .or_default()
                .sources
                .entry(source)
                .or_default(),
        }
    }

    /// Drops empty per-group containers so memory follows the live records.
    fn compact(&mut self, scope: Scope) {
        let Some(group) = scope.group() else { return };
        let Some(g) = self.groups.get_mut(&group) else {
            return;
        };
        if let Scope::SourceGroup { source, .. } = scope {
            if g.sources.get(&source).is_some_and(ScopeState::is_empty) {
                g.sources.remove(&source);
            }
        }
        if g.any_source.is_empty() && g.sources.is_empty() {
            self.groups.remove(&group);
        }
    }

    pub fn contains(&self, scope: Scope, iface: InterfaceId, adder: ProtocolHandle) -> bool {
        let s = self.scope(scope);
        s.records
            .binary_search_by(|r| (r.iface, r.adder).cmp(&(iface, adder)))
            .is_ok()
    }

    /// Adds a record; `None` if the same (scope, iface, adder) already exists.
    pub fn insert(&mut self, scope: Scope, rec: Record) -> Option<Change> {
        let s = self.scope_mut(scope);
        let pos = match s
            .records
            .binary_search_by(|r| (r.iface, r.adder).cmp(&(rec.iface, rec.adder)))
        {
            Ok(_) => return None,
            Err(p) => p,
        };
        let iface_new = !s.covers(rec.iface);
        s.records.insert(pos, rec);
        let component_new = match s.components.binary_search_by(|c| c.0.cmp(&rec.component)) {
            Ok(i) => {
                s.components[i].1 += 1;
                false
            }
            Err(i) => {
                s.components.insert(i, (rec.component, 1));
                true
            }
        };
        self.by_iface
            .entry(rec.iface)
            .or_default()
            .insert((scope, rec.adder));
        self.len += 1;
        Some(Change {
            component: rec.component,
            iface_coverage_changed: iface_new,
            component_changed: component_new,
        })
    }

    /// Removes a record; `None` if it does not exist.
    pub fn remove(
        &mut self,
        scope: Scope,
        iface: InterfaceId,
        adder: ProtocolHandle,
    ) -> Option<Change> {
        if !self.contains(scope, iface, adder) {
            return None;
        }
        let s = self.scope_mut(scope);
        let pos = s
            .records
            .binary_search_by(|r| (r.iface, r.adder).cmp(&(iface, adder)))
            .ok()?;
        let rec = s.records.remove(pos);
        let iface_gone = !s.covers(iface);
        let mut component_gone = false;
        if let Ok(i) = s.components.binary_search_by(|c| c.0.cmp(&rec.component)) {
            s.components[i].1 -= 1;
            if s.components[i].1 == 0 {
                s.components.remove(i);
                component_gone = true;
            }
        }
        if let Some(set) = self.by_iface.get_mut(&iface) {
            set.remove(&(scope, adder));
            if set.is_empty() {
                self.by_iface.remove(&iface);
            }
        }
        self.compact(scope);
        self.len -= 1;
        Some(Change {
            component: rec.component,
            iface_coverage_changed: iface_gone,
            component_changed: component_gone,
        })
    }

    /// Whether any (S,G), (*,G) or (*,*) record covers `iface` for traffic S -> G.
    pub fn covered(&self, iface: InterfaceId, source: Ipv4Addr, group: Ipv4Addr) -> bool {
        if self.all.covers(iface) {
            return true;
        }
        let Some(g) = self.groups.get(&group) else {
            return false;
        };
        g.any_source.covers(iface) || g.sources.get(&source).is_some_and(|s| s.covers(iface))
    }

    /// Every interface covered for S -> G, sorted, without repeats.
    pub fn covered_interfaces(&self, source: Ipv4Addr, group: Ipv4Addr) -> Vec<InterfaceId> {
        let mut v: Vec<InterfaceId> = self.all.interfaces().collect();
        if let Some(g) = self.groups.get(&group) {
            v.extend(g.any_source.interfaces());
            if let Some(s) = g.sources.get(&source) {
                v.extend(s.interfaces());
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The records on `iface` as (scope, adder) pairs, in a stable order.
    pub fn records_on(&self, iface: InterfaceId) -> Vec<(Scope, ProtocolHandle)> {
        let mut v: Vec<_> = self
            .by_iface
            .get(&iface)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Every scope that has at least one record, once each (enumeration snapshot).
    pub fn all_scopes(&self) -> Vec<Scope> {
        let mut out = Vec::new();
        if !self.all.is_empty() {
            out.push(Scope::All);
        }
        for (&group, g) in &self.groups {
            if !g.any_source.is_empty() {
                out.push(Scope::AnySource { group });
            }
            out.extend(
                g.sources
                    .keys()
                    .map(|&source| Scope::SourceGroup { source, group }),
            );
        }
        out
    }

    /// Every group with at least one (*,G) or (S,G) record, plus whether (*,*) exists.
    pub fn groups(&self) -> (Vec<Ipv4Addr>, bool) {
        (self.groups.keys().copied().collect(), !self.all.is_empty())
    }
}
