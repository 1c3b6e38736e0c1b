//! The reports the proxy sends upstream as a host: the records of RFC 3376 5.1 and 5.2, built
//! from its database, split to fit one datagram each.

use dataplane::wire::igmp::{self, GroupRecordRepr, RecordType};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The aggregate membership of one group: `any` is EXCLUDE({}) (some downstream wants every
/// source); otherwise INCLUDE(`sources`). Empty (not `any`, no sources) is "not a member".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Any source wanted.
    pub any: bool,
    /// Sources wanted (used while `any` is false).
    pub sources: BTreeSet<Ipv4Addr>,
}

impl Membership {
    /// Not a member at all: INCLUDE({}).
    pub fn is_empty(&self) -> bool {
        !self.any && self.sources.is_empty()
    }
}

/// The state-change records from `base` to `now` (RFC 3376 5.1): a filter-mode change is one
/// TO_IN/TO_EX record, a source-list change ALLOW and/or BLOCK records.
pub fn state_change(group: Ipv4Addr, base: &Membership, now: &Membership) -> Vec<GroupRecordRepr> {
    let rec = |record_type, sources: Vec<Ipv4Addr>| GroupRecordRepr {
        record_type,
        group,
        sources,
    };
    match (base.any, now.any) {
        (false, true) => vec![rec(RecordType::ChangeToExclude, Vec::new())],
        (true, false) => vec![rec(
            RecordType::ChangeToInclude,
            now.sources.iter().copied().collect(),
        )],
        (true, true) => Vec::new(),
        (false, false) => {
            let allow: Vec<Ipv4Addr> = now.sources.difference(&base.sources).copied().collect();
            let block: Vec<Ipv4Addr> = base.sources.difference(&now.sources).copied().collect();
            let mut out = Vec::new();
            if !allow.is_empty() {
                out.push(rec(RecordType::AllowNewSources, allow));
            }
            if !block.is_empty() {
                out.push(rec(RecordType::BlockOldSources, block));
            }
            out
        }
    }
}

/// The current-state record of a group (RFC 3376 5.2): IS_EX({}) or IS_IN(sources); for a
/// group-and-source-specific query (`queried`), IS_IN of the queried sources we want.
pub fn current_state(
    group: Ipv4Addr,
    m: &Membership,
    queried: Option<&BTreeSet<Ipv4Addr>>,
) -> GroupRecordRepr {
    let (record_type, sources) = match (queried, m.any) {
        (None, true) => (RecordType::ModeIsExclude, Vec::new()),
        (None, false) => (
            RecordType::ModeIsInclude,
            m.sources.iter().copied().collect(),
        ),
        (Some(q), true) => (RecordType::ModeIsInclude, q.iter().copied().collect()),
        (Some(q), false) => (
            RecordType::ModeIsInclude,
            q.intersection(&m.sources).copied().collect(),
        ),
    };
    GroupRecordRepr {
        record_type,
        group,
        sources,
    }
}

/// Splits records into reports whose IGMP message fits `max_len` bytes. A record too large for
/// one report on its own has its source list cut (a proxy with more than ~360 sources in one
/// group reports the first ones).
pub fn split(records: Vec<GroupRecordRepr>, max_len: usize) -> Vec<Vec<GroupRecordRepr>> {
    let room = max_len.saturating_sub(igmp::HEADER_LEN);
    let max_sources = room.saturating_sub(igmp::GROUP_RECORD_LEN) / 4;
    let mut out: Vec<Vec<GroupRecordRepr>> = Vec::new();
    let mut used = room; // forces a first report
    for mut r in records {
        // A group-and-source answer with no source left says nothing (RFC 3376 5.2).
        if r.record_type == RecordType::ModeIsInclude && r.sources.is_empty() {
            continue;
        }
        r.sources.truncate(max_sources);
        let len = igmp::GROUP_RECORD_LEN + 4 * r.sources.len();
        if used + len > room {
            out.push(Vec::new());
            used = 0;
        }
        used += len;
        if let Some(last) = out.last_mut() {
            last.push(r);
        }
    }
    out
}
