//! What the `core_*` tests share: a recording fake data plane (implements
//! `control::control_core::DataPlane`; no DPDK, no EAL) and a router harness with a virtual
//! clock that fires the control core's timers at their exact times.
#![allow(dead_code)] // each test binary uses a different part

use control::config::{self, Config};
use control::control_core::{ControlCore, CoreEvent, DataPlane, Publication, WorkerSignal};
use control::protocols::shared::Transmit;
use dataplane::fib::{Route, NO_COUNTER};
use dataplane::wire::{ether, igmp, ipv4};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// (source, group) of a table entry; `None` is (*,G).
pub type Key = (Option<Ipv4Addr>, Ipv4Addr);

/// One staged table change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Added or replaced.
    Insert(Key, Route),
    /// Removed.
    Remove(Key),
}

/// A data plane that records what the control core does to it.
pub struct FakePlane {
    /// The virtual clock's time (stamps publications).
    pub now: Duration,
    /// Signals the workers "sent": (worker, signal).
    pub signals: VecDeque<(usize, WorkerSignal)>,
    /// Frames the workers "punted": (port, frame).
    pub punted: VecDeque<(u16, Vec<u8>)>,
    /// Copies of flagged entries' packets the workers "made": (port, frame).
    pub entry_copies: VecDeque<(u16, Vec<u8>)>,
    /// Frames the core sent: (time, port, frame).
    pub sent: Vec<(Duration, u16, Vec<u8>)>,
    /// Refuse every send (a full queue).
    pub refuse_sends: bool,
    /// The table as published.
    pub table: BTreeMap<Key, Route>,
    staged: Vec<Change>,
    /// Every publication: (time, its changes).
    pub publications: Vec<(Duration, Vec<Change>)>,
    /// Link state per port.
    pub links: Vec<bool>,
    /// Times `maintain_ports` was called.
    pub maintained: usize,
    /// Per counter index: (packets, bytes), copies per port, wrong-interface packets.
    pub totals: HashMap<u32, (u64, u64)>,
    /// Copies per (index, port).
    pub out: HashMap<(u32, u16), u64>,
    /// Wrong-interface packets per index.
    pub wrong_if: HashMap<u32, u64>,
    /// Workers acknowledge every publication at once unless this is false.
    pub auto_ack: bool,
    /// Entries that can have counters.
    pub counter_capacity: usize,
    acked: u64,
    epoch: u64,
    /// Taps made (`add_tap`): (kernel name, MAC, MTU, link up).
    pub taps: Vec<(String, [u8; 6], u16, bool)>,
    /// Ports told to punt their exception traffic.
    pub exception_ports: Vec<u16>,
    /// Frames handed to a tap's kernel side: (tap, frame).
    pub to_kernel: Vec<(usize, Vec<u8>)>,
    /// Frames "the kernel sent" on a tap, for the core to take: (tap, frame).
    pub from_kernel: VecDeque<(usize, Vec<u8>)>,
}

impl FakePlane {
    /// `ports` ports, every link up.
    pub fn new(ports: usize) -> FakePlane {
        FakePlane {
            now: Duration::ZERO,
            signals: VecDeque::new(),
            punted: VecDeque::new(),
            entry_copies: VecDeque::new(),
            sent: Vec::new(),
            refuse_sends: false,
            table: BTreeMap::new(),
            staged: Vec::new(),
            publications: Vec::new(),
            links: vec![true; ports],
            maintained: 0,
            totals: HashMap::new(),
            out: HashMap::new(),
            wrong_if: HashMap::new(),
            auto_ack: true,
            counter_capacity: 1 << 16,
            acked: 0,
            epoch: 0,
            taps: Vec::new(),
            exception_ports: Vec::new(),
            to_kernel: Vec::new(),
            from_kernel: VecDeque::new(),
        }
    }

    /// The published entry of (source, group).
    pub fn entry(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<&Route> {
        self.table.get(&(Some(source), group))
    }

    /// The published entry's outgoing ports and thresholds.
    pub fn oifs(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<Vec<(u16, u8)>> {
        self.entry(source, group)
            .map(|r| r.oifs.iter().map(|o| (o.port, o.ttl_threshold)).collect())
    }

    /// Every change published for (source, group), in order.
    pub fn changes_of(&self, source: Ipv4Addr, group: Ipv4Addr) -> Vec<Change> {
        let key = (Some(source), group);
        self.publications
            .iter()
            .flat_map(|(_, c)| c)
            .filter(|c| match c {
                Change::Insert(k, _) | Change::Remove(k) => *k == key,
            })
            .cloned()
            .collect()
    }

    /// Counts `packets` packets of `bytes` bytes each on (source, group)'s published entry,
    /// as the workers would.
    pub fn count(&mut self, source: Ipv4Addr, group: Ipv4Addr, packets: u64, bytes: u64) {
        let counter = self.entry(source, group).expect("entry").counter;
        assert_ne!(counter, NO_COUNTER);
        let t = self.totals.entry(counter).or_default();
        t.0 += packets;
        t.1 += packets * bytes;
    }

    /// Workers pass every publication so far.
    pub fn acknowledge_all(&mut self) {
        self.acked = self.epoch;
    }
}

impl DataPlane for FakePlane {
    fn drain_signals(&mut self, max: usize, f: &mut dyn FnMut(usize, WorkerSignal)) -> usize {
        let mut n = 0;
        while n < max {
            let Some((w, s)) = self.signals.pop_front() else {
                break;
            };
            f(w, s);
            n += 1;
        }
        n
    }

    fn drain_punted(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize {
        let mut n = 0;
        while n < max {
            let Some((port, frame)) = self.punted.pop_front() else {
                break;
            };
            f(port, &frame);
            n += 1;
        }
        n
    }

    fn drain_entry_copies(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize {
        let mut n = 0;
        while n < max {
            let Some((port, frame)) = self.entry_copies.pop_front() else {
                break;
            };
            f(port, &frame);
            n += 1;
        }
        n
    }

    fn send_frame(&mut self, port: u16, frame: &[u8]) -> bool {
        if self.refuse_sends || usize::from(port) >= self.links.len() {
            return false;
        }
        self.sent.push((self.now, port, frame.to_vec()));
        true
    }

    fn insert_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr, route: Route) {
        self.staged.push(Change::Insert((source, group), route));
    }

    fn remove_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr) {
        self.staged.push(Change::Remove((source, group)));
    }

    fn publish(&mut self) -> Publication {
        let changes = std::mem::take(&mut self.staged);
        for c in &changes {
            match c {
                Change::Insert(k, r) => {
                    self.table.insert(*k, r.clone());
                }
                Change::Remove(k) => {
                    self.table.remove(k);
                }
            }
        }
        self.publications.push((self.now, changes));
        self.epoch += 1;
        if self.auto_ack {
            self.acked = self.epoch;
        }
        Publication {
            epoch: self.epoch,
            at: self.now,
        }
    }

    fn acknowledged(&mut self, epoch: u64) -> bool {
        self.acked >= epoch
    }

    fn counter_capacity(&self) -> usize {
        self.counter_capacity
    }

    fn entry_totals(&self, counter: u32) -> (u64, u64) {
        self.totals.get(&counter).copied().unwrap_or_default()
    }

    fn entry_out(&self, counter: u32, port: u16) -> u64 {
        self.out.get(&(counter, port)).copied().unwrap_or_default()
    }

    fn entry_wrong_if(&self, counter: u32) -> u64 {
        self.wrong_if.get(&counter).copied().unwrap_or_default()
    }

    fn link_up(&self, port: u16) -> bool {
        self.links.get(usize::from(port)).copied().unwrap_or(false)
    }

    fn maintain_ports(&mut self) {
        self.maintained += 1;
    }

    fn port_mac_mtu(&self, port: u16) -> Option<([u8; 6], u16)> {
        (usize::from(port) < self.links.len()).then_some(([2, 0, 0, 0, 0, port as u8], 1500))
    }

    fn set_exception_punt(&mut self, port: u16, on: bool) {
        self.exception_ports.retain(|p| *p != port);
        if on {
            self.exception_ports.push(port);
        }
    }

    fn add_tap(&mut self, name: &str, mac: [u8; 6], mtu: u16) -> Result<usize, String> {
        self.taps.push((name.to_string(), mac, mtu, true));
        Ok(self.taps.len() - 1)
    }

    fn tap_send(&mut self, tap: usize, frame: &[u8]) -> bool {
        if tap >= self.taps.len() || self.refuse_sends {
            return false;
        }
        self.to_kernel.push((tap, frame.to_vec()));
        true
    }

    fn tap_recv(&mut self, tap: usize, max: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0;
        while n < max {
            let Some(i) = self.from_kernel.iter().position(|(t, _)| *t == tap) else {
                break;
            };
            if let Some((_, frame)) = self.from_kernel.remove(i) {
                f(&frame);
                n += 1;
            }
        }
        n
    }

    fn tap_set_link(&mut self, tap: usize, up: bool) -> Result<(), String> {
        match self.taps.get_mut(tap) {
            Some(t) => {
                t.3 = up;
                Ok(())
            }
            None => Err(format!("no tap {tap}")),
        }
    }
}

impl FakePlane {
    /// A tap made as the daemon makes a twin's (`control::twin`), for a test that gives the
    /// core twin plans of its own.
    #[allow(dead_code)] // only the twin tests make taps
    pub fn add_tap_for_test(&mut self, name: &str) -> usize {
        DataPlane::add_tap(self, name, [2, 0, 0, 0, 0, 0], 1500).expect("fake tap")
    }
}

/// The router under test: the control core, the fake data plane, the virtual clock.
pub struct Router {
    pub core: ControlCore,
    pub dp: FakePlane,
    pub cfg: Config,
    pub now: Duration,
    /// Every event the core gave, with its time.
    pub events: Vec<(Duration, CoreEvent)>,
}

impl Router {
    /// A router from config text, started at t = 0 and its first timers run.
    pub fn new(yaml: &str) -> Router {
        Router::with_registry(yaml, control::protocols::registry::REGISTRY)
    }

    /// As [`Router::new`], with the protocols of `registry` (a test's own protocol).
    #[allow(dead_code)] // not every test binary brings a protocol of its own
    pub fn with_registry(yaml: &str, registry: &[control::protocols::Registration]) -> Router {
        let cfg = config::parse_with(yaml, "core-test.yaml", registry).expect("config");
        let core = ControlCore::start_with(&cfg, Duration::ZERO, registry).expect("control core");
        let mut r = Router {
            core,
            dp: FakePlane::new(cfg.ports.len()),
            cfg,
            now: Duration::ZERO,
            events: Vec::new(),
        };
        r.input();
        r
    }

    fn take_events(&mut self) {
        while let Some(e) = self.core.poll_event() {
            self.events.push((self.now, e));
        }
    }

    /// The data plane's input (and the timers due) at the current time, as one daemon turn.
    pub fn input(&mut self) -> bool {
        self.dp.now = self.now;
        let busy = self.core.turn(self.now, &mut self.dp);
        self.take_events();
        busy
    }

    /// Lets `d` pass, firing every deadline on the way at its exact time.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.core.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.dp.now = self.now;
            self.core.handle_timeout(self.now, &mut self.dp);
            self.take_events();
        }
        self.now = end;
        self.dp.now = end;
    }

    /// A miss of (source, group) on `port` from worker 0, received now.
    pub fn miss(&mut self, source: Ipv4Addr, group: Ipv4Addr, port: u16) {
        self.miss_from(0, source, group, port);
    }

    /// A miss from worker `worker`.
    pub fn miss_from(&mut self, worker: usize, source: Ipv4Addr, group: Ipv4Addr, port: u16) {
        self.dp.signals.push_back((
            worker,
            WorkerSignal::Miss {
                source,
                group,
                port,
                at: self.now,
            },
        ));
    }

    /// An IGMP message from host `src` to `dst` punted on `port`: a whole Ethernet frame as
    /// a host's kernel sends it (TTL 1, Router Alert).
    pub fn igmp_from_host(&mut self, port: u16, src: Ipv4Addr, dst: Ipv4Addr, msg: igmp::Repr) {
        let ip = Transmit {
            iface: control::interface::Interface::from_index(1), // unused: the frame is built here
            src,
            dst,
            igmp: msg,
        }
        .ip_packet();
        let mut frame = Vec::new();
        frame.extend_from_slice(&ether::multicast_mac(dst).0);
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
        frame.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
        frame.extend_from_slice(&ip);
        self.dp.punted.push_back((port, frame));
    }

    /// The IGMP messages the core sent on `port` since `since`: (time, IP source, IP
    /// destination, message).
    pub fn igmp_sent(
        &self,
        port: u16,
        since: Duration,
    ) -> Vec<(Duration, Ipv4Addr, Ipv4Addr, igmp::Repr)> {
        self.dp
            .sent
            .iter()
            .filter(|(t, p, _)| *p == port && *t >= since)
            .filter_map(|(t, _, f)| {
                let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
                let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
                if ip.protocol() != ipv4::PROTOCOL_IGMP {
                    return None;
                }
                let msg = igmp::Repr::parse(&igmp::Packet::new_checked(ip.payload()).ok()?).ok()?;
                Some((*t, ip.src_addr(), ip.dst_addr(), msg))
            })
            .collect()
    }
}

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Three ports and interfaces: if0 10.0.1.1/24 on p0, if1 10.0.2.1/24 on p1, if2 10.0.3.1/24
/// on p2 (device names only: nothing opens them), then `rest` (routes, limits...).
pub fn three_ports(if1_extra: &str, rest: &str) -> String {
    format!(
        r#"ports:
  - {{ name: p0, device: "net_null0" }}
  - {{ name: p1, device: "net_null1" }}
  - {{ name: p2, device: "net_null2" }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24 {if1_extra} }}
  - {{ name: if2, port: p2, address: 10.0.3.1/24 }}
{rest}
"#
    )
}

/// A PIM message (`payload`, checksummed) from `src` to `dst` as a worker punts it: TTL 1,
/// DSCP CS6, in a frame to ALL-PIM-ROUTERS' MAC.
pub fn pim_frame_to(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; ipv4::HEADER_LEN + payload.len()];
    ipv4::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: ipv4::PROTOCOL_PIM,
        payload_len: payload.len(),
        ttl: 1,
        dscp_ecn: 0xc0,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
    ip[ipv4::HEADER_LEN..].copy_from_slice(payload);
    let mut f = Vec::new();
    f.extend_from_slice(&ether::multicast_mac(dataplane::wire::pim::ALL_PIM_ROUTERS).0);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    f.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(&ip);
    f
}
