//! The PIM instance: its interfaces, the input dispatch, the `poll_*` outputs, its MGM client
//! and `Protocol` implementations, and its start from the config.

use super::config::{PimInterfaceSettings, PimSettings, SptSwitchover, StaticRp};
use super::interface::{Interface, InterfaceCounters};
use super::packet;
use super::tree::{LocalMember, Tib};
use crate::config::Config;
use crate::interface::Interface as Iface;
use crate::protocols::jitter::Jitter;
use crate::protocols::shared::{
    Datagram, MembershipEvent, ReceivedPacket, ReloadRequests, ShowView, StartRequests, Traffic,
};
use crate::protocols::{Protocol, Started};
use dataplane::wire::ipv4;
use dataplane::wire::pim::Repr;
use mgm::{ClientId, InterfaceId, Mgm, MgmClient, OifEntry, RpfRoute, SourceGroupEntry};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The id PIM registers with the MGM (IANAipMRouteProtocol pimSparseMode(8)).
pub const PIM_PROTOCOL: ClientId = ClientId {
    protocol: 8,
    component: 1,
};

/// What changed among the neighbours, for the join/prune machinery (4.3.1: a restarted
/// neighbour lost its join state; 4.3.2: the DR decides who registers and who joins for local
/// members) and for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PimEvent {
    /// A neighbour appeared on `iface`.
    NeighborUp {
        /// Interface.
        iface: Iface,
        /// Its primary address.
        address: Ipv4Addr,
    },
    /// A neighbour went: holdtime expired or goodbye.
    NeighborDown {
        /// Interface.
        iface: Iface,
        /// Its primary address.
        address: Ipv4Addr,
    },
    /// A neighbour's Generation ID changed: it restarted.
    NeighborRestarted {
        /// Interface.
        iface: Iface,
        /// Its primary address.
        address: Ipv4Addr,
    },
    /// The DR of `iface` changed.
    DrChanged {
        /// Interface.
        iface: Iface,
        /// The new DR.
        dr: Ipv4Addr,
    },
}

/// Most [`PimEvent`]s kept until taken ([`Pim::poll_pim_event`]); older ones are dropped and
/// counted. Log lines are bounded the same way.
pub const MAX_EVENTS: usize = 1024;

/// PIM-SM on the router's PIM interfaces. See the module doc of `protocols::pim`.
#[derive(Debug, Clone)]
pub struct Pim {
    pub(super) interfaces: BTreeMap<Iface, Interface>,
    pub(super) rps: Vec<StaticRp>,
    pub(super) spt_switchover: SptSwitchover,
    pub(super) outbox: VecDeque<Datagram>,
    /// Neighbour and DR changes for the join/prune machinery, the latest [`MAX_EVENTS`].
    pub(super) events: VecDeque<PimEvent>,
    /// Events dropped from a full queue (nobody took them).
    pub(super) events_dropped: u64,
    /// The same changes as log lines for the operator.
    pub(super) log: VecDeque<String>,
    /// Interface names for the log lines.
    pub(super) names: BTreeMap<Iface, String>,
    pub(super) rng: Jitter,
    /// PIM packets for interfaces that do not run PIM.
    pub(super) unknown_interface: u64,
    /// The join/prune machines (4.5), driven by `join_prune.rs`.
    pub(super) tib: Tib,
    /// The SSM range (the config's `ssm_range`): no RP, no (*,G) state there.
    pub(super) ssm_range: (Ipv4Addr, u8),
    /// RPF answers from the router's RIB, by address (`None`: no route).
    pub(super) rpf: BTreeMap<Ipv4Addr, Option<RpfRoute>>,
    /// Addresses the machines asked about that the RIB has not answered yet.
    pub(super) rpf_queries: BTreeSet<Ipv4Addr>,
    /// Neighbour and DR changes not yet given to the machines.
    pub(super) tree_pending: Vec<PimEvent>,
    /// IGMP's local joins and leaves from the MGM callbacks, for the machines.
    pub(super) local_pending: Vec<(Iface, Ipv4Addr, LocalMember, bool)>,
    /// Outgoing-interface changes for the MGM, as PIM's memberships.
    pub(super) memberships: VecDeque<MembershipEvent>,
    /// Join/Prune messages received from a source that is not a live neighbour (4.5: dropped).
    pub(super) join_prune_not_neighbor: u64,
    /// Join/Prune messages sent.
    pub(super) join_prune_sent: u64,
    /// The latest `now` the machines saw (for an interface removed without one).
    pub(super) tree_now: Duration,
    /// Data arrivals for the machines (4.2): the MGM's creation alerts (a new entry's first
    /// packet) and the entries the core reports as carrying traffic.
    pub(super) data_pending: Vec<(Ipv4Addr, Ipv4Addr, Iface)>,
    /// The RP set learned from the Bootstrap router (RFC 5059).
    pub(super) bsr: super::bsr::Bsr,
    /// The latest Bootstrap whose BSR the RIB has not answered yet: (interface, sender).
    pub(super) bsr_pending: Option<(Iface, Ipv4Addr, dataplane::wire::pim::Bootstrap)>,
    /// The MGM's wrong-interface callbacks not yet given to the assert machines.
    pub(super) wrong_if_pending: Vec<(Ipv4Addr, Ipv4Addr, Iface)>,
    /// Wrong-interface callbacks received.
    pub(super) wrong_if_received: u64,
    /// Entries whose forwarding the asserts changed, for the core to re-validate.
    pub(super) revalidate: VecDeque<(Option<Ipv4Addr>, Ipv4Addr)>,
    /// The register path (`register.rs`).
    pub(super) register: super::register_state::Registers,
}

impl Pim {
    /// PIM with no interface yet; `seed` draws its Generation IDs and Hello delays (the
    /// daemon gives a random one, so a restarted router has a new Generation ID; tests a
    /// fixed one).
    pub fn new(settings: &PimSettings, seed: u64) -> Pim {
        Pim {
            interfaces: BTreeMap::new(),
            rps: settings.rps.clone(),
            spt_switchover: settings.spt_switchover,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            events_dropped: 0,
            log: VecDeque::new(),
            names: BTreeMap::new(),
            rng: Jitter::new(seed),
            unknown_interface: 0,
            tib: Tib::new(settings.tree_config(), seed ^ 0x7472_6565),
            ssm_range: (Ipv4Addr::new(232, 0, 0, 0), 8),
            rpf: BTreeMap::new(),
            rpf_queries: BTreeSet::new(),
            tree_pending: Vec::new(),
            local_pending: Vec::new(),
            memberships: VecDeque::new(),
            join_prune_not_neighbor: 0,
            join_prune_sent: 0,
            tree_now: Duration::ZERO,
            data_pending: Vec::new(),
            bsr: super::bsr::Bsr::default(),
            bsr_pending: None,
            wrong_if_pending: Vec::new(),
            wrong_if_received: 0,
            revalidate: VecDeque::new(),
            register: Default::default(),
        }
    }

    /// Starts PIM on `iface` (address `address/prefix_len`): a new Generation ID, and the
    /// first Hello after a random delay below Triggered_Hello_Delay (4.3.1). Already running
    /// there: nothing changes.
    pub fn add_interface(
        &mut self,
        now: Duration,
        iface: Iface,
        address: Ipv4Addr,
        prefix_len: u8,
        settings: PimInterfaceSettings,
    ) {
        if self.interfaces.contains_key(&iface) {
            return;
        }
        let generation_id = self.rng.next_u64() as u32;
        let hello_due = now + self.rng.below(settings.triggered_hello_delay);
        self.interfaces.insert(
            iface,
            Interface {
                id: iface,
                address,
                prefix_len,
                settings,
                generation_id,
                hello_due,
                neighbors: BTreeMap::new(),
                dr: address,
                since: now,
                mtu: 1500,
                counters: InterfaceCounters::default(),
            },
        );
    }

    /// Stops PIM on `iface`: its join/prune state goes (the prunes upstream it causes go out
    /// first), a goodbye Hello (holdtime 0, 4.3.1) goes out at once and its neighbours are
    /// forgotten.
    pub fn remove_interface(&mut self, iface: Iface) {
        self.tree_remove_interface(iface);
        if let Some(mut i) = self.interfaces.remove(&iface) {
            self.outbox.push_back(packet::hello(&i, true));
            i.counters.hellos_sent += 1;
            for address in i.neighbors.keys() {
                self.report(PimEvent::NeighborDown {
                    iface,
                    address: *address,
                });
            }
        }
    }

    /// The router stops: a goodbye Hello on every interface.
    pub fn shutdown(&mut self) {
        let all: Vec<Iface> = self.interfaces.keys().copied().collect();
        for iface in all {
            self.remove_interface(iface);
        }
    }

    /// A received PIM message (`payload`: the IP payload) from `src` to `dst` on `iface`.
    /// Malformed or refused ones are counted per reason; nothing here panics on any input.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        iface: Iface,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) {
        // Due timers first: a neighbour whose holdtime ran out is gone before its next Hello.
        self.handle_timeout(now);
        let Some(i) = self.interfaces.get_mut(&iface) else {
            self.unknown_interface += 1;
            return;
        };
        match packet::validate(i, src, dst, payload) {
            Err(reason) => i.reject(reason),
            Ok(packet::Message::Hello(hello)) => self.process_hello(now, iface, src, &hello),
            Ok(packet::Message::Other(msg)) => {
                packet::count_other(i, &msg);
                match msg {
                    Repr::JoinPrune(jp) => {
                        if i.neighbor(src).is_some() {
                            self.join_prune_received(now, iface, &jp);
                        } else {
                            i.reject(super::error::RejectReason::NotNeighbor);
                            self.join_prune_not_neighbor += 1;
                        }
                    }
                    Repr::Bootstrap(b) => self.bootstrap_received(now, iface, src, dst, b),
                    Repr::Assert(a) => self.assert_received(now, iface, src, &a),
                    Repr::Register(reg) => self.handle_register(now, iface, src, dst, &reg),
                    Repr::RegisterStop(stop) => self.handle_register_stop(now, &stop),
                    _ => {}
                }
            }
        }
        self.sync_tree(now);
    }

    /// The link of `iface` came (back) up: neighbours may have dropped this router while its
    /// Hellos were lost, so one goes out soon (as a triggered Hello).
    pub fn link_up(&mut self, now: Duration, iface: Iface) {
        self.trigger_hello(now, iface);
    }

    /// Sets the MTU of `iface` (Join/Prune messages are split to fit it).
    pub fn set_mtu(&mut self, iface: Iface, mtu: u16) {
        if let Some(i) = self.interfaces.get_mut(&iface) {
            i.mtu = mtu;
        }
    }

    /// Sets the SSM range (the config's `ssm_range`, shared with IGMP).
    pub fn set_ssm_range(&mut self, network: Ipv4Addr, prefix_len: u8) {
        self.ssm_range = (network, prefix_len);
    }

    /// The next Hello on `iface` goes out no later than a random delay below
    /// Triggered_Hello_Delay from `now` (4.3.1).
    pub(super) fn trigger_hello(&mut self, now: Duration, iface: Iface) {
        let Some(i) = self.interfaces.get_mut(&iface) else {
            return;
        };
        let at = now + self.rng.below(i.settings.triggered_hello_delay);
        i.hello_due = i.hello_due.min(at);
    }

    /// The earliest deadline: call [`Pim::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let hellos = self
            .interfaces
            .values()
            .map(Interface::next_deadline)
            .chain(self.bsr.next_deadline())
            .min();
        [hellos, self.tib.poll_timeout(), self.register_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next datagram to send.
    pub fn poll_datagram(&mut self) -> Option<Datagram> {
        self.outbox.pop_front()
    }

    /// The next neighbour or DR change.
    pub fn poll_pim_event(&mut self) -> Option<PimEvent> {
        self.events.pop_front()
    }

    /// Events dropped because nobody took them (the queue holds [`MAX_EVENTS`]).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Names `iface` in log lines (the config's name).
    pub fn name_interface(&mut self, iface: Iface, name: &str) {
        self.names.insert(iface, name.to_string());
    }

    /// Queues `e` for the join/prune machinery and as a log line.
    pub(super) fn report(&mut self, e: PimEvent) {
        let name = |i: &Iface| self.names.get(i).cloned().unwrap_or_else(|| i.to_string());
        let line = match &e {
            PimEvent::NeighborUp { iface, address } => {
                format!("neighbor {address} up on {}", name(iface))
            }
            PimEvent::NeighborDown { iface, address } => {
                format!("neighbor {address} down on {}", name(iface))
            }
            PimEvent::NeighborRestarted { iface, address } => {
                format!(
                    "neighbor {address} restarted (new generation ID) on {}",
                    name(iface)
                )
            }
            PimEvent::DrChanged { iface, dr } => format!("DR on {} is {dr}", name(iface)),
        };
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(e);
        self.tree_pending.push(e);
        if self.log.len() >= MAX_EVENTS {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// PIM's state on `iface` (its neighbours, DR, the LAN Prune Delay values).
    pub fn interface(&self, iface: Iface) -> Option<&Interface> {
        self.interfaces.get(&iface)
    }

    /// Every PIM interface.
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.interfaces.values()
    }

    /// The static RPs of the config (not used yet).
    pub fn static_rps(&self) -> &[StaticRp] {
        &self.rps
    }

    /// The SPT switchover policy of the config (not used yet).
    pub fn spt_switchover(&self) -> SptSwitchover {
        self.spt_switchover
    }

    /// PIM packets received on interfaces that do not run PIM.
    pub fn unknown_interface_packets(&self) -> u64 {
        self.unknown_interface
    }

    /// Takes `new`'s settings for its interfaces (the same set: `prepare_reload` refuses
    /// another) and the global part. A changed advertised value (DR priority, holdtime, LAN
    /// Prune Delay) goes out in a Hello at once, so neighbours re-elect the DR without waiting
    /// a Hello period; a shorter Hello interval takes effect from now.
    pub fn reconfigure(&mut self, now: Duration, new: &PimSettings) {
        self.rps = new.rps.clone();
        self.spt_switchover = new.spt_switchover;
        for (idx, s) in &new.interfaces {
            let Some(i) = self.interfaces.get_mut(&Iface::from_config_index(*idx)) else {
                continue;
            };
            let old = std::mem::replace(&mut i.settings, s.clone());
            let advertised = |x: &PimInterfaceSettings| {
                (
                    x.dr_priority,
                    x.holdtime,
                    x.propagation_delay_ms,
                    x.override_interval_ms,
                )
            };
            if advertised(&old) != advertised(s) {
                i.hello_due = now;
            } else if s.hello_interval < old.hello_interval {
                i.hello_due = i.hello_due.min(now + s.hello_interval);
            }
        }
        let ids: Vec<Iface> = self.interfaces.keys().copied().collect();
        for iface in ids {
            self.elect(iface);
        }
        self.reconfigure_tree(now);
    }
}

/// PIM's side of the MGM callbacks. It owns its interfaces; IGMP's local joins and leaves on
/// them are queued for the join/prune machines (taken in by `handle_alerts`, after the MGM
/// call). For the rest it takes the defaults: the RIB's RPF interface, every member interface
/// in new entries (the MGM adds IGMP's member interfaces to the entries itself).
impl MgmClient for Pim {
    fn local_join(&mut self, _mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {
        self.queue_local(scope, iface, true);
    }

    fn local_leave(&mut self, _mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {
        self.queue_local(scope, iface, false);
    }

    /// Data of an entry on one of PIM's interfaces that is not the entry's IIF: the assert
    /// trigger (4.6), queued for `handle_alerts`.
    fn wrong_interface(
        &mut self,
        _mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: InterfaceId,
        _header: &[u8],
    ) {
        self.queue_wrong_interface(source, group, iface);
    }

    /// A new (or re-validated) entry: its first packet is a data arrival (4.2), taken in by
    /// `handle_alerts`; PIM's interfaces outside inherited_olist(S,G) are left out (a lost
    /// assert, an (S,G,rpt) prune, IGMP members where we are not the DR:
    /// [`super::tree::Tib::excludes`]).
    fn creation_alert(
        &mut self,
        _mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: InterfaceId,
        oifs: &mut [OifEntry],
    ) {
        if let Some(iif) = Iface::from_id(iif) {
            self.queue_data(source, group, iif);
        }
        self.assert_creation_alert(source, group, oifs);
    }

    /// Data of (S,G) arrived on an interface of ours (the MGM makes or re-validates its
    /// entry): for the register path (the DR's CouldRegister, the RP's SPT bit).
    fn rpf(&mut self, _mgm: &Mgm, request: &mut mgm::RpfRequest<'_>) {
        if let Some(iface) = Iface::from_id(request.iif) {
            self.data_arrival(request.source, request.group, iface);
        }
    }
}

impl Protocol for Pim {
    fn name(&self) -> &'static str {
        "pim"
    }

    fn client_id(&self) -> ClientId {
        PIM_PROTOCOL
    }

    fn config_section(&self) -> &'static str {
        "pim, interfaces[].pim"
    }

    /// Its interfaces, owned in the MGM (static routing leaves them: the config refuses
    /// static routes through them).
    fn start_requests(&self, _cfg: &Config) -> Result<StartRequests, String> {
        Ok(StartRequests {
            interfaces: self.interfaces.keys().copied().collect(),
            ..StartRequests::default()
        })
    }

    /// The set of PIM interfaces is fixed from start (PIM owns them in the MGM, where a change
    /// of owner would re-make their entries); their settings and the global part apply in
    /// place.
    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String> {
        let set = |c: &Config| {
            c.protocols
                .get::<PimSettings>()
                .map(|p| p.interfaces.keys().copied().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        if set(old) != set(new) {
            let names = |c: &Config| {
                set(c)
                    .iter()
                    .filter_map(|&i| c.interfaces.get(i).map(|f| f.name.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "the interfaces running PIM changed (from [{}] to [{}]): PIM owns them from start; restart mrouter to apply that (nothing was changed)",
                names(old),
                names(new)
            ));
        }
        Ok(ReloadRequests::default())
    }

    fn commit_reload(&mut self, now: Duration, new: &Config) {
        if let Some(s) = new.protocols.get::<PimSettings>() {
            self.reconfigure(now, s);
        }
    }

    /// Asserts start from data arriving on an outgoing interface.
    fn wants_wrong_interface(&self) -> bool {
        true
    }

    fn consumes(&self, ip_protocol: u8, iface: Iface) -> bool {
        ip_protocol == ipv4::PROTOCOL_PIM && self.interfaces.contains_key(&iface)
    }

    fn handle_packet(&mut self, now: Duration, iface: Iface, packet: &ReceivedPacket<'_>) {
        Pim::handle_packet(self, now, iface, packet.src, packet.dst, packet.payload);
    }

    fn handle_link_up(&mut self, now: Duration, iface: Iface) {
        Pim::link_up(self, now, iface);
    }

    fn handle_alerts(&mut self, now: Duration) {
        self.sync_tree(now);
        self.register_sync(now);
    }

    fn handle_entry_copy(&mut self, now: Duration, iface: Iface, ip: &[u8]) {
        Pim::handle_data_copy(self, now, iface, ip);
    }

    fn copy_to_control(&self, source: Ipv4Addr, group: Ipv4Addr) -> bool {
        self.register_copy_wanted(source, group)
    }

    fn poll_entry_refresh(&mut self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        Pim::poll_entry_refresh(self)
    }

    fn poll_forward(&mut self) -> Option<(Iface, Vec<u8>)> {
        Pim::poll_forward(self)
    }

    fn wants_traffic(&self) -> bool {
        true
    }

    fn handle_traffic(&mut self, now: Duration, active: &[Traffic]) {
        for t in active {
            self.queue_data(t.source, t.group, t.iif);
        }
        self.sync_tree(now);
    }

    fn poll_event(&mut self) -> Option<MembershipEvent> {
        self.memberships.pop_front()
    }

    fn poll_revalidate(&mut self) -> Option<(Option<Ipv4Addr>, Ipv4Addr)> {
        self.revalidate.pop_front()
    }

    fn poll_rpf_query(&mut self) -> Option<Ipv4Addr> {
        self.rpf_queries.pop_first()
    }

    fn rpf_tracked(&self) -> Vec<Ipv4Addr> {
        self.rpf.keys().copied().collect()
    }

    fn handle_rpf(&mut self, now: Duration, answers: &[(Ipv4Addr, Option<RpfRoute>)]) {
        Pim::handle_rpf(self, now, answers);
    }

    fn handle_shutdown(&mut self, _now: Duration) {
        Pim::shutdown(self);
    }

    fn poll_timeout(&self) -> Option<Duration> {
        Pim::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Duration) {
        Pim::handle_timeout(self, now);
    }

    fn poll_datagram(&mut self) -> Option<Datagram> {
        Pim::poll_datagram(self)
    }

    fn poll_log(&mut self) -> Option<String> {
        self.log.pop_front()
    }

    fn show(&self, now: Duration) -> Vec<ShowView> {
        vec![
            ShowView::new("pim interface", &self.interface_infos(now)),
            ShowView::new("pim neighbor", &self.neighbor_infos(now)),
            ShowView::new("pim join", &self.join_infos(now)),
            ShowView::new("pim assert", &self.assert_infos(now)),
            ShowView::new("pim register", &self.register_view(now)),
        ]
    }
}

/// A seed nobody can predict, so a restarted router picks a new Generation ID (4.3.1): the
/// standard library's per-process random hash keys.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5049_4d53);
    h.finish()
}

/// The registry's constructor: PIM runs when some interface has `pim: { enable: true }`.
pub(super) fn start(cfg: &Config, now: Duration) -> Started {
    start_seeded(cfg, now, random_seed())
}

/// As [`start`], with a given seed (tests).
pub fn start_seeded(cfg: &Config, now: Duration, seed: u64) -> Started {
    let Some(settings) = cfg.protocols.get::<PimSettings>() else {
        return Ok(None);
    };
    let mut pim = Pim::new(settings, seed);
    pim.set_ssm_range(cfg.ssm_range.0, cfg.ssm_range.1);
    for (&idx, s) in &settings.interfaces {
        let Some(iface) = cfg.interfaces.get(idx) else {
            return Err(format!("PIM on interface {idx}: no such interface"));
        };
        let id = Iface::from_config_index(idx);
        pim.add_interface(now, id, iface.address, iface.prefix_len, s.clone());
        pim.name_interface(id, &iface.name);
        let port_mtu = cfg.ports.get(iface.port).and_then(|p| p.mtu);
        pim.set_mtu(id, iface.mtu.or(port_mtu).unwrap_or(1500));
    }
    Ok(Some(Box::new(pim)))
}
