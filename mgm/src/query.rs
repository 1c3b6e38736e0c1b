//! Read side: `MgmGetMfe`, the First/Next walks (plain and stats) with the Windows buffer
//! protocol, group enumeration, and `MgmSetMfe`.

use std::net::Ipv4Addr;
use std::ops::Bound;
use std::time::Duration;

use crate::error::{BatchStatus, MgmError};
use crate::mfe::{group_key, Mfe, MfeChange, MfeKey, MibMfe, MibMfeStats, StatsLayout};
use crate::mgm::{EnumState, Mgm};
use crate::types::{EnumHandle, EnumType, ProtocolHandle, Scope, SourceGroupEntry};

/// One batch of a First/Next walk or a group enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T> {
    /// The records that fit the buffer budget, in order.
    pub entries: Vec<T>,
    /// `MoreData` if records remain, `NoMoreItems` if this batch reached the end.
    pub status: BatchStatus,
}

/// Fills a batch from `items` within `budget` bytes (the Windows buffer protocol, gap 13).
fn fill<T>(
    items: impl Iterator<Item = T>,
    budget: usize,
    size: impl Fn(&T) -> usize,
) -> Result<Batch<T>, MgmError> {
    let mut items = items.peekable();
    let mut entries = Vec::new();
    let mut used = 0;
    while let Some(item) = items.peek() {
        let len = size(item);
        if used + len > budget {
            if entries.is_empty() {
                return Err(MgmError::InsufficientBuffer { needed: len });
            }
            return Ok(Batch {
                entries,
                status: BatchStatus::MoreData,
            });
        }
        used += len;
        if let Some(item) = items.next() {
            entries.push(item);
        }
    }
    Ok(Batch {
        entries,
        status: BatchStatus::NoMoreItems,
    })
}

impl Mgm {
    fn walk_from(&self, after: Option<MfeKey>) -> impl Iterator<Item = (&MfeKey, &Mfe)> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.mfes.range((lower, Bound::Unbounded))
    }

    /// `MgmGetMfe` for (S,G). Errors: `NotFound`.
    pub fn get_mfe(
        &self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> Result<MibMfe, MgmError> {
        let key = group_key(source, group);
        self.mfes
            .get(&key)
            .map(|m| m.mib(key, now))
            .ok_or(MgmError::NotFound)
    }

    /// `MgmGetMfe` with a buffer budget: `InsufficientBuffer { needed: SIZEOF_MIB_MFE(n) }`
    /// when the record does not fit.
    pub fn get_mfe_with_buffer(
        &self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        buffer_size: usize,
    ) -> Result<MibMfe, MgmError> {
        let mib = self.get_mfe(now, source, group)?;
        if mib.encoded_len() > buffer_size {
            return Err(MgmError::InsufficientBuffer {
                needed: mib.encoded_len(),
            });
        }
        Ok(mib)
    }

    /// Every MFE in walk order (group, then source).
    pub fn mfes(&self, now: Duration) -> impl Iterator<Item = MibMfe> + '_ {
        self.mfes.iter().map(move |(k, m)| m.mib(*k, now))
    }

    /// `MgmGetFirstMfe`: as many records as fit `buffer_size` bytes from the start.
    pub fn mfes_first(&self, now: Duration, buffer_size: usize) -> Result<Batch<MibMfe>, MgmError> {
        fill(
            self.walk_from(None).map(|(k, m)| m.mib(*k, now)),
            buffer_size,
            MibMfe::encoded_len,
        )
    }

    /// `MgmGetNextMfe`: resumes after (`source`, `group`), normally the last record returned.
    pub fn mfes_next(
        &self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        buffer_size: usize,
    ) -> Result<Batch<MibMfe>, MgmError> {
        let from = Some(group_key(source, group));
        fill(
            self.walk_from(from).map(|(k, m)| m.mib(*k, now)),
            buffer_size,
            MibMfe::encoded_len,
        )
    }

    /// `MgmGetMfeStats` in `layout`, within `buffer_size` bytes. Errors: `NotFound`,
    /// `InsufficientBuffer`.
    pub fn get_mfe_stats(
        &self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        layout: StatsLayout,
        buffer_size: usize,
    ) -> Result<MibMfeStats, MgmError> {
        let key = group_key(source, group);
        let stats = self
            .mfes
            .get(&key)
            .map(|m| m.stats(key, now, layout))
            .ok_or(MgmError::NotFound)?;
        if stats.encoded_len() > buffer_size {
            return Err(MgmError::InsufficientBuffer {
                needed: stats.encoded_len(),
            });
        }
        Ok(stats)
    }

    /// `MgmGetFirstMfeStats`.
    pub fn mfe_stats_first(
        &self,
        now: Duration,
        layout: StatsLayout,
        buffer_size: usize,
    ) -> Result<Batch<MibMfeStats>, MgmError> {
        fill(
            self.walk_from(None).map(|(k, m)| m.stats(*k, now, layout)),
            buffer_size,
            MibMfeStats::encoded_len,
        )
    }

    /// `MgmGetNextMfeStats`: resumes after (`source`, `group`).
    pub fn mfe_stats_next(
        &self,
        now: Duration,
        source: Ipv4Addr,
        group: Ipv4Addr,
        layout: StatsLayout,
        buffer_size: usize,
    ) -> Result<Batch<MibMfeStats>, MgmError> {
        let from = Some(group_key(source, group));
        fill(
            self.walk_from(from).map(|(k, m)| m.stats(*k, now, layout)),
            buffer_size,
            MibMfeStats::encoded_len,
        )
    }

    /// `MgmSetMfe`: changes the upstream neighbour of MFE (S,G) and pushes an
    /// [`MfeChange::Update`]. Timers are untouched.
    ///
    /// Errors: `InvalidParameter` (bad handle), `NotFound` (no such MFE).
    pub fn set_mfe(
        &mut self,
        now: Duration,
        handle: ProtocolHandle,
        source: Ipv4Addr,
        group: Ipv4Addr,
        upstream: Ipv4Addr,
    ) -> Result<(), MgmError> {
        self.touch(now);
        if !self.clients.contains_key(&handle) {
            return Err(MgmError::InvalidParameter);
        }
        let key = group_key(source, group);
        let mfe = self.mfes.get_mut(&key).ok_or(MgmError::NotFound)?;
        mfe.upstream = upstream;
        let entry = mfe.entry(key);
        self.changes.push_back(MfeChange::Update(entry));
        Ok(())
    }

    /// `MgmGroupEnumerationStart`: snapshots the router-wide membership database.
    /// `AllSources`: every distinct (*,*), (*,G) and (S,G) scope with a record, once each.
    /// `AnySource`: one (*,G)-shaped entry per group with any record (gap 14).
    ///
    /// Errors: `InvalidParameter` (bad handle).
    pub fn group_enumeration_start(
        &mut self,
        handle: ProtocolHandle,
        kind: EnumType,
    ) -> Result<EnumHandle, MgmError> {
        if !self.clients.contains_key(&handle) {
            return Err(MgmError::InvalidParameter);
        }
        let entries = match kind {
            EnumType::AllSources => self
                .members
                .all_scopes()
                .iter()
                .map(Scope::to_entry)
                .collect(),
            EnumType::AnySource => {
                let (groups, _) = self.members.groups();
                groups
                    .into_iter()
                    .map(|group| Scope::AnySource { group }.to_entry())
                    .collect()
            }
        };
        let h = EnumHandle(self.next_enum);
        self.next_enum += 1;
        self.enums.insert(h, EnumState { entries, next: 0 });
        Ok(h)
    }

    /// `MgmGroupEnumerationGetNext`: as many 16-byte entries as fit `buffer_size`.
    ///
    /// Errors: `InvalidParameter` (bad handle), `InsufficientBuffer { needed: 16 }`.
    pub fn group_enumeration_next(
        &mut self,
        h: EnumHandle,
        buffer_size: usize,
    ) -> Result<Batch<SourceGroupEntry>, MgmError> {
        let st = self.enums.get_mut(&h).ok_or(MgmError::InvalidParameter)?;
        let batch = fill(st.entries[st.next..].iter().copied(), buffer_size, |_| {
            SourceGroupEntry::SIZE
        })?;
        st.next += batch.entries.len();
        Ok(batch)
    }

    /// `MgmGroupEnumerationEnd`: the handle is dead afterwards. Errors: `InvalidParameter`.
    pub fn group_enumeration_end(&mut self, h: EnumHandle) -> Result<(), MgmError> {
        self.enums
            .remove(&h)
            .map(|_| ())
            .ok_or(MgmError::InvalidParameter)
    }
}
