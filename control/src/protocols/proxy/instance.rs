//! The proxy's state: the aggregate membership database, what the upstream querier last heard,
//! pending reports and responses, and the MGM callbacks that feed the database. The inputs are
//! handled in `events.rs`, the show data built in `show.rs`.

use super::config::ProxyConfig;
use super::packet::Membership;
use crate::config::Config;
use crate::interface::Interface as Iface;
use crate::protocols::shared::{ReceivedPacket, ReloadRequests, ShowView, StartRequests, Transmit};
use crate::protocols::{Protocol, Started};
use dataplane::wire::ipv4;
use mgm::{ClientId, Mgm, MgmClient, PruneAlert, RouteInfo, RpfRequest, Scope, SourceGroupEntry};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The protocol id the proxy registers with (IGMP's own id is MS_IP_IGMP; the proxy is a
/// separate component, spec 7.1). Windows has no id for it: a private one.
pub const PROXY_PROTOCOL: ClientId = ClientId {
    protocol: 0x4137_0100,
    component: 1,
};

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

/// Unsolicited state-change reports still to retransmit for one group (RFC 3376 5.1): `base`
/// is what the upstream routers heard before this burst of changes, so the records sent are
/// always the difference from `base` to now, and a further change restarts the count.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) base: Membership,
    pub(super) left: u8,
}

/// A scheduled answer to a group-specific or group-and-source-specific query.
#[derive(Debug, Clone)]
pub(super) struct GroupAnswer {
    pub(super) at: Duration,
    /// `None`: the whole group; else the queried sources.
    pub(super) sources: Option<BTreeSet<Ipv4Addr>>,
}

/// The IGMP proxy: database, host-side state on the upstream interface, queued output.
#[derive(Debug)]
pub struct IgmpProxy {
    pub(super) cfg: ProxyConfig,
    pub(super) rng: crate::protocols::jitter::Jitter,
    /// The aggregate downstream membership (RFC 4605 4.1), per group.
    pub(super) db: BTreeMap<Ipv4Addr, Membership>,
    /// Alerts from MGM callbacks, not yet taken in: (join, scope).
    pub(super) alerts: Vec<(bool, SourceGroupEntry)>,
    pub(super) pending: BTreeMap<Ipv4Addr, Pending>,
    /// Next retransmission of the pending state-change reports.
    pub(super) retransmit_at: Option<Duration>,
    /// Older Version Querier Present timers (RFC 3376 7.2.1).
    pub(super) v1_querier_until: Option<Duration>,
    pub(super) v2_querier_until: Option<Duration>,
    /// Pending answer to a general query (v3: one report; v1/v2: one report per group).
    pub(super) general_answer_at: Option<Duration>,
    pub(super) group_answers: BTreeMap<Ipv4Addr, GroupAnswer>,
    pub(super) querier: Option<Ipv4Addr>,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) counters: ProxyCounters,
}

/// Older Version Querier Present Timeout (RFC 3376 8.12) with the default query interval:
/// Robustness * 125 s + the query's response time.
pub(super) fn older_querier_timeout(robustness: u8, max_resp: Duration) -> Duration {
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
    pub fn upstream(&self) -> Iface {
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

    /// Counters.
    pub fn counters(&self) -> ProxyCounters {
        self.counters
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
        let up = self.cfg.upstream.id();
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

impl Protocol for IgmpProxy {
    fn name(&self) -> &'static str {
        "igmp-proxy"
    }

    fn client_id(&self) -> ClientId {
        PROXY_PROTOCOL
    }

    fn config_section(&self) -> &'static str {
        "igmp_proxy"
    }

    /// The upstream interface, with (*,*) there, so every MFE also forwards upstream (RFC 4605
    /// 4.2: traffic from downstream sources goes up) while the join and prune alerts from
    /// downstream membership tell it what to report. Sources not on a connected subnet (and
    /// not covered by an `rpf_routes` entry) are expected upstream: a default RPF route.
    fn start_requests(&self, cfg: &Config) -> Result<StartRequests, String> {
        let up = self.cfg.upstream;
        let default_route = !cfg.rpf_routes.iter().any(|r| r.prefix_len == 0);
        Ok(StartRequests {
            interfaces: vec![up],
            interface_memberships: vec![(Scope::All, up)],
            rpf_routes: default_route
                .then_some((Ipv4Addr::UNSPECIFIED, 0, up, Ipv4Addr::UNSPECIFIED))
                .into_iter()
                .collect(),
            ..StartRequests::default()
        })
    }

    /// The proxy takes its settings at start: a changed `igmp_proxy` section needs a restart
    /// (its upstream interface's ownership and (*,*) membership, its host state there).
    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String> {
        if old.igmp_proxy != new.igmp_proxy {
            return Err(
                "`igmp_proxy` changed: restart mrouter to apply that (nothing was changed)".into(),
            );
        }
        Ok(ReloadRequests::default())
    }

    /// IGMP on the upstream interface, where the proxy is a host.
    fn consumes(&self, ip_protocol: u8, iface: Iface) -> bool {
        ip_protocol == ipv4::PROTOCOL_IGMP && iface == self.cfg.upstream
    }

    fn handle_packet(&mut self, now: Duration, _iface: Iface, packet: &ReceivedPacket<'_>) {
        IgmpProxy::handle_packet(self, now, packet.src, packet.payload);
    }

    fn handle_alerts(&mut self, now: Duration) {
        IgmpProxy::handle_alerts(self, now);
    }

    fn poll_timeout(&self) -> Option<Duration> {
        IgmpProxy::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Duration) {
        IgmpProxy::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        IgmpProxy::poll_transmit(self)
    }

    fn show(&self, now: Duration) -> Vec<ShowView> {
        vec![ShowView::new("igmp proxy", &self.info(now))]
    }
}

/// The registry's constructor: the proxy runs when the config has an `igmp_proxy` section.
pub(super) fn start(cfg: &Config, _now: Duration) -> Started {
    Ok(ProxyConfig::from_config(cfg).map(|c| Box::new(IgmpProxy::new(c)) as Box<dyn Protocol>))
}
