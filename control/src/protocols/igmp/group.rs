//! Per-group router state and the filter-mode transitions of RFC 3376 section 6.4.
//!
//! State is INCLUDE(A) or EXCLUDE(X,Y) (6.2.1): in EXCLUDE mode X are the sources whose timer
//! runs ("requested") and Y those whose timer is 0 ("excluded"). A source's timer is stored as a
//! deadline; `None` is the zero timer of a Y source. Deadlines at or before `now` never remain:
//! the instance fires every due timer before it applies a record.

use dataplane::wire::igmp::RecordType;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Router filter mode of a group (RFC 3376 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FilterMode {
    /// Forward only the listed sources.
    Include,
    /// Forward all sources but the excluded (timer 0) ones.
    Exclude,
}

/// A source set.
pub type Sources = BTreeSet<Ipv4Addr>;

/// Query actions a record asks the querier to take (6.4.2 "Send Q(G)", "Send Q(G,S)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryAction {
    /// Group-specific query.
    Group,
    /// Group-and-source-specific query for these sources (never empty).
    Sources(Sources),
}

/// How many more source records the interface may hold, and how many were refused.
#[derive(Debug)]
pub struct SourceBudget {
    /// Sources that may still be added.
    pub left: usize,
    /// Sources refused because `left` was 0.
    pub refused: u64,
}

/// One group's state on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Filter mode.
    pub mode: FilterMode,
    /// Group timer deadline (running only in EXCLUDE mode).
    pub timer: Option<Duration>,
    /// Sources: deadline of the source timer, `None` for a zero timer (EXCLUDE's Y list).
    pub sources: BTreeMap<Ipv4Addr, Option<Duration>>,
    /// IGMPv1 host present until (7.3.2).
    pub v1_host_until: Option<Duration>,
    /// IGMPv2 host present until (7.3.2).
    pub v2_host_until: Option<Duration>,
    /// Source address of the last report.
    pub last_reporter: Ipv4Addr,
    /// Group-specific query retransmissions left, and when the next is due.
    pub group_query_left: u8,
    /// Per source: group-and-source-specific query retransmissions left.
    pub source_query_left: BTreeMap<Ipv4Addr, u8>,
    /// Next retransmission of the group(-and-source)-specific queries.
    pub query_next: Option<Duration>,
}

impl Group {
    /// A new group in INCLUDE({}) state, as 6.4 starts every group.
    pub fn new(reporter: Ipv4Addr) -> Group {
        Group {
            mode: FilterMode::Include,
            timer: None,
            sources: BTreeMap::new(),
            v1_host_until: None,
            v2_host_until: None,
            last_reporter: reporter,
            group_query_left: 0,
            source_query_left: BTreeMap::new(),
            query_next: None,
        }
    }

    /// Host compatibility mode (7.3.2): 1 or 2 while an older host present timer runs, else 3.
    pub fn compat_mode(&self) -> u8 {
        if self.v1_host_until.is_some() {
            1
        } else if self.v2_host_until.is_some() {
            2
        } else {
            3
        }
    }

    /// Sources with a running timer (A in INCLUDE, X in EXCLUDE).
    pub fn requested(&self) -> Sources {
        self.sources
            .iter()
            .filter(|(_, t)| t.is_some())
            .map(|(s, _)| *s)
            .collect()
    }

    /// Sources with a zero timer (Y in EXCLUDE; empty in INCLUDE).
    pub fn excluded(&self) -> Sources {
        self.sources
            .iter()
            .filter(|(_, t)| t.is_none())
            .map(|(s, _)| *s)
            .collect()
    }

    /// INCLUDE mode with no source left: the group is to be deleted (6.5).
    pub fn is_empty(&self) -> bool {
        self.mode == FilterMode::Include && self.sources.is_empty()
    }

    /// Set the timers of `set` to `deadline` (`None`: zero), adding missing sources within
    /// `budget`.
    fn set_timers(&mut self, set: &Sources, deadline: Option<Duration>, budget: &mut SourceBudget) {
        for s in set {
            if let Some(t) = self.sources.get_mut(s) {
                *t = deadline;
            } else if budget.left > 0 {
                budget.left -= 1;
                self.sources.insert(*s, deadline);
            } else {
                budget.refused += 1;
            }
        }
    }

    fn delete(&mut self, set: &Sources, budget: &mut SourceBudget) {
        for s in set {
            if self.sources.remove(s).is_some() {
                budget.left += 1;
                self.source_query_left.remove(s);
            }
        }
    }

    /// Apply one group record (6.4.1 for IS_IN/IS_EX, 6.4.2 for the others) received at `now`,
    /// where `gmi` is the Group Membership Interval. Returns the queries the table asks for;
    /// the caller sends them only if it is the querier.
    pub fn apply(
        &mut self,
        record: RecordType,
        b: &Sources,
        now: Duration,
        gmi: Duration,
        budget: &mut SourceBudget,
    ) -> Vec<QueryAction> {
        use RecordType::*;
        let gmi_at = Some(now + gmi);
        let mut actions = Vec::new();
        let mut send_q = |set: Sources| {
            if !set.is_empty() {
                actions.push(QueryAction::Sources(set));
            }
        };
        match self.mode {
            FilterMode::Include => {
                let a = self.requested();
                match record {
                    // INCLUDE(A+B); (B)=GMI
                    ModeIsInclude | AllowNewSources => self.set_timers(b, gmi_at, budget),
                    // INCLUDE(A+B); (B)=GMI; Send Q(G,A-B)
                    ChangeToInclude => {
                        self.set_timers(b, gmi_at, budget);
                        send_q(a.difference(b).copied().collect());
                    }
                    // INCLUDE(A); Send Q(G,A*B)
                    BlockOldSources => send_q(a.intersection(b).copied().collect()),
                    // EXCLUDE(A*B,B-A); (B-A)=0; Delete(A-B); Group Timer=GMI
                    // (TO_EX adds Send Q(G,A*B))
                    ModeIsExclude | ChangeToExclude => {
                        self.mode = FilterMode::Exclude;
                        self.set_timers(&b.difference(&a).copied().collect(), None, budget);
                        self.delete(&a.difference(b).copied().collect(), budget);
                        self.timer = gmi_at;
                        if record == ChangeToExclude {
                            send_q(a.intersection(b).copied().collect());
                        }
                    }
                }
            }
            FilterMode::Exclude => {
                let x = self.requested();
                let y = self.excluded();
                let a = b;
                match record {
                    // EXCLUDE(X+A,Y-A); (A)=GMI
                    ModeIsInclude | AllowNewSources => self.set_timers(a, gmi_at, budget),
                    // EXCLUDE(X+A,Y-A); (A)=GMI; Send Q(G,X-A); Send Q(G)
                    ChangeToInclude => {
                        self.set_timers(a, gmi_at, budget);
                        send_q(x.difference(a).copied().collect());
                        actions.push(QueryAction::Group);
                    }
                    // EXCLUDE(X+(A-Y),Y); (A-X-Y)=Group Timer; Send Q(G,A-Y)
                    BlockOldSources => {
                        let new = self.new_sources(a, &x, &y);
                        self.set_timers(&new, self.timer, budget);
                        send_q(a.difference(&y).copied().collect());
                    }
                    // EXCLUDE(A-Y,Y*A); (A-X-Y)=GMI (IS_EX) or Group Timer (TO_EX);
                    // Delete(X-A); Delete(Y-A); Group Timer=GMI; TO_EX: Send Q(G,A-Y)
                    ModeIsExclude | ChangeToExclude => {
                        let new = self.new_sources(a, &x, &y);
                        let at = if record == ModeIsExclude {
                            gmi_at
                        } else {
                            self.timer
                        };
                        self.set_timers(&new, at, budget);
                        self.delete(&x.difference(a).copied().collect(), budget);
                        self.delete(&y.difference(a).copied().collect(), budget);
                        self.timer = gmi_at;
                        if record == ChangeToExclude {
                            send_q(a.difference(&y).copied().collect());
                        }
                    }
                }
            }
        }
        actions
    }

    /// A - X - Y.
    fn new_sources(&self, a: &Sources, x: &Sources, y: &Sources) -> Sources {
        a.iter()
            .filter(|s| !x.contains(s) && !y.contains(s))
            .copied()
            .collect()
    }

    /// Fire the timers due at `now` (6.2.2, 6.5, 7.3.2): INCLUDE sources expire and are
    /// deleted; EXCLUDE sources drop to Y; an expired group timer switches EXCLUDE to INCLUDE
    /// keeping the running sources. Returns the number of source records freed.
    pub fn expire(&mut self, now: Duration) -> usize {
        let due = |t: &Option<Duration>| matches!(t, Some(d) if *d <= now);
        if due(&self.v1_host_until) {
            self.v1_host_until = None;
        }
        if due(&self.v2_host_until) {
            self.v2_host_until = None;
        }
        let before = self.sources.len();
        if self.mode == FilterMode::Exclude && due(&self.timer) {
            self.mode = FilterMode::Include;
            self.timer = None;
            self.sources.retain(|_, t| t.is_some());
        }
        match self.mode {
            FilterMode::Include => self.sources.retain(|_, t| !due(t)),
            FilterMode::Exclude => {
                for t in self.sources.values_mut() {
                    if due(t) {
                        *t = None;
                    }
                }
            }
        }
        let freed = before - self.sources.len();
        self.source_query_left
            .retain(|s, _| self.sources.contains_key(s));
        freed
    }

    /// The earliest deadline of this group's timers.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            self.timer,
            self.v1_host_until,
            self.v2_host_until,
            self.query_next,
        ]
        .into_iter()
        .chain(self.sources.values().copied())
        .flatten()
        .min()
    }
}
