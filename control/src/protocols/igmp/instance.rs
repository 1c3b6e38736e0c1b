//! The IGMP instance: per-interface state, the input dispatch and the `poll_*` outputs.

use super::config::{in_prefix, IgmpConfig, IgmpInterfaceConfig};
use super::error::{IgmpError, RejectReason};
use super::group::{FilterMode, Group};
use super::packet::{self, Message};
use super::show::InterfaceCounters;
use dataplane::wire::{igmp, ipv4};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A membership change for the control core to turn into an MGM add or delete group
/// membership on interface `iface`. `source: None` is (*,G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MembershipEvent {
    /// Traffic for (source, group) is wanted on `iface`.
    Join {
        /// Interface.
        iface: u32,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
    /// Traffic for (source, group) is no longer wanted on `iface`.
    Leave {
        /// Interface.
        iface: u32,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
}

/// An IGMP message to send on `iface` from `src` to `dst`, with IP TTL 1 and a Router Alert
/// (RFC 2236 section 2, RFC 3376 section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Interface.
    pub iface: u32,
    /// Source address: the interface's.
    pub src: Ipv4Addr,
    /// Destination: 224.0.0.1 for general queries, the group for specific ones.
    pub dst: Ipv4Addr,
    /// The message.
    pub igmp: igmp::Repr,
}

impl Transmit {
    /// The IGMP message bytes (the IP payload).
    pub fn igmp_bytes(&self) -> Vec<u8> {
        self.igmp.to_bytes()
    }

    /// The whole IPv4 datagram: a 24-byte header with Router Alert, TTL 1, DSCP CS6 (0xc0, as
    /// Linux sends IGMP), then the message.
    pub fn ip_packet(&self) -> Vec<u8> {
        let body = self.igmp_bytes();
        let repr = ipv4::Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: ipv4::PROTOCOL_IGMP,
            payload_len: body.len(),
            ttl: 1,
            dscp_ecn: 0xc0,
        };
        let mut buf = vec![0u8; ipv4::ROUTER_ALERT_HEADER_LEN + body.len()];
        repr.emit_with_router_alert(&mut ipv4::Packet::new_unchecked(&mut buf[..]));
        buf[ipv4::ROUTER_ALERT_HEADER_LEN..].copy_from_slice(&body);
        buf
    }
}

/// One interface running IGMP.
#[derive(Debug, Clone)]
pub(super) struct Interface {
    pub id: u32,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub cfg: IgmpInterfaceConfig,
    /// The querier's address: ours while we are querier.
    pub querier: Ipv4Addr,
    /// Other Querier Present timer; `None` while we are querier.
    pub other_querier_until: Option<Duration>,
    /// Our own (configured) robustness and query interval while we use the querier's (RFC 3376
    /// 4.1.6, 4.1.7); restored when we become querier again.
    pub own_timers: Option<(u8, Duration)>,
    /// Next general query (only while querier).
    pub general_query_next: Option<Duration>,
    /// Startup queries still to send after the next one.
    pub startup_left: u8,
    pub groups: BTreeMap<Ipv4Addr, Group>,
    /// Source records held by all groups (for `max_sources`).
    pub source_count: usize,
    pub static_joins: BTreeSet<(Ipv4Addr, Option<Ipv4Addr>)>,
    pub counters: InterfaceCounters,
}

impl Interface {
    pub fn is_querier(&self) -> bool {
        self.other_querier_until.is_none()
    }

    pub fn reject(&mut self, reason: RejectReason) {
        *self.counters.rejected.entry(reason).or_insert(0) += 1;
    }

    /// What `group` forwards on this interface: `None` is (*,G), `Some(s)` is (S,G).
    pub fn forwarding(&self, group: Ipv4Addr) -> BTreeSet<Option<Ipv4Addr>> {
        let mut set: BTreeSet<Option<Ipv4Addr>> = self
            .static_joins
            .range((group, None)..=(group, Some(Ipv4Addr::BROADCAST)))
            .map(|(_, s)| *s)
            .collect();
        if let Some(g) = self.groups.get(&group) {
            match g.mode {
                FilterMode::Exclude => {
                    set.insert(None);
                }
                FilterMode::Include => set.extend(g.requested().into_iter().map(Some)),
            }
        }
        set
    }

    /// Remove `group` if it is INCLUDE({}) (6.5: no state left).
    pub fn drop_if_empty(&mut self, group: Ipv4Addr) {
        if self.groups.get(&group).is_some_and(Group::is_empty) {
            self.groups.remove(&group);
        }
    }

    /// Remove `group` whatever its state, freeing its sources.
    pub fn remove_group(&mut self, group: Ipv4Addr) {
        if let Some(g) = self.groups.remove(&group) {
            self.source_count -= g.sources.len();
        }
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        [self.other_querier_until, self.general_query_next]
            .into_iter()
            .chain(self.groups.values().map(Group::next_deadline))
            .flatten()
            .min()
    }
}

/// Queue the Join and Leave events that turn forwarding set `before` into `after`.
pub(super) fn emit_diff(
    events: &mut VecDeque<MembershipEvent>,
    iface: u32,
    group: Ipv4Addr,
    before: &BTreeSet<Option<Ipv4Addr>>,
    after: &BTreeSet<Option<Ipv4Addr>>,
) {
    for &source in before.difference(after) {
        events.push_back(MembershipEvent::Leave {
            iface,
            source,
            group,
        });
    }
    for &source in after.difference(before) {
        events.push_back(MembershipEvent::Join {
            iface,
            source,
            group,
        });
    }
}

/// The IGMP router: every interface's querier and group state. See the module doc.
#[derive(Debug, Clone)]
pub struct Igmp {
    pub(super) config: IgmpConfig,
    pub(super) interfaces: BTreeMap<u32, Interface>,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<MembershipEvent>,
    pub(super) rng: crate::protocols::jitter::Jitter,
    /// Packets for interfaces that do not run IGMP.
    pub(super) unknown_interface: u64,
    /// The earliest deadline, computed on demand and forgotten by every input that can change
    /// state (`None`: not known), so that [`Igmp::poll_timeout`], which the control core calls
    /// every loop turn, does not walk every group and source each time.
    pub(super) deadline: std::cell::Cell<Option<Option<Duration>>>,
}

impl Igmp {
    /// A router with no interface.
    pub fn new(config: IgmpConfig) -> Igmp {
        Igmp {
            rng: crate::protocols::jitter::Jitter::new(config.seed),
            config,
            interfaces: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            unknown_interface: 0,
            deadline: std::cell::Cell::new(None),
        }
    }

    /// The group is in the SSM range.
    pub fn is_ssm(&self, group: Ipv4Addr) -> bool {
        let (prefix, len) = self.config.ssm_range;
        in_prefix(group, prefix, len)
    }

    /// Start IGMP on `iface` with address `address/prefix_len`: it starts as querier and sends
    /// its startup queries (RFC 3376 6.6.2, 8.6, 8.7); static joins are reported at once.
    pub fn add_interface(
        &mut self,
        now: Duration,
        iface: u32,
        address: Ipv4Addr,
        prefix_len: u8,
        cfg: IgmpInterfaceConfig,
    ) -> Result<(), IgmpError> {
        self.deadline.set(None);
        if self.interfaces.contains_key(&iface) {
            return Err(IgmpError::InterfaceExists(iface));
        }
        if !(1..=3).contains(&cfg.version) {
            return Err(IgmpError::BadVersion(cfg.version));
        }
        if prefix_len > 32 {
            return Err(IgmpError::BadPrefixLen(prefix_len));
        }
        let mut static_joins = BTreeSet::new();
        for &(source, group) in &cfg.static_joins {
            let bad = !ipv4::is_multicast(group)
                || ipv4::is_link_local_multicast(group)
                || (source.is_none() && self.is_ssm(group))
                || source.is_some_and(|s| ipv4::is_multicast(s) || s.is_unspecified());
            if bad {
                let name = match source {
                    Some(s) => format!("({s},{group})"),
                    None => format!("(*,{group})"),
                };
                return Err(IgmpError::BadStaticJoin(name));
            }
            static_joins.insert((group, source));
        }
        for &(group, source) in &static_joins {
            self.events.push_back(MembershipEvent::Join {
                iface,
                source,
                group,
            });
        }
        let mut i = Interface {
            id: iface,
            address,
            prefix_len,
            querier: address,
            other_querier_until: None,
            own_timers: None,
            general_query_next: Some(now),
            startup_left: cfg.startup_query_count().max(1),
            cfg,
            groups: BTreeMap::new(),
            source_count: 0,
            static_joins,
            counters: InterfaceCounters::default(),
        };
        self.general_query_due(now, &mut i);
        self.interfaces.insert(iface, i);
        Ok(())
    }

    /// Stop IGMP on `iface`: every membership it held is left.
    pub fn remove_interface(&mut self, iface: u32) -> Result<(), IgmpError> {
        self.deadline.set(None);
        let i = self
            .interfaces
            .remove(&iface)
            .ok_or(IgmpError::NoSuchInterface(iface))?;
        let groups: BTreeSet<Ipv4Addr> = i
            .groups
            .keys()
            .copied()
            .chain(i.static_joins.iter().map(|(g, _)| *g))
            .collect();
        for group in groups {
            emit_diff(
                &mut self.events,
                iface,
                group,
                &i.forwarding(group),
                &BTreeSet::new(),
            );
        }
        Ok(())
    }

    /// A received IGMP message: `igmp` is the IP payload, the other arguments the IP header
    /// fields the checks need. Every rejection is counted (see [`RejectReason`]); nothing here
    /// panics on any input.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_packet(
        &mut self,
        now: Duration,
        iface: u32,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        router_alert: bool,
        igmp: &[u8],
    ) {
        self.deadline.set(None);
        // Timers due by now fire first, so a record never meets an expired deadline.
        self.handle_timeout(now);
        let ssm = self.config.ssm_range;
        let Some(i) = self.interfaces.get_mut(&iface) else {
            self.unknown_interface += 1;
            return;
        };
        let msg = match packet::validate(i, ssm, src, dst, ttl, router_alert, igmp) {
            Ok(msg) => msg,
            Err(reason) => {
                i.reject(reason);
                return;
            }
        };
        match msg {
            Message::Query(q) => self.process_query(now, iface, src, q),
            Message::Report(report) => self.process_report(now, iface, src, report),
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next membership change, if any.
    pub fn poll_event(&mut self) -> Option<MembershipEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline: call [`Igmp::handle_timeout`] then (or with any later `now`).
    /// Linear in the number of groups and sources after an input changed state, O(1) otherwise.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if let Some(known) = self.deadline.get() {
            return known;
        }
        let d = self
            .interfaces
            .values()
            .filter_map(Interface::next_deadline)
            .min();
        self.deadline.set(Some(d));
        d
    }

    /// Packets received for interfaces that do not run IGMP.
    pub fn unknown_interface_packets(&self) -> u64 {
        self.unknown_interface
    }

    /// Send a general query on `i` if it is due and we are querier, and schedule the next one:
    /// startup queries at the startup query interval, then every query interval minus jitter.
    pub(super) fn general_query_due(&mut self, now: Duration, i: &mut Interface) {
        let Some(due) = i.general_query_next else {
            return;
        };
        if due > now || !i.is_querier() {
            return;
        }
        self.transmits.push_back(packet::general_query(i));
        i.counters.queries_sent += 1;
        i.startup_left = i.startup_left.saturating_sub(1);
        let next = if i.startup_left > 0 {
            i.cfg.startup_query_interval()
        } else {
            i.cfg
                .query_interval
                .saturating_sub(self.rng.below(i.cfg.query_jitter))
        };
        i.general_query_next = Some(now + next);
    }
}
