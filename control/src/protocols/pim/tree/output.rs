//! What the machines produce in one call, collected: Join/Prune entries per upstream
//! neighbour and group (RFC 7761 4.5: one message carries many groups), built into messages
//! with the wire emitter at the end of the call, and the outgoing-set events.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::{
    EncodedGroup, EncodedSource, GroupSet, JoinPrune, FIXED_LEN, GROUP_SET_LEN, HEADER_LEN,
    MIN_SPLIT_LEN, SOURCE_LEN,
};

use super::assert_state::OutgoingAssert;
use super::types::{Iface, Neighbor, OutgoingJoinPrune, TreeEvent};

/// Joins and prunes of one group for one neighbour, in a stable order, each entry once.
#[derive(Debug, Default, Clone)]
struct Lists {
    joins: BTreeSet<EncodedSource>,
    prunes: BTreeSet<EncodedSource>,
}

/// The outputs of the machines.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pending: BTreeMap<Neighbor, BTreeMap<Ipv4Addr, Lists>>,
    messages: VecDeque<OutgoingJoinPrune>,
    events: VecDeque<TreeEvent>,
    asserts: VecDeque<OutgoingAssert>,
}

impl Output {
    /// Join `source` (an (S,G), (*,G) or (S,G,rpt) entry) in `group` at `to`.
    pub fn join(&mut self, to: Neighbor, group: Ipv4Addr, source: EncodedSource) {
        let lists = self
            .pending
            .entry(to)
            .or_default()
            .entry(group)
            .or_default();
        // The later decision wins: a prune queued earlier in the same call is withdrawn.
        lists.prunes.remove(&source);
        lists.joins.insert(source);
    }

    /// Prune it.
    pub fn prune(&mut self, to: Neighbor, group: Ipv4Addr, source: EncodedSource) {
        let lists = self
            .pending
            .entry(to)
            .or_default()
            .entry(group)
            .or_default();
        lists.joins.remove(&source);
        lists.prunes.insert(source);
    }

    /// The neighbours a join is queued for.
    pub fn join_neighbors(&self) -> BTreeSet<Neighbor> {
        self.pending
            .iter()
            .filter(|(_, groups)| groups.values().any(|l| !l.joins.is_empty()))
            .map(|(to, _)| *to)
            .collect()
    }

    /// An Assert to send.
    pub fn assert(&mut self, a: OutgoingAssert) {
        self.asserts.push_back(a);
    }

    /// The next Assert to send.
    pub fn poll_assert(&mut self) -> Option<OutgoingAssert> {
        self.asserts.pop_front()
    }

    /// An outgoing-set event.
    pub fn event(&mut self, event: TreeEvent) {
        self.events.push_back(event);
    }

    /// Builds the pending entries into messages: one Join/Prune per neighbour with every
    /// group, split by the emitter under the interface's size limit; `iface_info` gives our
    /// address on an interface and that limit. Returns how many Prune(S,G,rpt) were left out
    /// to keep a (*,G) group set in one message (4.9.5.2).
    pub fn flush(
        &mut self,
        holdtime: Duration,
        iface_info: impl Fn(Iface) -> (Ipv4Addr, usize),
    ) -> usize {
        let holdtime = u16::try_from(holdtime.as_secs()).unwrap_or(u16::MAX - 1);
        let mut left_out = 0;
        for (to, groups) in std::mem::take(&mut self.pending) {
            let (src, max_len) = iface_info(to.iface);
            let limit = max_len.max(MIN_SPLIT_LEN);
            let mut message = JoinPrune {
                upstream_neighbor: to.addr,
                holdtime,
                groups: Vec::new(),
            };
            for (group, lists) in groups {
                left_out += group_sets(group, lists, limit, &mut message.groups);
            }
            if message.groups.is_empty() {
                continue;
            }
            // `split` fails only under MIN_SPLIT_LEN, which the limit is raised to.
            let parts = message
                .split(limit)
                .unwrap_or_else(|_| vec![message.clone()]);
            self.messages
                .extend(parts.into_iter().map(|message| OutgoingJoinPrune {
                    iface: to.iface,
                    src,
                    message,
                }));
        }
        left_out
    }

    /// The next message to send.
    pub fn poll_message(&mut self) -> Option<OutgoingJoinPrune> {
        self.messages.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TreeEvent> {
        self.events.pop_front()
    }
}

/// The group sets of one group. A set with a Join(*,G) keeps every Prune(S,G,rpt) with it in
/// one message (RFC 7761 4.9.5.2: the receiver reads a Join(*,G) without a source's prune as
/// the end of that prune); when they do not fit, the numerically smallest go and the rest are
/// left out (counted, returned). The group's other entries then go in a set of their own.
fn group_sets(group: Ipv4Addr, lists: Lists, limit: usize, out: &mut Vec<GroupSet>) -> usize {
    let set = |joins: Vec<EncodedSource>, prunes: Vec<EncodedSource>| GroupSet {
        group: EncodedGroup::host(group),
        joins,
        prunes,
    };
    let (star, other_joins): (Vec<_>, Vec<_>) = lists.joins.into_iter().partition(|e| e.wildcard);
    let whole = set(
        star.iter().chain(&other_joins).copied().collect(),
        lists.prunes.iter().copied().collect(),
    );
    if whole.is_empty() {
        return 0;
    }
    if star.is_empty() || HEADER_LEN + FIXED_LEN + whole.len() <= limit {
        out.push(whole);
        return 0;
    }
    // BTreeSet order is the address first: numerically smallest first.
    let (mut rpt_prunes, other_prunes): (Vec<_>, Vec<_>) =
        lists.prunes.into_iter().partition(|e| e.rpt && !e.wildcard);
    let room = (limit - HEADER_LEN - FIXED_LEN - GROUP_SET_LEN) / SOURCE_LEN;
    let keep = room.saturating_sub(star.len());
    let left_out = rpt_prunes.len().saturating_sub(keep);
    rpt_prunes.truncate(keep);
    out.push(set(star, rpt_prunes));
    if !other_joins.is_empty() || !other_prunes.is_empty() {
        out.push(set(other_joins, other_prunes));
    }
    left_out
}
