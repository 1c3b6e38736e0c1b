//! The register path (RFC 7761 4.4): the first-hop DR's per-(S,G) register state machine
//! (4.4.1) and the RP's handling of Registers (4.4.2), sans-IO like the rest of PIM.
//!
//! **First-hop DR.** Data of (S,G) arriving on a PIM interface (the MGM's RPF callback when
//! it makes the entry, `Pim::data_arrival`) starts register state when CouldRegister(S,G):
//! we are the DR there, S is on that interface's subnet (DirectlyConnected), G is not SSM and
//! RP(G) is known and is not one of our addresses. The states are NoInfo (no entry here),
//! Join, Prune and JoinPending, with the Register-Stop Timer:
//! - Join: the entry is flagged `COPY_TO_CONTROL` ([`Pim::register_copy_wanted`], read by the
//!   core when it builds the data-plane route; [`Pim::poll_entry_refresh`] names the entries
//!   whose wish changed). Each copy ([`Pim::handle_data_copy`]) goes to the RP in a Register
//!   (unicast, checksum over the PIM header only) and restarts the Keepalive Timer; with no
//!   copy for Keepalive_Period the source is gone and the state goes (NoInfo).
//! - Register-Stop received in Join or JoinPending: Prune, the flag cleared, the timer set to
//!   rand(0.5, 1.5) * Register_Suppression_Time - Register_Probe_Time.
//! - Timer expiry in Prune: a Null-Register to the RP, JoinPending, the timer set to
//!   Register_Probe_Time; expiry in JoinPending (no Register-Stop came): Join again.
//! - CouldRegister turning false (no longer DR, the RP gone or now us, the group SSM): NoInfo;
//!   RP(G) changed: Join toward the new RP.
//!
//! **RP.** A Register to one of our addresses for a group whose RP(G) is that address
//! ([`Pim::handle_register`]); otherwise a Register-Stop goes back at once. With the olist
//! inherited_olist(S,G) from the join/prune machines and SPTbit(S,G):
//! - SPTbit, or SwitchToSptDesired (the SPT policy `immediate`) with an empty olist: a
//!   Register-Stop to the DR;
//! - SPTbit or SwitchToSptDesired: the (S,G) Keepalive Timer runs, so the machines join toward
//!   the source while the olist is not empty;
//! - no SPTbit and not a Null-Register: the inner packet is decapsulated, its TTL decremented,
//!   and sent out of each interface of the olist ([`Pim::poll_forward`]: the core sends it as
//!   a frame on the interface's port, as it sends PIM's own datagrams; the rate is bounded by
//!   what reaches PIM through the punt path, and the queue by [`MAX_FORWARDS`]).
//!
//! When (S,G) data then arrives natively on the interface toward S with (S,G) joined, the
//! machines set SPTbit(S,G) and a Register-Stop goes to every DR that registered (S,G) (not
//! waiting for its next Register, which would get one as well).
//!
//! Unicast out: Registers and Register-Stops are [`crate::protocols::shared::Datagram`]s with
//! a unicast destination, which the core hands to the kernel (a raw socket in mrouter's
//! namespace: the kernel routes them through a twin and resolves the next hop).
//!
//! Everything is counted ([`RegisterCounters`](super::register_state::RegisterCounters)); a malformed Register or Register-Stop is a
//! counted drop.

use super::config::{PimSettings, SptSwitchover};
use super::instance::Pim;
use super::register_state::{
    DrEntry, RegisterInfo, RegisterState, RegisterView, Registers, RpEntry, RpRegisterInfo,
};
use crate::interface::Interface as Iface;
use crate::protocols::igmp::in_prefix;
use crate::protocols::shared::Datagram;
use dataplane::wire::ipv4;
use dataplane::wire::pim::{EncodedGroup, Register, RegisterStop, Repr};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Register_Suppression_Time (4.11).
pub const REGISTER_SUPPRESSION_TIME: Duration = Duration::from_secs(60);
/// Register_Probe_Time (4.11).
pub const REGISTER_PROBE_TIME: Duration = Duration::from_secs(5);
/// Keepalive_Period (4.11): the DR's register state lives this long without data.
pub const KEEPALIVE_PERIOD: Duration = Duration::from_secs(210);
/// RP_Keepalive_Period (4.11) = 3 * Register_Suppression_Time + Register_Probe_Time.
pub const RP_KEEPALIVE_PERIOD: Duration = Duration::from_secs(185);
/// Most (S,G) register states at the DR and at the RP each; beyond it new ones are refused and
/// counted (`state_limit`).
pub const MAX_REGISTER_STATES: usize = 4096;
/// Most decapsulated packets waiting for the core; beyond it they are dropped and counted.
pub const MAX_FORWARDS: usize = 1024;
/// Data arrivals kept between two turns at most (the rest counted as `arrivals_dropped`).
const MAX_ARRIVALS: usize = 4096;

/// The IPv4 source and destination of a packet (or a Null-Register's header): `None` unless
/// it starts with a whole IPv4 header.
fn inner_addresses(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if packet.len() < ipv4::HEADER_LEN || packet[0] >> 4 != 4 {
        return None;
    }
    let addr =
        |at: usize| Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
    Some((addr(12), addr(16)))
}

impl Pim {
    /// Our addresses on the PIM interfaces.
    fn is_own_address(&self, addr: Ipv4Addr) -> bool {
        self.interfaces.values().any(|i| i.address == addr)
    }

    /// RP(G) for a group outside the SSM range.
    fn register_rp(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        if in_prefix(group, self.ssm_range.0, self.ssm_range.1) {
            return None;
        }
        PimSettings::rp_for(&self.rps, group)
    }

    /// CouldRegister(S,G) on `iface` (4.4.1): DR there, S on its subnet, G with an RP that is
    /// not us. Returns the RP and our address there.
    fn could_register(
        &self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: Iface,
    ) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let i = self.interfaces.get(&iface)?;
        if !i.is_dr() || !in_prefix(source, i.address, i.prefix_len) || source == i.address {
            return None;
        }
        let rp = self.register_rp(group)?;
        if self.is_own_address(rp) {
            return None;
        }
        Some((rp, i.address))
    }

    /// Data of (S,G) arrived on `iface` (the MGM is making or re-validating its entry there).
    /// The DR side is taken in at once (CouldRegister -> Join), so the entry the MGM is making
    /// is flagged `COPY_TO_CONTROL` in its first publication and the packets the workers held
    /// while it was made are registered too (they went unregistered when Join waited for
    /// the next turn); the RP side is queued for [`Pim::register_sync`].
    pub(super) fn data_arrival(&mut self, source: Ipv4Addr, group: Ipv4Addr, iface: Iface) {
        // The Keepalive Timer from the last turn's time: at most a turn early of 210 s.
        self.dr_data(self.tree_now, source, group, iface);
        let r = &mut self.register;
        if r.arrivals.len() >= MAX_ARRIVALS {
            r.counters.arrivals_dropped += 1;
            return;
        }
        r.arrivals.push((source, group, iface));
    }

    /// Takes in the data arrivals (the DR's CouldRegister, the RP's SPT bit), and checks every
    /// DR state against CouldRegister and RP(G) again (DR, RP set and SSM range changes).
    pub(super) fn register_sync(&mut self, now: Duration) {
        let arrivals = std::mem::take(&mut self.register.arrivals);
        for (source, group, iface) in arrivals {
            self.dr_data(now, source, group, iface);
            // At the RP, data of a registered (S,G) may be the SPT's: the machines decide
            // (Update_SPTbit). Other data arrivals are the SPT switchover's to feed.
            if self.register.rp.contains_key(&(source, group)) {
                self.with_tib(|tib, env| tib.data_arrived(now, source, group, iface, env));
                self.rp_data(source, group);
            }
        }
        // The states again, when what CouldRegister reads changed (every turn calls this).
        let inputs = self.register_inputs();
        if self.register.inputs == Some(inputs) {
            return;
        }
        self.register.inputs = Some(inputs);
        let keys: Vec<(Ipv4Addr, Ipv4Addr)> = self.register.dr.keys().copied().collect();
        for (source, group) in keys {
            let Some(e) = self.register.dr.get(&(source, group)).copied() else {
                continue;
            };
            match self.could_register(source, group, e.iface) {
                None => {
                    // CouldRegister -> false: NoInfo.
                    self.register.dr.remove(&(source, group));
                    self.register.refresh.insert((source, group));
                }
                Some((rp, _)) if rp != e.rp => {
                    // RP changed: Join toward the new one.
                    let e = self.register.dr.get_mut(&(source, group)).expect("present");
                    e.rp = rp;
                    e.state = RegisterState::Join;
                    e.stop_timer = None;
                    e.keepalive = now + KEEPALIVE_PERIOD;
                    self.register.refresh.insert((source, group));
                }
                Some(_) => {}
            }
        }
    }

    /// A digest of what CouldRegister and RP(G) read besides the (S,G): each interface's
    /// address, prefix and DR, the static RPs, the SSM range.
    fn register_inputs(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (id, i) in &self.interfaces {
            (id.id(), i.address, i.prefix_len, i.is_dr()).hash(&mut h);
        }
        for rp in &self.rps {
            (rp.address, rp.groups).hash(&mut h);
        }
        self.ssm_range.hash(&mut h);
        h.finish()
    }

    /// The DR side of a data arrival: CouldRegister -> true starts Join.
    fn dr_data(&mut self, now: Duration, source: Ipv4Addr, group: Ipv4Addr, iface: Iface) {
        let Some((rp, address)) = self.could_register(source, group, iface) else {
            return;
        };
        let r = &mut self.register;
        if let Some(e) = r.dr.get_mut(&(source, group)) {
            e.keepalive = e.keepalive.max(now + KEEPALIVE_PERIOD);
            return;
        }
        if r.dr.len() >= MAX_REGISTER_STATES {
            r.counters.state_limit += 1;
            return;
        }
        r.dr.insert(
            (source, group),
            DrEntry {
                iface,
                address,
                rp,
                state: RegisterState::Join,
                stop_timer: None,
                keepalive: now + KEEPALIVE_PERIOD,
            },
        );
        r.refresh.insert((source, group));
    }

    /// The RP side of a data arrival: when the machines now have SPTbit(S,G), every DR that
    /// registered (S,G) gets a Register-Stop.
    fn rp_data(&mut self, source: Ipv4Addr, group: Ipv4Addr) {
        let Some(e) = self.register.rp.get(&(source, group)) else {
            return;
        };
        if e.stopped || !self.tib.register_olist(source, group).1 {
            return;
        }
        let from: Vec<Ipv4Addr> = e.from.iter().copied().collect();
        let iface = e.iface;
        for dr in from {
            self.send_register_stop(source, group, dr, iface);
        }
        if let Some(e) = self.register.rp.get_mut(&(source, group)) {
            e.stopped = true;
        }
    }

    /// Whether the data plane should copy (S,G)'s packets to the control core: its register
    /// state is Join.
    pub fn register_copy_wanted(&self, source: Ipv4Addr, group: Ipv4Addr) -> bool {
        self.register
            .dr
            .get(&(source, group))
            .is_some_and(|e| e.state == RegisterState::Join)
    }

    /// The next (S,G) whose copy wish ([`Pim::register_copy_wanted`]) changed.
    pub fn poll_entry_refresh(&mut self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        self.register.refresh.pop_first()
    }

    /// The next decapsulated packet to send: (interface, whole IPv4 packet, TTL already
    /// decremented).
    pub fn poll_forward(&mut self) -> Option<(Iface, Vec<u8>)> {
        self.register.forwards.pop_front()
    }

    /// A copy of a data packet (`ip`: the IPv4 packet, from its header) of an entry flagged
    /// `COPY_TO_CONTROL`, arrived on `iface`: in Join, encapsulated in a Register to the RP.
    pub fn handle_data_copy(&mut self, now: Duration, _iface: Iface, ip: &[u8]) {
        let Ok(p) = ipv4::Packet::new_checked(ip) else {
            self.register.counters.copies_malformed += 1;
            return;
        };
        let (source, group) = (p.src_addr(), p.dst_addr());
        let len = usize::from(p.total_len()).min(ip.len());
        let Some(e) = self.register.dr.get_mut(&(source, group)) else {
            self.register.counters.copies_not_join += 1;
            return;
        };
        if e.state != RegisterState::Join {
            self.register.counters.copies_not_join += 1;
            return;
        }
        e.keepalive = now + KEEPALIVE_PERIOD;
        let (iface, src, rp) = (e.iface, e.address, e.rp);
        let reg = Register {
            border: false,
            null: false,
            packet: &ip[..len],
        };
        self.outbox
            .push_back(unicast(iface, src, rp, Repr::Register(reg).to_bytes()));
        self.register.counters.registers_sent += 1;
    }

    /// A Register-Stop from `src` (4.4.1): Join and JoinPending go to Prune.
    pub(super) fn handle_register_stop(&mut self, now: Duration, stop: &RegisterStop) {
        self.register.counters.register_stops_received += 1;
        let group = stop.group.addr;
        let keys: Vec<(Ipv4Addr, Ipv4Addr)> = self
            .register
            .dr
            .keys()
            .filter(|(s, g)| *g == group && (stop.source.is_unspecified() || *s == stop.source))
            .copied()
            .collect();
        if keys.is_empty() {
            self.register.counters.register_stops_no_state += 1;
            return;
        }
        for key in keys {
            // rand(0.5, 1.5) * Register_Suppression_Time - Register_Probe_Time.
            let suppression =
                REGISTER_SUPPRESSION_TIME / 2 + self.rng.below(REGISTER_SUPPRESSION_TIME);
            let Some(e) = self.register.dr.get_mut(&key) else {
                continue;
            };
            match e.state {
                RegisterState::Join | RegisterState::JoinPending => {
                    if e.state == RegisterState::Join {
                        self.register.refresh.insert(key);
                    }
                    e.state = RegisterState::Prune;
                    e.stop_timer = Some(now + suppression.saturating_sub(REGISTER_PROBE_TIME));
                }
                RegisterState::Prune => {}
            }
        }
    }

    /// A Register from `src` to `dst` on `iface` (4.4.2, at the RP).
    pub(super) fn handle_register(
        &mut self,
        now: Duration,
        iface: Iface,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        reg: &Register<'_>,
    ) {
        let c = &mut self.register.counters;
        c.registers_received += 1;
        if reg.null {
            c.null_registers_received += 1;
        }
        let Some((source, group)) = inner_addresses(reg.packet) else {
            c.dropped_malformed += 1;
            return;
        };
        if !group.is_multicast() || source.is_multicast() || source.is_unspecified() {
            c.dropped_malformed += 1;
            return;
        }
        // I_am_RP(G) and outer.dst = RP(G); otherwise Register-Stop(S,G) to outer.src.
        if self.register_rp(group) != Some(dst) || !self.is_own_address(dst) {
            self.register.counters.dropped_not_rp += 1;
            self.send_register_stop(source, group, src, iface);
            return;
        }
        let r = &mut self.register;
        if !r.rp.contains_key(&(source, group)) && r.rp.len() >= MAX_REGISTER_STATES {
            r.counters.state_limit += 1;
        } else {
            let e = r.rp.entry((source, group)).or_insert_with(|| RpEntry {
                from: BTreeSet::new(),
                iface,
                last: now,
                stopped: false,
            });
            e.from.insert(src);
            e.iface = iface;
            e.last = now;
        }
        let (olist, spt) = self.tib.register_olist(source, group);
        let switch = self.spt_switchover == SptSwitchover::Immediate;
        if spt || (switch && olist.is_empty()) {
            self.send_register_stop(source, group, src, iface);
        }
        if spt || switch {
            self.with_tib(|tib, env| {
                tib.register_keepalive(now, source, group, RP_KEEPALIVE_PERIOD, env)
            });
        }
        if reg.null {
            return;
        }
        if spt {
            self.register.counters.dropped_spt += 1;
            return;
        }
        // The olist as it is after the keepalive (a join toward S changes no oif).
        let (olist, _) = self.tib.register_olist(source, group);
        if olist.is_empty() {
            self.register.counters.dropped_no_olist += 1;
            return;
        }
        self.forward_decapsulated(reg.packet, &olist);
    }

    /// The inner packet, TTL decremented, out of each interface of `olist`.
    fn forward_decapsulated(&mut self, packet: &[u8], olist: &BTreeSet<Iface>) {
        let c = &mut self.register.counters;
        let Ok(p) = ipv4::Packet::new_checked(packet) else {
            c.dropped_malformed += 1;
            return;
        };
        if p.ttl() <= 1 {
            c.dropped_ttl += 1;
            return;
        }
        let len = usize::from(p.total_len()).min(packet.len());
        let hlen = usize::from(p.header_len());
        let mut out = packet[..len].to_vec();
        out[8] -= 1;
        out[10] = 0;
        out[11] = 0;
        let sum = ipv4::checksum(&out[..hlen]);
        out[10..12].copy_from_slice(&sum.to_be_bytes());
        for &oif in olist {
            if self.register.forwards.len() >= MAX_FORWARDS {
                self.register.counters.dropped_queue_full += 1;
                continue;
            }
            self.register.forwards.push_back((oif, out.clone()));
            self.register.counters.decapsulated += 1;
        }
    }

    /// A Register-Stop for (S,G) to `dr`.
    fn send_register_stop(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        dr: Ipv4Addr,
        iface: Iface,
    ) {
        let stop = RegisterStop {
            group: EncodedGroup::host(group),
            source,
        };
        let src = self
            .interfaces
            .get(&iface)
            .map_or(Ipv4Addr::UNSPECIFIED, |i| i.address);
        self.outbox
            .push_back(unicast(iface, src, dr, Repr::RegisterStop(stop).to_bytes()));
        self.register.counters.register_stops_sent += 1;
    }

    /// The register timers due at `now`: the Register-Stop Timer (Prune -> JoinPending with a
    /// Null-Register, JoinPending -> Join), the DR's Keepalive Timer in Join (the source
    /// stopped: NoInfo), and the RP's states no Register refreshed for RP_Keepalive_Period.
    pub(super) fn register_timeout(&mut self, now: Duration) {
        let keys: Vec<(Ipv4Addr, Ipv4Addr)> = self.register.dr.keys().copied().collect();
        for key in keys {
            let Some(e) = self.register.dr.get_mut(&key) else {
                continue;
            };
            match e.state {
                RegisterState::Join if e.keepalive <= now => {
                    self.register.dr.remove(&key);
                    self.register.refresh.insert(key);
                }
                RegisterState::Prune if e.stop_timer.is_some_and(|t| t <= now) => {
                    e.state = RegisterState::JoinPending;
                    e.stop_timer = Some(now + REGISTER_PROBE_TIME);
                    let (iface, src, rp) = (e.iface, e.address, e.rp);
                    // A Null-Register: the data packet's IPv4 header only (4.4.1).
                    let mut header = vec![0u8; ipv4::HEADER_LEN];
                    ipv4::Repr {
                        src_addr: key.0,
                        dst_addr: key.1,
                        protocol: ipv4::PROTOCOL_UDP,
                        payload_len: 0,
                        ttl: 1,
                        dscp_ecn: 0,
                    }
                    .emit(&mut ipv4::Packet::new_unchecked(&mut header[..]));
                    let reg = Register {
                        border: false,
                        null: true,
                        packet: &header,
                    };
                    self.outbox
                        .push_back(unicast(iface, src, rp, Repr::Register(reg).to_bytes()));
                    self.register.counters.null_registers_sent += 1;
                }
                RegisterState::JoinPending if e.stop_timer.is_some_and(|t| t <= now) => {
                    e.state = RegisterState::Join;
                    e.stop_timer = None;
                    e.keepalive = now + KEEPALIVE_PERIOD;
                    self.register.refresh.insert(key);
                }
                _ => {}
            }
        }
        self.register
            .rp
            .retain(|_, e| e.last + RP_KEEPALIVE_PERIOD > now);
    }

    /// The earliest register deadline.
    pub(super) fn register_deadline(&self) -> Option<Duration> {
        let dr = self.register.dr.values().filter_map(|e| match e.state {
            RegisterState::Join => Some(e.keepalive),
            _ => e.stop_timer,
        });
        let rp = self
            .register
            .rp
            .values()
            .map(|e| e.last + RP_KEEPALIVE_PERIOD);
        dr.chain(rp).min()
    }

    /// `show pim register` at `now`.
    pub fn register_view(&self, now: Duration) -> RegisterView {
        RegisterView {
            dr: self
                .register
                .dr
                .iter()
                .map(|(&(source, group), e)| RegisterInfo {
                    source,
                    group,
                    iface: e.iface,
                    rp: e.rp,
                    state: e.state,
                    stop_timer: e.stop_timer.map(|t| t.saturating_sub(now)),
                    keepalive: e.keepalive.saturating_sub(now),
                })
                .collect(),
            rp: self
                .register
                .rp
                .iter()
                .map(|(&(source, group), e)| RpRegisterInfo {
                    source,
                    group,
                    from: e.from.iter().copied().collect(),
                    last: now.saturating_sub(e.last),
                    spt: self.tib.register_olist(source, group).1,
                })
                .collect(),
            counters: self.register.counters,
        }
    }

    /// The register path's state (tests, show).
    pub fn registers(&self) -> &Registers {
        &self.register
    }
}

/// A unicast PIM datagram: the core hands it to the kernel, which routes it (through a twin)
/// and resolves the next hop; `iface` and `src` are informative (the kernel picks the source
/// address of the interface it routes through).
fn unicast(iface: Iface, src: Ipv4Addr, dst: Ipv4Addr, payload: Vec<u8>) -> Datagram {
    Datagram {
        iface,
        src,
        dst,
        protocol: ipv4::PROTOCOL_PIM,
        ttl: 64,
        dscp_ecn: 0xc0,
        payload,
    }
}
