//! The IGMP instance: per-interface state, the input dispatch and the `poll_*` outputs.

use super::config::{in_prefix, IgmpConfig, IgmpInterfaceConfig, IgmpSection};
use super::error::IgmpError;
use super::interface::{emit_diff, Interface, InterfaceCounters};
use super::packet::{self, Message};
use crate::config::{Config, ConfigSection, SectionError, Violation};
use crate::interface::Interface as Iface;
use crate::protocols::shared::{
    MembershipEvent, ReceivedPacket, ReloadRequests, ShowView, StartRequests, Transmit,
};
use crate::protocols::{Protocol, Started};
use dataplane::wire::ipv4;
use mgm::{ClientId, MgmClient, MS_IP_IGMP};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The IGMP router: every interface's querier and group state. See the module doc.
#[derive(Debug, Clone)]
pub struct Igmp {
    pub(super) config: IgmpConfig,
    pub(super) interfaces: BTreeMap<Iface, Interface>,
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
        iface: Iface,
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

    /// The link of `iface` came (back) up: the queries sent while it was down were lost, so
    /// while this router is the querier the startup sequence runs again (RFC 3376 8.6: Startup
    /// Query Count general queries at the Startup Query Interval), and hosts answer at once
    /// instead of a query interval later. A non-querier waits for the querier as before.
    pub fn link_up(&mut self, now: Duration, iface: Iface) {
        self.deadline.set(None);
        let Some(mut i) = self.interfaces.remove(&iface) else {
            return;
        };
        if i.is_querier() {
            i.startup_left = i.cfg.startup_query_count().max(1);
            i.general_query_next = Some(now);
            self.general_query_due(now, &mut i);
        }
        self.interfaces.insert(iface, i);
    }

    /// Stop IGMP on `iface`: every membership it held is left.
    pub fn remove_interface(&mut self, iface: Iface) -> Result<(), IgmpError> {
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
    /// fields the checks need. Every rejection is counted (see [`super::error::RejectReason`]); nothing here
    /// panics on any input.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_packet(
        &mut self,
        now: Duration,
        iface: Iface,
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

/// The id IGMP registers with the MGM (the MGM treats `MS_IP_IGMP` as IGMP: local membership).
pub const IGMP_PROTOCOL: ClientId = ClientId {
    protocol: MS_IP_IGMP,
    component: 1,
};

/// IGMP's side of the MGM callbacks. IGMP always shares its interfaces with the static routing
/// protocol (which owns every interface), so the disable/enable-IGMP callbacks never fire in
/// this router; the defaults (not interested) are right for the rest.
impl MgmClient for Igmp {}

impl Protocol for Igmp {
    fn name(&self) -> &'static str {
        "igmp"
    }

    fn client_id(&self) -> ClientId {
        IGMP_PROTOCOL
    }

    fn config_section(&self) -> &'static str {
        "interfaces[].igmp"
    }

    /// Every interface it runs on (those with an `igmp` section), as the MGM's IGMP client
    /// (MS_IP_IGMP), registered after the routing protocols.
    /// IGMP takes an interface's settings when it starts on the interface (its timers, its
    /// querier state and its groups' compatibility modes follow from them): a changed `igmp`
    /// section needs a restart. Applying one in place is not a plain replacement: a
    /// non-querier runs on the querier's robustness and query interval (RFC 3376 8.1, 8.2;
    /// `events.rs` writes them over the configured ones), static joins would need their own
    /// joins and leaves, and a version change the groups' compatibility modes.
    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String> {
        for (i, (o, n)) in old.interfaces.iter().zip(&new.interfaces).enumerate() {
            if o.igmp != n.igmp {
                return Err(format!(
                    "`interfaces[{i}].igmp` ({}) changed: IGMP takes an interface's settings when it starts there; restart mrouter to apply that (nothing was changed)",
                    n.name
                ));
            }
        }
        Ok(ReloadRequests::default())
    }

    fn start_requests(&self, _cfg: &Config) -> Result<StartRequests, String> {
        Ok(StartRequests {
            interfaces: self.interfaces.keys().copied().collect(),
            local_membership: true,
            ..StartRequests::default()
        })
    }

    /// Every IGMP message the core does not give to a protocol that claims its interface (the
    /// proxy's upstream); those on interfaces without IGMP are counted as such.
    fn consumes(&self, ip_protocol: u8, _iface: Iface) -> bool {
        ip_protocol == ipv4::PROTOCOL_IGMP
    }

    fn handle_packet(&mut self, now: Duration, iface: Iface, packet: &ReceivedPacket<'_>) {
        Igmp::handle_packet(
            self,
            now,
            iface,
            packet.src,
            packet.dst,
            packet.ttl,
            packet.router_alert,
            packet.payload,
        );
    }

    fn handle_link_up(&mut self, now: Duration, iface: Iface) {
        Igmp::link_up(self, now, iface);
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Igmp::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Duration) {
        Igmp::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        Igmp::poll_transmit(self)
    }

    fn poll_event(&mut self) -> Option<MembershipEvent> {
        Igmp::poll_event(self)
    }

    fn show(&self, now: Duration) -> Vec<ShowView> {
        let interfaces = self.interfaces(now);
        let groups: Vec<_> = interfaces
            .iter()
            .map(|i| (i.iface, self.groups(i.iface, now)))
            .collect();
        vec![
            ShowView::new("igmp interfaces", &interfaces),
            ShowView::new("igmp groups", &groups),
        ]
    }
}

/// The registry's constructor: IGMP runs when some interface has an `igmp` section, on those
/// interfaces; their startup queries and static joins are queued at `now`.
pub(super) fn start(cfg: &Config, now: Duration) -> Started {
    if cfg.interfaces.iter().all(|i| i.igmp.is_none()) {
        return Ok(None);
    }
    let mut igmp = Igmp::new(IgmpConfig {
        ssm_range: cfg.ssm_range,
        ..IgmpConfig::default()
    });
    for (idx, iface) in cfg.interfaces.iter().enumerate() {
        let Some(g) = &iface.igmp else { continue };
        igmp.add_interface(
            now,
            Iface::from_config_index(idx),
            iface.address,
            iface.prefix_len,
            g.clone(),
        )
        .map_err(|e| format!("IGMP on {}: {e}", iface.name))?;
    }
    Ok(Some(Box::new(igmp)))
}

/// IGMP's part of the config file: an `igmp` section in an interface's mapping (declared by
/// [`IgmpSection`] in `config.rs`; the hook is here because the model holds
/// [`IgmpInterfaceConfig`], so `config.rs` cannot name the model).
pub(super) const SECTION: ConfigSection = ConfigSection {
    keys: &[],
    interface_keys: &["igmp"],
    load,
    check: crate::config::section::no_check,
};

/// The keys IGMP reads from the file: each interface's `igmp`, if any.
#[derive(Debug, Deserialize)]
struct Sections {
    #[serde(default)]
    interfaces: Vec<InterfaceSection>,
}

#[derive(Debug, Deserialize)]
struct InterfaceSection {
    #[serde(default)]
    igmp: Option<IgmpSection>,
}

fn load(text: &str, cfg: &mut Config) -> Result<(), SectionError> {
    let raw: Sections = serde_yaml::from_str(text)?;
    let ssm_range = cfg.ssm_range;
    for (i, (iface, section)) in cfg.interfaces.iter_mut().zip(&raw.interfaces).enumerate() {
        if let Some(section) = &section.igmp {
            let settings = section
                .validate(&format!("interfaces[{i}].igmp"), ssm_range)
                .map_err(|(field, message)| Violation::new(field, message))?;
            iface.igmp = Some(settings);
        }
    }
    Ok(())
}
