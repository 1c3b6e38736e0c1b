//! The proxy's inputs, one handler each: the alerts the MGM delivered (RFC 4605 4.1: the
//! database changes and unsolicited reports go out, RFC 3376 5.1), a message received upstream
//! (queries answered after a random delay, RFC 3376 5.2; older queriers, 7.2.1), and timers.

use super::instance::{older_querier_timeout, GroupAnswer, IgmpProxy, Pending};
use super::packet::{self, Membership};
use crate::protocols::shared::Transmit;
use dataplane::wire::{igmp, ipv4};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

impl IgmpProxy {
    /// Takes in the alerts the MGM delivered since the last call: a join alert adds its scope
    /// to the database, a prune alert removes it; every group whose state changed gets an
    /// unsolicited report now and Robustness - 1 retransmissions.
    pub fn handle_alerts(&mut self, now: Duration) {
        self.handle_timeout(now);
        let mut changed = BTreeSet::new();
        for (join, scope) in std::mem::take(&mut self.alerts) {
            let group = scope.group;
            // (*,*) alerts and link-local groups are not reported (RFC 4605 4.1, RFC 3376 5).
            if !ipv4::is_multicast(group) || ipv4::is_link_local_multicast(group) {
                continue;
            }
            let before = self.db.get(&group).cloned().unwrap_or_default();
            let entry = self.db.entry(group).or_default();
            let any = scope.source.is_unspecified();
            if join {
                self.counters.joins += 1;
                if any {
                    entry.any = true;
                } else {
                    entry.sources.insert(scope.source);
                }
            } else {
                self.counters.prunes += 1;
                if any {
                    entry.any = false;
                } else {
                    entry.sources.remove(&scope.source);
                }
            }
            let after = entry.clone();
            if after.is_empty() {
                self.db.remove(&group);
            }
            if before != after {
                self.pending
                    .entry(group)
                    .and_modify(|p| p.left = self.cfg.robustness.max(1))
                    .or_insert(Pending {
                        base: before,
                        left: self.cfg.robustness.max(1),
                    });
                changed.insert(group);
            }
        }
        if !changed.is_empty() {
            self.send_state_changes(now, Some(&changed));
        }
    }

    /// A received IGMP message on the upstream interface (`igmp` is the IP payload). Queries
    /// are answered; everything else (reports of other hosts, bad messages) is counted and
    /// ignored. Never panics.
    pub fn handle_packet(&mut self, now: Duration, src: Ipv4Addr, igmp: &[u8]) {
        self.handle_timeout(now);
        let repr = igmp::Packet::new_checked(igmp)
            .ok()
            .and_then(|p| igmp::Repr::parse(&p).ok());
        let Some(
            repr @ igmp::Repr::Query {
                max_resp_code,
                group,
                ..
            },
        ) = repr
        else {
            self.counters.ignored += 1;
            return;
        };
        if src == self.cfg.address {
            self.counters.ignored += 1;
            return;
        }
        self.counters.queries_received += 1;
        self.querier = Some(src);
        let version = repr.query_version().unwrap_or(3);
        let max_resp = match version {
            1 => Duration::from_secs(10),
            2 => Duration::from_millis(100 * u64::from(max_resp_code)),
            _ => Duration::from_millis(100 * u64::from(igmp::decode_code(max_resp_code))),
        };
        match version {
            1 => {
                self.v1_querier_until =
                    Some(now + older_querier_timeout(self.cfg.robustness, max_resp))
            }
            2 => {
                self.v2_querier_until =
                    Some(now + older_querier_timeout(self.cfg.robustness, max_resp))
            }
            _ => {}
        }
        let at = now + self.rng.below(max_resp);
        if group.is_unspecified() {
            // RFC 3376 5.2 rule 1: an answer already due sooner stands.
            if self.general_answer_at.is_none_or(|t| t > at) {
                self.general_answer_at = Some(at);
            }
            return;
        }
        if !self.db.contains_key(&group) {
            return;
        }
        if self.general_answer_at.is_some_and(|t| t <= at) {
            return;
        }
        let sources = match &repr {
            igmp::Repr::Query { v3: Some(v3), .. }
                if !v3.sources.is_empty() && self.version(now) == 3 =>
            {
                Some(v3.sources.iter().copied().collect::<BTreeSet<_>>())
            }
            _ => None,
        };
        let answer = self.group_answers.entry(group).or_insert(GroupAnswer {
            at,
            sources: sources.clone(),
        });
        answer.at = answer.at.min(at);
        // Rule 5: a group query after a group-and-source one asks for the whole group; two
        // source lists merge.
        answer.sources = match (answer.sources.take(), sources) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
    }

    /// Sends what is due by `now`: retransmissions and query answers.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.v1_querier_until.is_some_and(|t| t <= now) {
            self.v1_querier_until = None;
        }
        if self.v2_querier_until.is_some_and(|t| t <= now) {
            self.v2_querier_until = None;
        }
        if self.retransmit_at.is_some_and(|t| t <= now) {
            self.retransmit_at = None;
            self.send_state_changes(now, None);
        }
        if self.general_answer_at.is_some_and(|t| t <= now) {
            self.general_answer_at = None;
            self.group_answers.clear();
            let groups: Vec<(Ipv4Addr, Membership)> =
                self.db.iter().map(|(g, m)| (*g, m.clone())).collect();
            let records = groups
                .iter()
                .map(|(g, m)| packet::current_state(*g, m, None))
                .collect::<Vec<_>>();
            self.send_current(now, records);
        }
        let due: Vec<Ipv4Addr> = self
            .group_answers
            .iter()
            .filter(|(_, a)| a.at <= now)
            .map(|(g, _)| *g)
            .collect();
        let mut records = Vec::new();
        for g in due {
            let Some(a) = self.group_answers.remove(&g) else {
                continue;
            };
            if let Some(m) = self.db.get(&g) {
                records.push(packet::current_state(g, m, a.sources.as_ref()));
            }
        }
        if !records.is_empty() {
            self.send_current(now, records);
        }
    }

    /// Sends the state-change reports of the pending groups (`only`: just these, the ones
    /// that changed now; `None`: all, a retransmission) and schedules the next retransmission.
    fn send_state_changes(&mut self, now: Duration, only: Option<&BTreeSet<Ipv4Addr>>) {
        let version = self.version(now);
        let mut records = Vec::new();
        let mut leaving = BTreeSet::new();
        let mut done = Vec::new();
        for (group, p) in self.pending.iter_mut() {
            if only.is_some_and(|o| !o.contains(group)) {
                continue;
            }
            let current = self.db.get(group).cloned().unwrap_or_default();
            match version {
                3 => {
                    if current.is_empty() {
                        leaving.insert(*group);
                    }
                    records.extend(packet::state_change(*group, &p.base, &current));
                }
                v => {
                    let joined = !current.is_empty();
                    if joined {
                        let msg = if v == 1 {
                            igmp::Repr::ReportV1 { group: *group }
                        } else {
                            igmp::Repr::ReportV2 { group: *group }
                        };
                        self.transmits.push_back(Transmit {
                            iface: self.cfg.upstream,
                            src: self.cfg.address,
                            dst: *group,
                            igmp: msg,
                        });
                        self.counters.reports_sent += 1;
                        self.counters.messages_sent += 1;
                    } else if v == 2 && !p.base.is_empty() {
                        // One leave (RFC 2236 3: "send a Leave Group message"), then done.
                        self.transmits.push_back(Transmit {
                            iface: self.cfg.upstream,
                            src: self.cfg.address,
                            dst: igmp::ALL_ROUTERS,
                            igmp: igmp::Repr::LeaveV2 { group: *group },
                        });
                        self.counters.leaves_sent += 1;
                        self.counters.messages_sent += 1;
                        p.left = 1;
                    } else {
                        p.left = 1;
                    }
                }
            }
            p.left = p.left.saturating_sub(1);
            if p.left == 0 {
                done.push(*group);
            }
        }
        for group in done {
            self.pending.remove(&group);
        }
        if !records.is_empty() {
            self.send_v3(records, &leaving);
        }
        if !self.pending.is_empty() && self.retransmit_at.is_none() {
            self.retransmit_at = Some(now + self.rng.below(self.cfg.unsolicited_report_interval));
        }
    }

    /// Current-state records out in the version of the moment.
    fn send_current(&mut self, now: Duration, records: Vec<igmp::GroupRecordRepr>) {
        match self.version(now) {
            3 => self.send_v3(records, &BTreeSet::new()),
            v => {
                for r in records {
                    let msg = if v == 1 {
                        igmp::Repr::ReportV1 { group: r.group }
                    } else {
                        igmp::Repr::ReportV2 { group: r.group }
                    };
                    self.transmits.push_back(Transmit {
                        iface: self.cfg.upstream,
                        src: self.cfg.address,
                        dst: r.group,
                        igmp: msg,
                    });
                    self.counters.reports_sent += 1;
                    self.counters.messages_sent += 1;
                }
            }
        }
    }

    /// v3 reports to 224.0.0.22, split so that each fits a 1500-byte datagram. The records of
    /// the groups in `leaving` are leaves (see [`ProxyCounters::leaves_sent`]).
    fn send_v3(&mut self, records: Vec<igmp::GroupRecordRepr>, leaving: &BTreeSet<Ipv4Addr>) {
        for chunk in packet::split(records, 1500 - ipv4::ROUTER_ALERT_HEADER_LEN) {
            let leaves = chunk.iter().filter(|r| leaving.contains(&r.group)).count() as u64;
            self.counters.leaves_sent += leaves;
            self.counters.reports_sent += chunk.len() as u64 - leaves;
            self.counters.messages_sent += 1;
            self.transmits.push_back(Transmit {
                iface: self.cfg.upstream,
                src: self.cfg.address,
                dst: igmp::ALL_V3_ROUTERS,
                igmp: igmp::Repr::ReportV3 { records: chunk },
            });
        }
    }
}
