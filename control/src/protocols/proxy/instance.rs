//! The proxy's state: the aggregate membership database, what the upstream querier last heard,
//! pending reports and responses, and the MGM callbacks that feed the database.

use super::packet::{self, Membership};
use crate::protocols::shared::Transmit;
use dataplane::wire::{igmp, ipv4};
use mgm::{InterfaceId, Mgm, MgmClient, PruneAlert, RouteInfo, RpfRequest, SourceGroupEntry};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// How the proxy speaks on its upstream interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The upstream interface (MGM interface index).
    pub upstream: u32,
    /// Our address on it (the source of our reports).
    pub address: Ipv4Addr,
    /// Highest IGMP version spoken upstream: 2 or 3 (an older querier lowers it, RFC 3376 7.2.1).
    pub version: u8,
    /// Robustness Variable: how many times an unsolicited report is sent (RFC 3376 8.1).
    pub robustness: u8,
    /// Unsolicited Report Interval (RFC 3376 8.11: 1 s).
    pub unsolicited_report_interval: Duration,
    /// Seed of the RNG that draws report delays.
    pub seed: u64,
    /// The subnets (network, prefix length) of the router's other interfaces. A source on one
    /// of them sends downstream; its traffic arriving upstream is refused (see the RPF callback).
    pub local_subnets: Vec<(Ipv4Addr, u8)>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            upstream: 0,
            address: Ipv4Addr::UNSPECIFIED,
            version: 3,
            robustness: 2,
            unsolicited_report_interval: Duration::from_secs(1),
            seed: 0x5eed_4605,
            local_subnets: Vec::new(),
        }
    }
}

/// Counters shown by `mrouterctl show igmp proxy`.
///
/// Reports and leaves are counted per group record, as a v3 report carries several groups'
/// records and a v1/v2 message one group's: `reports_sent + leaves_sent` is the number of group
/// records sent, `messages_sent` the number of IGMP messages. Retransmissions count each time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProxyCounters {
    /// Queries received on the upstream interface and answered (or scheduled).
    pub queries_received: u64,
    /// IGMP messages on the upstream interface that were not valid queries for us (bad
    /// checksum, truncated, our own, reports of other hosts): ignored.
    pub ignored: u64,
    /// Membership reported (unsolicited and answers to queries): a v1/v2 Membership Report, or
    /// a v3 record that is not a leave (TO_EX, ALLOW, BLOCK of some of the sources, TO_IN of
    /// a non-empty list, IS_EX, IS_IN).
    pub reports_sent: u64,
    /// Membership given up: a v2 Leave Group, or a v3 record that leaves the group, i.e. whose
    /// new state is INCLUDE({}) (TO_IN({}) after EXCLUDE, or the BLOCK of an INCLUDE group's
    /// last sources). Under a v1 querier nothing is sent for a leave (RFC 2236 3), so nothing is
    /// counted.
    pub leaves_sent: u64,
    /// IGMP messages sent upstream (v1, v2 and v3; reports and leaves).
    pub messages_sent: u64,
    /// Join alerts taken into the database.
    pub joins: u64,
    /// Prune alerts taken into the database.
    pub prunes: u64,
}

/// One group of the database, for show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProxyGroup {
    /// The group.
    pub group: Ipv4Addr,
    /// "exclude" (any source wanted) or "include" (only `sources`).
    pub filter_mode: &'static str,
    /// Sources of an include-mode group.
    pub sources: Vec<Ipv4Addr>,
}

/// The proxy's state, for show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProxyInfo {
    /// Upstream interface index (MGM).
    pub upstream: u32,
    /// Our address upstream.
    pub address: Ipv4Addr,
    /// The version reports go out in now (3, or 2/1 while an older querier is present).
    pub version: u8,
    /// The last querier heard upstream, if any.
    pub querier: Option<Ipv4Addr>,
    /// The aggregate downstream membership reported upstream.
    pub groups: Vec<ProxyGroup>,
    /// Counters.
    pub counters: ProxyCounters,
}

/// Unsolicited state-change reports still to retransmit for one group (RFC 3376 5.1): `base`
/// is what the upstream routers heard before this burst of changes, so the records sent are
/// always the difference from `base` to now, and a further change restarts the count.
#[derive(Debug, Clone)]
struct Pending {
    base: Membership,
    left: u8,
}

/// A scheduled answer to a group-specific or group-and-source-specific query.
#[derive(Debug, Clone)]
struct GroupAnswer {
    at: Duration,
    /// `None`: the whole group; else the queried sources.
    sources: Option<BTreeSet<Ipv4Addr>>,
}

/// The IGMP proxy: database, host-side state on the upstream interface, queued output.
#[derive(Debug)]
pub struct IgmpProxy {
    cfg: ProxyConfig,
    rng: crate::protocols::jitter::Jitter,
    /// The aggregate downstream membership (RFC 4605 4.1), per group.
    db: BTreeMap<Ipv4Addr, Membership>,
    /// Alerts from MGM callbacks, not yet taken in: (join, scope).
    alerts: Vec<(bool, SourceGroupEntry)>,
    pending: BTreeMap<Ipv4Addr, Pending>,
    /// Next retransmission of the pending state-change reports.
    retransmit_at: Option<Duration>,
    /// Older Version Querier Present timers (RFC 3376 7.2.1).
    v1_querier_until: Option<Duration>,
    v2_querier_until: Option<Duration>,
    /// Pending answer to a general query (v3: one report; v1/v2: one report per group).
    general_answer_at: Option<Duration>,
    group_answers: BTreeMap<Ipv4Addr, GroupAnswer>,
    querier: Option<Ipv4Addr>,
    transmits: VecDeque<Transmit>,
    counters: ProxyCounters,
}

/// Older Version Querier Present Timeout (RFC 3376 8.12) with the default query interval:
/// Robustness * 125 s + the query's response time.
fn older_querier_timeout(robustness: u8, max_resp: Duration) -> Duration {
    Duration::from_secs(125) * u32::from(robustness) + max_resp
}

impl IgmpProxy {
    /// A proxy with an empty database.
    pub fn new(cfg: ProxyConfig) -> IgmpProxy {
        IgmpProxy {
            rng: crate::protocols::jitter::Jitter::new(cfg.seed),
            cfg,
            db: BTreeMap::new(),
            alerts: Vec::new(),
            pending: BTreeMap::new(),
            retransmit_at: None,
            v1_querier_until: None,
            v2_querier_until: None,
            general_answer_at: None,
            group_answers: BTreeMap::new(),
            querier: None,
            transmits: VecDeque::new(),
            counters: ProxyCounters::default(),
        }
    }

    /// The upstream interface.
    pub fn upstream(&self) -> u32 {
        self.cfg.upstream
    }

    /// The version reports are sent in at `now`.
    pub fn version(&self, now: Duration) -> u8 {
        if self.v1_querier_until.is_some_and(|t| t > now) {
            1
        } else if self.v2_querier_until.is_some_and(|t| t > now) || self.cfg.version == 2 {
            2
        } else {
            3
        }
    }

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

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [
            self.retransmit_at,
            self.general_answer_at,
            self.v1_querier_until,
            self.v2_querier_until,
        ]
        .into_iter()
        .flatten()
        .chain(self.group_answers.values().map(|a| a.at))
        .min()
    }

    /// The next message to send on the upstream interface.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Whether this proxy's database wants `group` (any source or some source).
    pub fn wants(&self, group: Ipv4Addr) -> bool {
        self.db.contains_key(&group)
    }

    /// The proxy's state for `mrouterctl show igmp proxy`.
    pub fn info(&self, now: Duration) -> ProxyInfo {
        ProxyInfo {
            upstream: self.cfg.upstream,
            address: self.cfg.address,
            version: self.version(now),
            querier: self.querier,
            groups: self
                .db
                .iter()
                .map(|(g, m)| ProxyGroup {
                    group: *g,
                    filter_mode: if m.any { "exclude" } else { "include" },
                    sources: if m.any {
                        Vec::new()
                    } else {
                        m.sources.iter().copied().collect()
                    },
                })
                .collect(),
            counters: self.counters,
        }
    }

    /// Counters.
    pub fn counters(&self) -> ProxyCounters {
        self.counters
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

impl IgmpProxy {
    /// Whether `source` is on a subnet of one of the router's other interfaces.
    fn on_local_subnet(&self, source: Ipv4Addr) -> bool {
        self.cfg.local_subnets.iter().any(|&(net, len)| {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(source) & mask == u32::from(net) & mask
        })
    }
}

impl MgmClient for IgmpProxy {
    /// The MGM asks the owner of the interface a new flow arrived on (spec gap 1, the seed's
    /// rule); the proxy owns only the upstream interface, so this is traffic arriving upstream.
    /// RFC 4605 4.2 forwards what arrives upstream to the downstream members, with no RPF check,
    /// so the proxy accepts it there even when the multicast RIB routes the source elsewhere
    /// (an `rpf_routes` prefix or a default route on a downstream interface): the IIF becomes
    /// the upstream interface, with no known upstream neighbour and the proxy's own
    /// "everything else is upstream" route, 0.0.0.0/0. One exception: a source on the subnet of
    /// one of the router's other interfaces is downstream for certain (on-link); its traffic
    /// arriving upstream is an echo or spoofed, and taking the IIF upstream would cut the real
    /// sender's flow off (one IIF per (S,G)), so the route's interface stands and the upstream
    /// copies are dropped as `wrong_interface`.
    fn rpf(&mut self, _mgm: &Mgm, request: &mut RpfRequest<'_>) {
        let up = InterfaceId::new(self.cfg.upstream);
        if request.iif == up || self.on_local_subnet(request.source) {
            return;
        }
        request.iif = up;
        request.upstream = Ipv4Addr::UNSPECIFIED;
        request.route = RouteInfo::default();
    }

    fn join_alert(&mut self, _mgm: &Mgm, scope: SourceGroupEntry, member_update: bool) {
        if member_update {
            self.alerts.push((true, scope));
        }
    }

    fn prune_alert(&mut self, _mgm: &Mgm, alert: &mut PruneAlert) {
        if alert.member_delete {
            self.alerts.push((false, alert.scope));
        }
    }
}
