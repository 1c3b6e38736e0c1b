//! The control core: drains the workers' miss and wrong-interface signals (bounded work per
//! turn, de-duplicated per (S,G), rate-limited), feeds them to the MGM with the static routing
//! protocol and the multicast RIB, runs the MGM's timers, and turns its MFE changes into
//! forwarding-table changes that it publishes to the workers.

use crate::config::{Config, Limits};
use crate::interface::{config_index, interface_id};
use crate::protocols::igmp::{Igmp, MembershipEvent, Transmit};
use crate::protocols::proxy::IgmpProxy;
use crate::protocols::registry::{self, Protocols};
use crate::protocols::shared::ReceivedPacket;
use crate::protocols::static_routing::{self, StaticRouting};
use crate::protocols::Protocol;
use dataplane::fib::{Oif, Route, NO_COUNTER};
use dataplane::router::Dataplane;
use dataplane::worker::Signal;
use mgm::{
    Clients, InterfaceId, MembershipFlags, MfeChange, Mgm, MgmClient, Miss, MulticastRib,
    ProtocolHandle, RpfLookup, RpfRoute, Scope,
};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Signals taken from the rings per turn.
pub const SIGNALS_PER_TURN: usize = 512;
/// Control packets taken from the punt rings per turn.
pub const PUNTED_PER_TURN: usize = 64;

/// Token buckets and a per-source window that decide whether a miss is taken in now
/// (`limits.miss_rate`/`miss_burst` for all workers, `miss_rate_per_worker` each, and
/// `miss_rate_per_source` per source address in one-second windows). A refused miss is
/// counted; the worker signals the flow again while its packets keep arriving.
struct MissLimiter {
    limits: Limits,
    tokens: f64,
    worker_tokens: Vec<f64>,
    last_refill: Duration,
    /// Misses taken per source in the current window. Only misses that passed the other
    /// limits are entered, so it holds at most `miss_rate` (plus burst) sources.
    per_source: HashMap<Ipv4Addr, u32>,
    window_start: Duration,
}

/// Which limit refused a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MissRefused {
    Rate,
    Worker,
    Source,
}

impl MissLimiter {
    fn new(limits: Limits, workers: usize) -> MissLimiter {
        let per_worker_burst = f64::from(limits.miss_burst.min(limits.miss_rate_per_worker));
        MissLimiter {
            limits,
            tokens: f64::from(limits.miss_burst),
            worker_tokens: vec![per_worker_burst; workers.max(1)],
            last_refill: Duration::ZERO,
            per_source: HashMap::new(),
            window_start: Duration::ZERO,
        }
    }

    fn refill(&mut self, now: Duration) {
        let dt = now.saturating_sub(self.last_refill).as_secs_f64();
        self.last_refill = now;
        let burst = f64::from(self.limits.miss_burst);
        self.tokens = (self.tokens + dt * f64::from(self.limits.miss_rate)).min(burst);
        let rate = f64::from(self.limits.miss_rate_per_worker);
        let wburst = burst.min(rate);
        for t in &mut self.worker_tokens {
            *t = (*t + dt * rate).min(wburst);
        }
        if now.saturating_sub(self.window_start) >= Duration::from_secs(1) {
            self.per_source.clear();
            self.window_start = now;
        }
    }

    /// Takes one miss of `source` from `worker` if every limit allows it.
    fn admit(&mut self, worker: usize, source: Ipv4Addr) -> Result<(), MissRefused> {
        if self.tokens < 1.0 {
            return Err(MissRefused::Rate);
        }
        let w = worker.min(self.worker_tokens.len() - 1);
        if self.worker_tokens[w] < 1.0 {
            return Err(MissRefused::Worker);
        }
        let taken = self.per_source.get(&source).copied().unwrap_or(0);
        if taken >= self.limits.miss_rate_per_source {
            return Err(MissRefused::Source);
        }
        self.tokens -= 1.0;
        self.worker_tokens[w] -= 1.0;
        self.per_source.insert(source, taken + 1);
        Ok(())
    }
}

/// What the MGM calls back into: the protocols and the RPF table.
pub struct RouterHost {
    /// The running protocols (static routing always; IGMP and the IGMP proxy when the config
    /// has them), keyed by their MGM handle.
    pub protocols: Protocols,
    /// Connected subnets (and, later, static unicast routes) for RPF.
    pub rib: MulticastRib,
}

impl RouterHost {
    /// The static routing protocol (it always runs: [`ControlCore::new`] fails without it).
    pub fn static_routing(&self) -> &StaticRouting {
        self.protocols
            .get::<StaticRouting>()
            .expect("static routing runs from the start")
    }
}

impl Clients for RouterHost {
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        self.protocols.client(handle)
    }
}

impl RpfLookup for RouterHost {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rib.rpf_lookup(source)
    }
}

/// Control-core counters (shown by `show stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ControlCounters {
    /// Miss signals taken from the rings.
    pub misses_received: u64,
    /// Misses for an (S,G) that already had an entry, or seen twice in one turn.
    pub misses_duplicate: u64,
    /// Misses dropped by the rate limit (the worker signals again later).
    pub misses_rate_limited: u64,
    /// Misses dropped by the per-worker rate limit.
    pub misses_worker_limited: u64,
    /// Misses dropped by the per-source rate limit.
    pub misses_source_limited: u64,
    /// Misses refused because the router holds `limits.max_mfes` entries already.
    pub misses_mfe_limit: u64,
    /// Misses whose source is one of the router's own addresses (refused; the workers drop
    /// such packets before they signal, so this stays 0 unless that check is bypassed).
    pub misses_own_source: u64,
    /// Misses the MGM refused (bad addresses).
    pub misses_rejected: u64,
    /// Wrong-interface signals taken from the rings.
    pub wrong_if_received: u64,
    /// Entries installed, updated, deleted in the forwarding table.
    pub mfes_installed: u64,
    /// Entries updated.
    pub mfes_updated: u64,
    /// Entries deleted.
    pub mfes_deleted: u64,
    /// Table publications.
    pub publishes: u64,
    /// Control packets the workers handed over, by kind (no protocol consumes them yet: IGMP is
    /// its own issue; they are counted and freed).
    pub punted_igmp: u64,
    /// PIM packets handed over.
    pub punted_pim: u64,
    /// Other 224.0.0.0/24 packets handed over.
    pub punted_link_local: u64,
    /// IGMP joins and leaves handed to the MGM.
    pub igmp_joins: u64,
    /// IGMP leaves handed to the MGM.
    pub igmp_leaves: u64,
    /// IGMP membership changes the MGM refused.
    pub igmp_membership_errors: u64,
    /// IGMP messages (queries) sent.
    pub igmp_sent: u64,
    /// IGMP messages that could not be sent (no control tx queue, no mbuf, queue full).
    pub igmp_send_failed: u64,
    /// Link state changes seen on the ports (each one refreshes the entries).
    pub link_changes: u64,
    /// Reloads applied.
    pub reloads: u64,
    /// Reloads refused (bad file or a change that needs a restart).
    pub reloads_failed: u64,
}

/// Counter slots of the entries (see `dataplane::worker::entry_counters`): allocated at
/// install, kept across updates, and reused after a delete only once every worker has passed
/// the publication that removed the entry, so no late increment lands on the next owner.
#[derive(Default)]
struct Slots {
    by_key: HashMap<(Ipv4Addr, Ipv4Addr), u32>,
    key_of: Vec<Option<(Ipv4Addr, Ipv4Addr)>>,
    /// Totals already reported to the MGM, per slot.
    reported: Vec<(u64, u64)>,
    /// Ports of the router (out counts are kept per slot and port).
    ports: usize,
    /// Copies per port already reported to the MGM: `slot * ports + port`.
    out_reported: Vec<u64>,
    /// Wrong-interface packets already in the MGM's count, per slot: the signals it handled
    /// (each counted one) plus what sweeps added to reach the workers' exact count.
    wrong_if_reported: Vec<u64>,
    free: Vec<u32>,
    retired: Vec<(u32, u64)>,
    cursor: usize,
    sweeping: bool,
    next_sweep: Duration,
}

/// How often the control core reads the ports' link state while every link is up.
pub const LINK_CHECK_EVERY: Duration = Duration::from_millis(100);
/// How often while some link is down, so that a port coming up (a memif peer connecting, a
/// cable plugged in) is used again within milliseconds.
pub const LINK_CHECK_WHILE_DOWN: Duration = Duration::from_millis(5);

/// Slots swept per turn when feeding the workers' counters to the MGM.
pub const SWEEP_PER_TURN: usize = 4096;
/// How often a sweep starts.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Slots {
    fn alloc(&mut self, key: (Ipv4Addr, Ipv4Addr), dp: &mut Dataplane) -> u32 {
        if let Some(&slot) = self.by_key.get(&key) {
            return slot;
        }
        let acked: Vec<u32> = self
            .retired
            .iter()
            .filter(|(_, e)| dp.fib().acknowledged(*e))
            .map(|(s, _)| *s)
            .collect();
        self.retired.retain(|(_, e)| !dp.fib().acknowledged(*e));
        self.free.extend(acked);
        let slot = match self.free.pop() {
            Some(s) => s,
            None if self.key_of.len() < dataplane::worker::entry_counters::SLOTS => {
                self.key_of.push(None);
                self.reported.push((0, 0));
                self.out_reported.extend(std::iter::repeat_n(0, self.ports));
                self.wrong_if_reported.push(0);
                (self.key_of.len() - 1) as u32
            }
            None => return NO_COUNTER,
        };
        // Whatever the slot counted before belongs to its previous owner.
        self.reported[slot as usize] = dp.entry_totals(slot);
        for port in 0..self.ports {
            self.out_reported[slot as usize * self.ports + port] = dp.entry_out(slot, port as u16);
        }
        self.wrong_if_reported[slot as usize] = dp.entry_wrong_if(slot);
        self.key_of[slot as usize] = Some(key);
        self.by_key.insert(key, slot);
        slot
    }

    fn release(&mut self, key: (Ipv4Addr, Ipv4Addr)) -> Option<u32> {
        let slot = self.by_key.remove(&key)?;
        self.key_of[slot as usize] = None;
        Some(slot)
    }
}

/// When an entry appeared (for `show mroute` uptime).
#[derive(Debug, Clone, Copy)]
pub struct MfeMeta {
    /// Time of installation, on the control core's clock.
    pub installed: Duration,
}

/// The control core's state.
pub struct ControlCore {
    mgm: Mgm,
    host: RouterHost,
    started: Instant,
    port_of_interface: Vec<u16>,
    interface_of_port: Vec<Option<usize>>,
    counters: ControlCounters,
    meta: HashMap<(Ipv4Addr, Ipv4Addr), MfeMeta>,
    limiter: MissLimiter,
    own_addresses: HashSet<Ipv4Addr>,
    /// Link state per port as last read: a port whose link is down is left out of every
    /// entry's outgoing ports in the data plane (the MGM keeps it) until it comes back.
    link_up: Vec<bool>,
    next_link_check: Duration,
    slots: Slots,
    miss_latency: MissLatency,
}

/// Miss-to-install latency: from the worker's loop turn that received a flow's first packet
/// (the TSC in its miss signal) to the publication of the flow's new entry, which the worker's
/// next turn uses (and releases the held packets with). Shown by `show stats` as
/// `miss_to_install_us_*` since start: the control core's own part of a new flow's delay
/// (signal ring, wake-up, MGM, publish), without the links and the receivers.
pub struct MissLatency {
    histogram: hdrhistogram::Histogram<u64>,
    /// Misses handed to the MGM and not yet published: (S,G) -> worker TSC.
    waiting: HashMap<(Ipv4Addr, Ipv4Addr), u64>,
    /// TSC ticks per microsecond, read at the first sample (the EAL may start after this).
    ticks_per_us: u64,
}

impl Default for MissLatency {
    fn default() -> Self {
        MissLatency {
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            waiting: HashMap::new(),
            ticks_per_us: 0,
        }
    }
}

impl MissLatency {
    fn arrived(&mut self, source: Ipv4Addr, group: Ipv4Addr, at: u64) {
        self.waiting.insert((source, group), at);
    }

    /// Records the misses among `installed` (just published); forgets the others waiting (a
    /// miss whose entry was not installed at once is not a latency sample).
    fn published(&mut self, installed: &[(Ipv4Addr, Ipv4Addr)]) {
        if self.waiting.is_empty() {
            return;
        }
        let now = dataplane::dpdk::tsc();
        if self.ticks_per_us == 0 {
            self.ticks_per_us = (dataplane::dpdk::tsc_hz() / 1_000_000).max(1);
        }
        for key in installed {
            if let Some(at) = self.waiting.remove(key) {
                let us = now.saturating_sub(at) / self.ticks_per_us;
                self.histogram.saturating_record(us.max(1));
            }
        }
        self.waiting.clear();
    }

    /// (count, p50, p99, max) in microseconds.
    pub fn summary(&self) -> (u64, u64, u64, u64) {
        let h = &self.histogram;
        (
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max(),
        )
    }
}

fn mgm_err(what: &str, e: mgm::MgmError) -> String {
    format!("{what}: {e} (Windows error {})", e.code())
}

impl ControlCore {
    /// Registers the static routing protocol, gives it every interface and turns the config's
    /// routes into MGM memberships. The RPF table holds the interfaces' connected subnets.
    pub fn new(cfg: &Config) -> Result<ControlCore, String> {
        let mut core = ControlCore {
            mgm: Mgm::new(mgm::MgmConfig {
                default_lifetime: cfg.limits.entry_lifetime,
                ..Default::default()
            }),
            host: RouterHost {
                protocols: Protocols::new(),
                rib: MulticastRib::new(),
            },
            started: Instant::now(),
            port_of_interface: cfg.interfaces.iter().map(|i| i.port as u16).collect(),
            interface_of_port: (0..cfg.ports.len())
                .map(|p| cfg.interfaces.iter().position(|i| i.port == p))
                .collect(),
            counters: ControlCounters::default(),
            meta: HashMap::new(),
            limiter: MissLimiter::new(cfg.limits, cfg.workers.len()),
            own_addresses: cfg.interfaces.iter().map(|i| i.address).collect(),
            link_up: vec![true; cfg.ports.len()],
            next_link_check: Duration::ZERO,
            slots: Slots {
                ports: cfg.ports.len(),
                ..Slots::default()
            },
            miss_latency: MissLatency::default(),
        };
        let now = core.now();
        let mut started = registry::start(cfg, now)?;
        for (idx, iface) in cfg.interfaces.iter().enumerate() {
            core.host.rib.add_route(
                iface.network(),
                iface.prefix_len,
                interface_id(idx),
                Ipv4Addr::UNSPECIFIED,
            );
        }
        for r in &cfg.rpf_routes {
            core.host.rib.add_route(
                r.network,
                r.prefix_len,
                interface_id(r.interface),
                r.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED),
            );
        }
        let routing =
            registry::take::<StaticRouting>(&mut started).ok_or("static routing did not start")?;
        let handle = core
            .mgm
            .register_protocol(now, routing.client_id())
            .map_err(|e| mgm_err("register static routing", e))?;
        core.host.protocols.insert(handle, routing);
        let upstream = cfg.igmp_proxy.as_ref().map(|p| p.upstream);
        for idx in (0..cfg.interfaces.len()).filter(|i| Some(*i) != upstream) {
            core.mgm
                .take_interface_ownership(now, &mut core.host, handle, interface_id(idx))
                .map_err(|e| mgm_err(&format!("take interface {}", cfg.interfaces[idx].name), e))?;
        }
        // Before the static memberships, so the proxy hears (through the alert rules) about
        // every group they add.
        core.start_proxy(cfg, registry::take::<IgmpProxy>(&mut started))?;
        for (scope, iface) in static_routing::memberships(cfg)? {
            core.mgm
                .add_group_membership(
                    now,
                    &mut core.host,
                    handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("membership on {iface}"), e))?;
        }
        core.prime_static_entries(cfg);
        core.start_igmp(cfg, registry::take::<Igmp>(&mut started))?;
        Ok(core)
    }

    /// Registers the IGMP proxy (RFC 4605) when the config has one: it owns the upstream
    /// interface and holds (*,*) there, so every MFE also forwards upstream (RFC 4605 4.2: traffic
    /// from downstream sources goes up) while the join and prune alerts from downstream
    /// membership tell it what to report. Sources not on a connected subnet (and not covered by
    /// an `rpf_routes` entry) are expected on the upstream interface: a default RPF route.
    fn start_proxy(
        &mut self,
        cfg: &Config,
        proxy: Option<Box<dyn Protocol>>,
    ) -> Result<(), String> {
        let (Some(p), Some(proxy)) = (&cfg.igmp_proxy, proxy) else {
            return Ok(());
        };
        let now = self.now();
        let up = interface_id(p.upstream);
        let iface = &cfg.interfaces[p.upstream];
        let handle = self
            .mgm
            .register_protocol(now, proxy.client_id())
            .map_err(|e| mgm_err("register the IGMP proxy", e))?;
        self.host.protocols.insert(handle, proxy);
        self.mgm
            .take_interface_ownership(now, &mut self.host, handle, up)
            .map_err(|e| mgm_err(&format!("IGMP proxy upstream {}", iface.name), e))?;
        self.mgm
            .add_group_membership(
                now,
                &mut self.host,
                handle,
                Scope::All,
                up,
                MembershipFlags::JOIN,
            )
            .map_err(|e| mgm_err("IGMP proxy (*,*) membership", e))?;
        if !cfg.rpf_routes.iter().any(|r| r.prefix_len == 0) {
            self.host
                .rib
                .add_route(Ipv4Addr::UNSPECIFIED, 0, up, Ipv4Addr::UNSPECIFIED);
        }
        Ok(())
    }

    /// Sends one IGMP message out of its interface's port on the control tx queue.
    fn send_igmp(&mut self, dp: &mut Dataplane, t: &Transmit) {
        let Some(port) = config_index(InterfaceId::new(t.iface))
            .and_then(|i| self.port_of_interface.get(i).copied())
        else {
            return;
        };
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(&dataplane::wire::ether::multicast_mac(t.dst).0);
        frame.extend_from_slice(&[0; 6]); // the port's MAC, set by send_control
        frame.extend_from_slice(&dataplane::wire::ether::ETHERTYPE_IPV4.to_be_bytes());
        frame.extend_from_slice(&t.ip_packet());
        if dp.send_control(port as usize, &frame) {
            self.counters.igmp_sent += 1;
        } else {
            self.counters.igmp_send_failed += 1;
        }
    }

    /// Registers IGMP with the MGM (as MS_IP_IGMP) and gives it every interface whose config has
    /// an `igmp` section (the instance started on them, see `protocols::igmp`); its startup
    /// queries go out at the first turns.
    fn start_igmp(&mut self, cfg: &Config, igmp: Option<Box<dyn Protocol>>) -> Result<(), String> {
        let Some(igmp) = igmp else {
            return Ok(());
        };
        let now = self.now();
        let handle = self
            .mgm
            .register_protocol(now, igmp.client_id())
            .map_err(|e| mgm_err("register IGMP", e))?;
        self.host.protocols.insert(handle, igmp);
        for (idx, iface) in cfg.interfaces.iter().enumerate() {
            if iface.igmp.is_none() {
                continue;
            }
            self.mgm
                .take_interface_ownership(now, &mut self.host, handle, interface_id(idx))
                .map_err(|e| mgm_err(&format!("IGMP on {}", iface.name), e))?;
        }
        Ok(())
    }

    /// The protocols' part of a turn, each reached through [`Protocol`]:
    /// 1. every received control packet goes to the first protocol, in registration order,
    ///    that consumes it (the proxy takes IGMP on its upstream interface, IGMP the rest);
    /// 2. each protocol fires its due timers, and its membership changes go into the MGM (as
    ///    the protocol) and its messages out of their ports;
    /// 3. each takes in the alerts the MGM calls of this turn delivered (the proxy's join and
    ///    prune alerts from IGMP's memberships), fires what is then due, and sends.
    fn run_protocols(&mut self, dp: &mut Dataplane, now: Duration, received: Vec<(u16, Vec<u8>)>) {
        for (port, frame) in received {
            let Some(iface) = self.interface_of_port.get(port as usize).copied().flatten() else {
                continue;
            };
            let Ok(eth) = dataplane::wire::ether::Frame::new_checked(frame.as_slice()) else {
                continue;
            };
            let Ok(ip) = dataplane::wire::ipv4::Packet::new_checked(eth.payload()) else {
                continue;
            };
            let packet = ReceivedPacket {
                src: ip.src_addr(),
                dst: ip.dst_addr(),
                protocol: ip.protocol(),
                ttl: ip.ttl(),
                router_alert: ip.has_router_alert(),
                payload: ip.payload(),
            };
            let id = interface_id(iface).index;
            if let Some(p) = self.host.protocols.consumer_mut(packet.protocol, id) {
                p.handle_packet(now, id, &packet);
            }
        }
        let handles: Vec<ProtocolHandle> = self.host.protocols.iter().map(|(h, _)| h).collect();
        for &handle in &handles {
            let Some(p) = self.host.protocols.by_handle_mut(handle) else {
                continue;
            };
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
            // Taken out first: the MGM calls below borrow the host the protocol lives in.
            let events: Vec<MembershipEvent> = std::iter::from_fn(|| p.poll_event()).collect();
            let out: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit()).collect();
            self.memberships(now, handle, events);
            for t in out {
                self.send_igmp(dp, &t);
            }
        }
        for &handle in &handles {
            let Some(p) = self.host.protocols.by_handle_mut(handle) else {
                continue;
            };
            p.handle_alerts(now);
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
            let out: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit()).collect();
            for t in out {
                self.send_igmp(dp, &t);
            }
        }
    }

    /// A protocol's membership changes into the MGM, as the protocol `handle` (IGMP's local
    /// membership: counted as IGMP joins and leaves).
    fn memberships(&mut self, now: Duration, handle: ProtocolHandle, events: Vec<MembershipEvent>) {
        for event in events {
            let (join, iface, source, group) = match event {
                MembershipEvent::Join {
                    iface,
                    source,
                    group,
                } => (true, iface, source, group),
                MembershipEvent::Leave {
                    iface,
                    source,
                    group,
                } => (false, iface, source, group),
            };
            let scope = match source {
                Some(s) => Scope::source_group(s, group),
                None => Scope::any_source(group),
            };
            let Ok(scope) = scope else {
                self.counters.igmp_membership_errors += 1;
                continue;
            };
            let id = InterfaceId::new(iface);
            let result = if join {
                self.mgm.add_group_membership(
                    now,
                    &mut self.host,
                    handle,
                    scope,
                    id,
                    MembershipFlags::JOIN,
                )
            } else {
                self.mgm.delete_group_membership(
                    now,
                    &mut self.host,
                    handle,
                    scope,
                    id,
                    MembershipFlags::JOIN,
                )
            };
            match result {
                Ok(()) if join => self.counters.igmp_joins += 1,
                Ok(()) => self.counters.igmp_leaves += 1,
                Err(_) => self.counters.igmp_membership_errors += 1,
            }
        }
    }

    /// The IGMP proxy, if one runs.
    pub fn proxy(&self) -> Option<&IgmpProxy> {
        self.host.protocols.get()
    }

    /// IGMP's interface view, if IGMP runs.
    pub fn igmp(&self) -> Option<&Igmp> {
        self.host.protocols.get()
    }

    /// Every running protocol (for their show views as data, [`Protocol::show`]).
    pub fn protocols(&self) -> &Protocols {
        &self.host.protocols
    }

    /// Creates the MFEs of exact (S,G) static routes now, as if their first packet had arrived
    /// on the route's incoming interface, so they forward from the first packet on. Their
    /// installs are applied at the next turn.
    fn prime_static_entries(&mut self, cfg: &Config) {
        let now = self.now();
        for r in &cfg.routes {
            let Some(source) = r.source else { continue };
            if self.mgm.get_mfe(now, source, r.group).is_ok() {
                continue;
            }
            let miss = Miss {
                source,
                group: r.group,
                arrival: interface_id(r.iif),
                header: &[],
            };
            if self.mgm.handle_miss(now, &mut self.host, &miss).is_err() {
                self.counters.misses_rejected += 1;
            }
        }
    }

    /// Applies `new` in place of `old` as a difference: memberships that went away are
    /// deleted and new ones added, so the MGM updates only the entries whose outgoing
    /// interfaces change; entries whose TTL thresholds change are re-published. Flows whose
    /// routes did not change are not touched. Changes that need a restart (ports, interfaces,
    /// workers, EAL arguments, a route's incoming interface) are refused and change nothing.
    pub fn reload(
        &mut self,
        old: &Config,
        new: &Config,
        dp: &mut Dataplane,
    ) -> Result<String, String> {
        let result = self.apply_reload(old, new, dp);
        if result.is_err() {
            self.counters.reloads_failed += 1;
        }
        result
    }

    fn apply_reload(
        &mut self,
        old: &Config,
        new: &Config,
        dp: &mut Dataplane,
    ) -> Result<String, String> {
        let restart = [
            (old.ports != new.ports, "ports"),
            (old.interfaces != new.interfaces, "interfaces"),
            (old.workers != new.workers, "workers"),
            (old.eal != new.eal, "eal"),
            (old.igmp_proxy != new.igmp_proxy, "igmp_proxy"),
            // The IGMP instance takes the SSM range at start.
            (old.ssm_range != new.ssm_range, "ssm_range"),
            (old.limits != new.limits, "limits"),
            (old.control != new.control, "control"),
        ];
        if let Some((_, what)) = restart.iter().find(|(changed, _)| *changed) {
            return Err(format!(
                "`{what}` changed: restart mrouter to apply that (nothing was changed)"
            ));
        }
        let old_routes = StaticRouting::from_config(old);
        let new_routes = StaticRouting::from_config(new);
        for (key, r) in new_routes.routes() {
            if let Some(o) = old_routes.routes().get(key) {
                if o.iif != r.iif {
                    let src = if key.0.is_unspecified() {
                        "*".to_string()
                    } else {
                        key.0.to_string()
                    };
                    return Err(format!(
                        "the incoming interface of route ({src}, {}) changed: remove the route, reload, then add it back (nothing was changed)",
                        key.1
                    ));
                }
            }
        }
        let before: HashSet<(Scope, InterfaceId)> =
            static_routing::memberships(old)?.into_iter().collect();
        let after: HashSet<(Scope, InterfaceId)> =
            static_routing::memberships(new)?.into_iter().collect();
        let handle = self
            .host
            .protocols
            .handle_of::<StaticRouting>()
            .ok_or("static routing is not registered")?;
        let now = self.now();
        // RPF routes: new sources use them at once; entries already made keep their IIF until
        // the MGM re-validates them (at the end of their lifetime).
        let mut rpf_changed = 0;
        for r in old
            .rpf_routes
            .iter()
            .filter(|r| !new.rpf_routes.contains(r))
        {
            self.host.rib.remove_route(r.network, r.prefix_len);
            rpf_changed += 1;
        }
        for r in new
            .rpf_routes
            .iter()
            .filter(|r| !old.rpf_routes.contains(r))
        {
            self.host.rib.add_route(
                r.network,
                r.prefix_len,
                interface_id(r.interface),
                r.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED),
            );
            rpf_changed += 1;
        }
        if let Some(routing) = self.host.protocols.get_mut::<StaticRouting>() {
            *routing = new_routes;
        }
        let (mut removed, mut added) = (0, 0);
        for &(scope, iface) in before.difference(&after) {
            self.mgm
                .delete_group_membership(
                    now,
                    &mut self.host,
                    handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("remove membership on {iface}"), e))?;
            removed += 1;
        }
        for &(scope, iface) in after.difference(&before) {
            self.mgm
                .add_group_membership(
                    now,
                    &mut self.host,
                    handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("add membership on {iface}"), e))?;
            added += 1;
        }
        // TTL thresholds live in the static routes, not in MGM: refresh the entries of groups
        // whose routes changed at all (MGM's own updates are applied after, in order).
        let changed_groups: HashSet<Ipv4Addr> = old_routes
            .routes()
            .iter()
            .filter(|(k, r)| self.host.static_routing().routes().get(k) != Some(r))
            .chain(
                self.host
                    .static_routing()
                    .routes()
                    .iter()
                    .filter(|(k, r)| old_routes.routes().get(k) != Some(r)),
            )
            .map(|((_, g), _)| *g)
            .collect();
        let refreshed = self.refresh_entries(dp, now, |m| changed_groups.contains(&m.group));
        self.prime_static_entries(new);
        self.apply_changes(dp, now);
        if refreshed > 0 {
            dp.publish();
        }
        self.counters.reloads += 1;
        Ok(format!(
            "reloaded: {removed} memberships removed, {added} added, {refreshed} entries refreshed, {rpf_changed} RPF routes changed"
        ))
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// One turn: signals, timers, table changes. Returns whether there was anything to do.
    pub fn turn(&mut self, dp: &mut Dataplane) -> bool {
        let now = self.now();
        let mut signals = Vec::new();
        let taken = dp.drain_signals_by_worker(SIGNALS_PER_TURN, |w, s| signals.push((w, s)));
        let mut seen = HashSet::new();
        self.limiter.refill(now);
        for (worker, s) in signals {
            match s {
                Signal::Miss {
                    source,
                    group,
                    port,
                    at,
                } => {
                    self.counters.misses_received += 1;
                    let (source, group) = (Ipv4Addr::from(source), Ipv4Addr::from(group));
                    if !seen.insert((source, group)) || self.mgm.get_mfe(now, source, group).is_ok()
                    {
                        self.counters.misses_duplicate += 1;
                        continue;
                    }
                    if self.own_addresses.contains(&source) {
                        self.counters.misses_own_source += 1;
                        continue;
                    }
                    if self.mgm.mfe_count() as u64 >= self.limiter.limits.max_mfes {
                        self.counters.misses_mfe_limit += 1;
                        continue;
                    }
                    match self.limiter.admit(worker, source) {
                        Ok(()) => {}
                        Err(MissRefused::Rate) => {
                            self.counters.misses_rate_limited += 1;
                            continue;
                        }
                        Err(MissRefused::Worker) => {
                            self.counters.misses_worker_limited += 1;
                            continue;
                        }
                        Err(MissRefused::Source) => {
                            self.counters.misses_source_limited += 1;
                            continue;
                        }
                    }
                    let miss = Miss {
                        source,
                        group,
                        arrival: self.interface(port),
                        header: &[],
                    };
                    if self.mgm.handle_miss(now, &mut self.host, &miss).is_err() {
                        self.counters.misses_rejected += 1;
                    } else {
                        self.miss_latency.arrived(source, group, at);
                    }
                }
                Signal::WrongInterface {
                    source,
                    group,
                    port,
                } => {
                    self.counters.wrong_if_received += 1;
                    let miss = Miss {
                        source: source.into(),
                        group: group.into(),
                        arrival: self.interface(port),
                        header: &[],
                    };
                    if self
                        .mgm
                        .handle_wrong_interface(now, &mut self.host, &miss)
                        .is_ok()
                    {
                        // The MGM counted this signal's packet; the sweep adds the rest.
                        if let Some(&slot) = self.slots.by_key.get(&(miss.source, miss.group)) {
                            self.slots.wrong_if_reported[slot as usize] += 1;
                        }
                    }
                }
            }
        }
        // New entries first: the workers hold those flows' first packets until they see them,
        // so they are published before anything else this turn does (control packets, timers,
        // the counter sweep, link checks), which publishes its own changes at the end.
        if taken > 0 {
            self.apply_changes(dp, now);
        }
        let counters = &mut self.counters;
        let mut igmp_in = Vec::new();
        let punted = dp.drain_control(PUNTED_PER_TURN, |port, m| {
            let proto = dataplane::wire::ether::Frame::new_checked(m.data())
                .ok()
                .and_then(|f| dataplane::wire::ipv4::Packet::new_checked(f.payload()).ok())
                .map(|ip| ip.protocol());
            match proto {
                Some(dataplane::wire::ipv4::PROTOCOL_IGMP) => {
                    counters.punted_igmp += 1;
                    igmp_in.push((port, m.to_vec()));
                }
                Some(dataplane::wire::ipv4::PROTOCOL_PIM) => counters.punted_pim += 1,
                _ => counters.punted_link_local += 1,
            }
        });
        self.run_protocols(dp, now, igmp_in);
        if self.mgm.poll_timeout().is_some_and(|t| t <= now) {
            self.mgm.handle_timeout(now, &mut self.host);
        }
        self.sweep_counters(dp, now);
        self.check_links(dp, now);
        let changed = self.apply_changes(dp, now);
        taken > 0 || punted > 0 || changed
    }

    /// Feeds the workers' per-entry counters to the MGM (so it sees which entries carry
    /// traffic, and `show mroute` shows packets and bytes): a sweep over every slot starts once
    /// a second and takes [`SWEEP_PER_TURN`] slots per turn, so no turn does O(table) work.
    fn sweep_counters(&mut self, dp: &mut Dataplane, now: Duration) {
        let slots = &mut self.slots;
        if !slots.sweeping {
            if now < slots.next_sweep {
                return;
            }
            slots.sweeping = true;
            slots.cursor = 0;
        }
        let end = (slots.cursor + SWEEP_PER_TURN).min(slots.key_of.len());
        for slot in slots.cursor..end {
            let Some((source, group)) = slots.key_of[slot] else {
                continue;
            };
            let totals = dp.entry_totals(slot as u32);
            let before = slots.reported[slot];
            // Workers count every wrong-interface packet; the signals the MGM counted one by one
            // are rate-limited samples of them. Top the MGM's count up to the exact one.
            let wrong_if = dp.entry_wrong_if(slot as u32);
            let wrong_if_extra = wrong_if.saturating_sub(slots.wrong_if_reported[slot]);
            // Copies per outgoing port, reported for the port's interface (the MGM ignores
            // interfaces no longer in the entry's OIF list).
            let mut oifs = Vec::new();
            for port in 0..slots.ports {
                let out = dp.entry_out(slot as u32, port as u16);
                let reported = &mut slots.out_reported[slot * slots.ports + port];
                if out > *reported {
                    if let Some(iface) = self.interface_of_port[port] {
                        let counters = mgm::OifCounters {
                            out_packets: out - *reported,
                            ..Default::default()
                        };
                        oifs.push((interface_id(iface), counters));
                    }
                    *reported = out;
                }
            }
            if totals.0 > before.0 || wrong_if_extra > 0 || !oifs.is_empty() {
                let delta = mgm::MfeStatsDelta {
                    mfe: mgm::MfeCounters {
                        in_packets: totals.0.saturating_sub(before.0),
                        in_octets: totals.1.saturating_sub(before.1),
                        pkts_different_if: wrong_if_extra,
                        total_out_packets: oifs.iter().map(|(_, c)| c.out_packets).sum(),
                        ..Default::default()
                    },
                    oifs,
                };
                let _ = self.mgm.update_mfe_stats(now, source, group, &delta);
                slots.reported[slot] = totals;
                slots.wrong_if_reported[slot] += wrong_if_extra;
            }
        }
        slots.cursor = end;
        if end >= slots.key_of.len() {
            slots.sweeping = false;
            slots.next_sweep = now + SWEEP_EVERY;
        }
    }

    /// Reads every port's link state (every [`LINK_CHECK_EVERY`], [`LINK_CHECK_WHILE_DOWN`]
    /// while one is down); when one changed, every
    /// entry is re-published with the ports that are up (like an interface going down on a
    /// kernel router). O(entries) per change; link changes are rare.
    fn check_links(&mut self, dp: &mut Dataplane, now: Duration) {
        if now < self.next_link_check {
            return;
        }
        // Ports that could not start are started again, memif clients whose link stayed down
        // restarted; their link state follows below.
        dp.maintain_ports();
        let mut changed = false;
        let mut came_up = Vec::new();
        for (port, up) in self.link_up.iter_mut().enumerate() {
            let now_up = dp.link_up(port);
            if now_up != *up {
                *up = now_up;
                changed = true;
                self.counters.link_changes += 1;
                println!(
                    "mrouter: port {port} link {}",
                    if now_up { "up" } else { "down" }
                );
                if now_up {
                    came_up.push(port);
                }
            }
        }
        // IGMP's queries on a port that was down (or not started yet) were lost: its startup
        // queries run again.
        for port in came_up {
            let iface = self.interface_of_port.get(port).copied().flatten();
            if let (Some(iface), Some(igmp)) = (iface, self.host.protocols.get_mut::<Igmp>()) {
                igmp.link_up(
                    now,
                    crate::interface::Interface::from_config_index(iface).index(),
                );
            }
        }
        let every = if self.link_up.iter().all(|u| *u) {
            LINK_CHECK_EVERY
        } else {
            LINK_CHECK_WHILE_DOWN
        };
        self.next_link_check = now + every;
        if !changed {
            return;
        }
        self.refresh_entries(dp, now, |_| true);
        dp.publish();
        self.counters.publishes += 1;
    }

    /// Stages a fresh data-plane route for every MFE `which` selects (their OIFs, TTL
    /// thresholds or ports' link state changed outside the MGM); returns how many. The caller
    /// publishes.
    fn refresh_entries(
        &mut self,
        dp: &mut Dataplane,
        now: Duration,
        which: impl Fn(&mgm::MibMfe) -> bool,
    ) -> usize {
        let mfes: Vec<mgm::MibMfe> = self.mgm.mfes(now).filter(|m| which(m)).collect();
        for mfe in &mfes {
            let entry = mgm::MfeEntry {
                source: mfe.source,
                group: mfe.group,
                iif: mfe.iif,
                upstream: mfe.upstream,
                oifs: mfe.oifs.clone(),
            };
            let slot = self.slots.alloc((mfe.source, mfe.group), dp);
            let route = self.route_of(&entry, slot);
            dp.fib().insert(Some(mfe.source), mfe.group, route);
        }
        mfes.len()
    }

    /// Whether port `port`'s link was up at the last check.
    pub fn port_link_up(&self, port: usize) -> bool {
        self.link_up.get(port).copied().unwrap_or(false)
    }

    fn interface(&self, port: u16) -> InterfaceId {
        self.interface_of_port
            .get(port as usize)
            .copied()
            .flatten()
            .map_or(InterfaceId::NONE, interface_id)
    }

    /// The data plane's route for an MFE: ports instead of interfaces, TTL thresholds from
    /// the static route that governs it.
    fn route_of(&self, entry: &mgm::MfeEntry, counter: u32) -> Route {
        let port = |i: InterfaceId| {
            config_index(i).and_then(|idx| self.port_of_interface.get(idx).copied())
        };
        Route {
            counter,
            iif: port(entry.iif).unwrap_or(u16::MAX),
            oifs: entry
                .oifs
                .iter()
                .filter_map(|&o| {
                    let p = port(o)?;
                    if !self.link_up.get(usize::from(p)).copied().unwrap_or(true) {
                        return None;
                    }
                    Some(Oif {
                        port: p,
                        ttl_threshold: self.host.static_routing().ttl_threshold(
                            entry.source,
                            entry.group,
                            o,
                        ),
                    })
                })
                .collect(),
        }
    }

    fn apply_changes(&mut self, dp: &mut Dataplane, now: Duration) -> bool {
        let changes: Vec<MfeChange> = self.mgm.drain_mfe_changes().collect();
        if changes.is_empty() {
            return false;
        }
        let mut released = Vec::new();
        let mut installed = Vec::new();
        for change in changes {
            match change {
                MfeChange::Install(e) => {
                    installed.push((e.source, e.group));
                    let slot = self.slots.alloc((e.source, e.group), dp);
                    let route = self.route_of(&e, slot);
                    dp.fib().insert(Some(e.source), e.group, route);
                    self.meta
                        .insert((e.source, e.group), MfeMeta { installed: now });
                    self.counters.mfes_installed += 1;
                }
                MfeChange::Update(e) => {
                    let slot = self.slots.alloc((e.source, e.group), dp);
                    let route = self.route_of(&e, slot);
                    dp.fib().insert(Some(e.source), e.group, route);
                    self.counters.mfes_updated += 1;
                }
                MfeChange::Delete { source, group } => {
                    dp.fib().remove(Some(source), group);
                    released.extend(self.slots.release((source, group)));
                    self.meta.remove(&(source, group));
                    self.counters.mfes_deleted += 1;
                }
            }
        }
        let epoch = dp.publish();
        self.miss_latency.published(&installed);
        self.slots
            .retired
            .extend(released.into_iter().map(|s| (s, epoch)));
        self.counters.publishes += 1;
        true
    }

    /// Counts a reload refused before it reached [`ControlCore::reload`] (a bad file).
    pub fn reload_refused(&mut self) {
        self.counters.reloads_failed += 1;
    }

    /// Miss-to-install latency so far: (count, p50, p99, max) in microseconds.
    pub fn miss_latency(&self) -> (u64, u64, u64, u64) {
        self.miss_latency.summary()
    }

    /// The MGM (read-only), for views.
    pub fn mgm(&self) -> &Mgm {
        &self.mgm
    }

    /// The static routing protocol's current routes.
    pub fn static_routing(&self) -> &StaticRouting {
        self.host.static_routing()
    }

    /// Counters.
    pub fn counters(&self) -> ControlCounters {
        self.counters
    }

    /// Time since the control core started.
    pub fn uptime(&self) -> Duration {
        self.now()
    }

    /// When an entry was installed.
    pub fn meta(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<MfeMeta> {
        self.meta.get(&(source, group)).copied()
    }

    /// The RPF route toward `source`.
    pub fn rpf(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.host.rib.rpf_lookup(source)
    }

    /// The MGM's view of every MFE, in (group, source) order.
    pub fn mfes(&self) -> Vec<mgm::MibMfe> {
        self.mgm.mfes(self.now()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32, per_worker: u32, per_source: u32) -> Limits {
        Limits {
            miss_rate: rate,
            miss_burst: burst,
            miss_rate_per_worker: per_worker,
            miss_rate_per_source: per_source,
            ..Limits::default()
        }
    }

    fn src(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 1, n)
    }

    #[test]
    fn miss_limiter_burst_then_rate() {
        let mut l = MissLimiter::new(limits(100, 10, 100, 1000), 1);
        l.refill(Duration::ZERO);
        let taken = (0..20u8).filter(|&i| l.admit(0, src(i)).is_ok()).count();
        assert_eq!(taken, 10, "the burst");
        assert_eq!(l.admit(0, src(99)), Err(MissRefused::Rate));
        l.refill(Duration::from_millis(50)); // 5 tokens at 100/s
        let taken = (0..20u8)
            .filter(|&i| l.admit(0, src(100 + i)).is_ok())
            .count();
        assert_eq!(taken, 5);
    }

    #[test]
    fn miss_limiter_one_worker_cannot_take_every_token() {
        let mut l = MissLimiter::new(limits(1000, 100, 10, 1000), 2);
        l.refill(Duration::ZERO);
        let w0 = (0..50u8).filter(|&i| l.admit(0, src(i)).is_ok()).count();
        assert_eq!(w0, 10);
        assert_eq!(l.admit(0, src(200)), Err(MissRefused::Worker));
        let w1 = (0..50u8)
            .filter(|&i| l.admit(1, src(100 + i)).is_ok())
            .count();
        assert_eq!(w1, 10, "the other worker still has its share");
    }

    #[test]
    fn miss_limiter_per_source_window() {
        let mut l = MissLimiter::new(limits(1000, 1000, 1000, 3), 1);
        l.refill(Duration::ZERO);
        let one = (0..10).filter(|_| l.admit(0, src(1)).is_ok()).count();
        assert_eq!(one, 3);
        assert_eq!(l.admit(0, src(1)), Err(MissRefused::Source));
        assert!(l.admit(0, src(2)).is_ok(), "other sources are not affected");
        l.refill(Duration::from_millis(1000));
        assert!(l.admit(0, src(1)).is_ok(), "a new window");
    }
}
