//! One `process_*` per input: queries (querier election, RFC 3376 6.6.1/6.6.2, RFC 2236
//! section 3), reports and leaves (6.4 through [`Group::apply`], 7.3.2 compatibility, RFC 4604
//! SSM rules), and timers (6.5, 6.6.3 retransmissions, general queries).

use super::group::{FilterMode, Group, QueryAction, SourceBudget, Sources};
use super::instance::Igmp;
use super::interface::{emit_diff, Interface};
use super::packet::{self, routable_group, Query, Report};
use crate::interface::Interface as Iface;
use crate::protocols::shared::Transmit;
use dataplane::wire::igmp::{self, RecordType};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Duration;

impl Igmp {
    /// Fire every timer due at `now`: general queries, the other querier present timer,
    /// group-specific query retransmissions, and group, source and older-host timers (with the
    /// Leave events their expiry causes).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.deadline.set(None);
        let ids: Vec<Iface> = self.interfaces.keys().copied().collect();
        for id in ids {
            let Some(mut i) = self.interfaces.remove(&id) else {
                continue;
            };
            // 6.6.2 / RFC 2236 section 7: the other querier went quiet, we take over at once.
            if i.other_querier_until.is_some_and(|t| t <= now) {
                i.other_querier_until = None;
                if let Some((robustness, qi)) = i.own_timers.take() {
                    i.cfg.robustness = robustness;
                    i.cfg.query_interval = qi;
                }
                i.querier = i.address;
                i.general_query_next = Some(now);
                i.startup_left = 0;
            }
            self.general_query_due(now, &mut i);
            let due: Vec<Ipv4Addr> = i
                .groups
                .iter()
                .filter(|(_, g)| g.next_deadline().is_some_and(|t| t <= now))
                .map(|(a, _)| *a)
                .collect();
            for group in due {
                let before = i.forwarding(group);
                if i.groups[&group].query_next.is_some_and(|t| t <= now) {
                    send_specific_queries(&mut self.transmits, now, &mut i, group);
                }
                if let Some(g) = i.groups.get_mut(&group) {
                    let freed = g.expire(now);
                    i.source_count -= freed;
                }
                i.drop_if_empty(group);
                emit_diff(&mut self.events, id, group, &before, &i.forwarding(group));
            }
            self.interfaces.insert(id, i);
        }
    }

    /// A query from `src` (already validated).
    pub(super) fn process_query(&mut self, now: Duration, iface: Iface, src: Ipv4Addr, q: Query) {
        let Some(i) = self.interfaces.get_mut(&iface) else {
            return;
        };
        i.counters.queries_received += 1;
        if q.version < i.cfg.version {
            // 7.3.1: an older querier on the link needs the administrator to lower our version.
            i.counters.older_version_queries += 1;
        }
        // Election: the lowest address is querier (6.6.2, RFC 2236 section 3). A query from
        // the current other querier refreshes its timer.
        if src < i.querier || (src == i.querier && !i.is_querier()) {
            // 4.1.6 / 4.1.7: a non-querier adopts the querier's QRV and QQI (unless zero), so
            // its timers (group membership, other querier present) agree with the querier's.
            if q.version == 3 {
                let own = (i.cfg.robustness, i.cfg.query_interval);
                let qqi = Duration::from_secs(u64::from(igmp::decode_code(q.qqic)));
                if q.qrv != 0 {
                    i.cfg.robustness = q.qrv;
                }
                if q.qqic != 0 && qqi > i.cfg.query_response_interval {
                    i.cfg.query_interval = qqi;
                }
                if own != (i.cfg.robustness, i.cfg.query_interval) {
                    i.own_timers.get_or_insert(own);
                }
            }
            i.querier = src;
            i.other_querier_until = Some(now + i.cfg.other_querier_present_interval());
            i.general_query_next = None;
            i.startup_left = 0;
        }
        // 6.6.1: a non-querier lowers its timers on the querier's specific queries unless the
        // S flag says not to. (Our LMQT stands in for the querier's advertised one.)
        if i.is_querier() || src != i.querier || q.suppress || q.group.is_unspecified() {
            return;
        }
        let lmqt = Some(now + i.cfg.last_member_query_time());
        let Some(g) = i.groups.get_mut(&q.group) else {
            return;
        };
        if q.sources.is_empty() {
            if g.mode == FilterMode::Exclude && g.timer > lmqt {
                g.timer = lmqt;
            }
        } else {
            for s in &q.sources {
                if let Some(t) = g.sources.get_mut(s) {
                    if t.is_some() && *t > lmqt {
                        *t = lmqt;
                    }
                }
            }
        }
    }

    /// A report or leave from `src` (already validated).
    pub(super) fn process_report(&mut self, now: Duration, iface: Iface, src: Ipv4Addr, r: Report) {
        let Some(mut i) = self.interfaces.remove(&iface) else {
            return;
        };
        let ohpi = i.cfg.group_membership_interval();
        match r {
            Report::Old { version, group } => {
                if version == 1 {
                    i.counters.v1_reports += 1;
                } else {
                    i.counters.v2_reports += 1;
                }
                // 7.3.2: a v1/v2 report is IS_EX({}), and starts the older host present timer.
                self.apply_record(now, &mut i, src, group, RecordType::ModeIsExclude, &[]);
                if let Some(g) = i.groups.get_mut(&group) {
                    let until = Some(now + ohpi);
                    if version == 1 {
                        g.v1_host_until = until;
                    } else {
                        g.v2_host_until = until;
                    }
                }
            }
            Report::Leave { group } => {
                i.counters.leaves += 1;
                match i.groups.get(&group).map(Group::compat_mode) {
                    // 7.3.2: v1 hosts present, leaves are ignored (a v1 host would not send one,
                    // and another host may still be there without its reports suppressed).
                    Some(1) | None => i.counters.records_ignored += 1,
                    Some(_) if i.cfg.immediate_leave => {
                        let before = i.forwarding(group);
                        i.remove_group(group);
                        emit_diff(
                            &mut self.events,
                            iface,
                            group,
                            &before,
                            &i.forwarding(group),
                        );
                    }
                    Some(_) => {
                        let rt = RecordType::ChangeToInclude;
                        self.apply_record(now, &mut i, src, group, rt, &[]);
                    }
                }
            }
            Report::V3 { records } => {
                i.counters.v3_reports += 1;
                for rec in records {
                    let (group, rt) = (rec.group, rec.record_type);
                    if !routable_group(group) {
                        i.counters.records_ignored += 1;
                        continue;
                    }
                    // RFC 4604 2.2.4: EXCLUDE records for SSM groups are ignored.
                    let exclude =
                        matches!(rt, RecordType::ModeIsExclude | RecordType::ChangeToExclude);
                    if exclude && self.is_ssm(group) {
                        i.counters.ssm_exclude_ignored += 1;
                        continue;
                    }
                    if i.cfg.immediate_leave
                        && rt == RecordType::ChangeToInclude
                        && rec.sources.is_empty()
                        && i.groups
                            .get(&group)
                            .is_some_and(|g| g.mode == FilterMode::Exclude && g.compat_mode() == 3)
                    {
                        let before = i.forwarding(group);
                        i.remove_group(group);
                        emit_diff(
                            &mut self.events,
                            iface,
                            group,
                            &before,
                            &i.forwarding(group),
                        );
                        continue;
                    }
                    let compat = i.groups.get(&group).map_or(3, Group::compat_mode);
                    match packet::compat_record(compat, rt, &rec.sources) {
                        Some((rt, sources)) => {
                            self.apply_record(now, &mut i, src, group, rt, &sources)
                        }
                        None => i.counters.records_ignored += 1,
                    }
                }
            }
        }
        self.interfaces.insert(iface, i);
    }

    /// Apply one record to `group` on `i` (creating it within `max_groups`), queue the events
    /// and, as querier, the queries it calls for.
    fn apply_record(
        &mut self,
        now: Duration,
        i: &mut Interface,
        src: Ipv4Addr,
        group: Ipv4Addr,
        rt: RecordType,
        sources: &[Ipv4Addr],
    ) {
        let before = i.forwarding(group);
        let b: Sources = sources.iter().copied().collect();
        let existed = i.groups.contains_key(&group);
        if !existed {
            let creates = matches!(rt, RecordType::ModeIsExclude | RecordType::ChangeToExclude)
                || (!b.is_empty() && rt != RecordType::BlockOldSources);
            if !creates {
                return;
            }
            if i.groups.len() >= i.cfg.max_groups {
                i.counters.group_limit_refused += 1;
                return;
            }
        }
        let mut budget = SourceBudget {
            left: i.cfg.max_sources.saturating_sub(i.source_count),
            refused: 0,
        };
        let gmi = i.cfg.group_membership_interval();
        let g = i.groups.entry(group).or_insert_with(|| Group::new(src));
        let before_sources = g.sources.len();
        g.last_reporter = src;
        let actions = g.apply(rt, &b, now, gmi, &mut budget);
        i.source_count = i.source_count + g.sources.len() - before_sources;
        i.counters.source_limit_refused += budget.refused;
        if i.is_querier() && !actions.is_empty() {
            start_specific_queries(&mut self.transmits, now, i, group, actions);
        }
        i.drop_if_empty(group);
        emit_diff(&mut self.events, i.id, group, &before, &i.forwarding(group));
    }
}

/// 6.6.3.1 / 6.6.3.2: lower the timers the queries are about to LMQT, set their retransmission
/// counts to LMQC, and send the first round now.
fn start_specific_queries(
    transmits: &mut VecDeque<Transmit>,
    now: Duration,
    i: &mut Interface,
    group: Ipv4Addr,
    actions: Vec<QueryAction>,
) {
    let lmqt = Some(now + i.cfg.last_member_query_time());
    let lmqc = i.cfg.last_member_query_count();
    let Some(g) = i.groups.get_mut(&group) else {
        return;
    };
    for a in actions {
        match a {
            QueryAction::Group => {
                if g.timer > lmqt {
                    g.timer = lmqt;
                }
                g.group_query_left = lmqc;
            }
            QueryAction::Sources(set) => {
                for s in set {
                    if let Some(t) = g.sources.get_mut(&s) {
                        if t.is_some() && *t > lmqt {
                            *t = lmqt;
                        }
                        g.source_query_left.insert(s, lmqc);
                    }
                }
            }
        }
    }
    send_specific_queries(transmits, now, i, group);
}

/// Send one round of the pending group(-and-source)-specific queries for `group`: the S flag
/// is set for a group or source whose timer a report has raised above LMQT since (6.6.3).
fn send_specific_queries(
    transmits: &mut VecDeque<Transmit>,
    now: Duration,
    i: &mut Interface,
    group: Ipv4Addr,
) {
    let lmqt = Some(now + i.cfg.last_member_query_time());
    let lmqi = i.cfg.last_member_query_interval;
    let querier = i.is_querier();
    let Some(g) = i.groups.get_mut(&group) else {
        return;
    };
    g.query_next = None;
    if !querier {
        // A non-querier sends no queries (6.6.2); the new querier takes over.
        g.group_query_left = 0;
        g.source_query_left.clear();
        return;
    }
    let mut out = Vec::new();
    if g.group_query_left > 0 {
        g.group_query_left -= 1;
        let suppress = g.mode == FilterMode::Exclude && g.timer > lmqt;
        out.push((suppress, Vec::new()));
    }
    let (mut with_s, mut without_s) = (Vec::new(), Vec::new());
    for (s, left) in g.source_query_left.iter_mut() {
        *left -= 1;
        match g.sources.get(s) {
            Some(t) if *t > lmqt => with_s.push(*s),
            _ => without_s.push(*s),
        }
    }
    g.source_query_left.retain(|_, left| *left > 0);
    for (suppress, sources) in [(true, with_s), (false, without_s)] {
        if !sources.is_empty() {
            out.push((suppress, sources));
        }
    }
    if g.group_query_left > 0 || !g.source_query_left.is_empty() {
        g.query_next = Some(now + lmqi);
    }
    for (suppress, sources) in out {
        if let Some(t) = packet::specific_query(i, group, suppress, sources) {
            transmits.push_back(t);
            i.counters.queries_sent += 1;
        }
    }
}
