//! The lab: one router with an upstream interface (toward the RP and the sources, two PIM
//! routers on it), a point-to-point downstream interface (one neighbour) and a downstream LAN
//! (two neighbours), a fixed RP and routes, and a virtual clock.

use control::protocols::pim::tree::*;
use dataplane::wire::pim::{EncodedGroup, EncodedSource, GroupSet, JoinPrune};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

pub const RP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
pub const SSM_G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
/// A source whose RPF neighbour is the RP's (NBR_UP).
pub const S: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 5);
/// A source whose RPF neighbour is the other upstream router (NBR_UP2).
pub const S2: Ipv4Addr = Ipv4Addr::new(10, 8, 0, 5);
/// A source behind a router on the LAN (NBR_LAN): its SPT does not come in on UP.
pub const S3: Ipv4Addr = Ipv4Addr::new(10, 6, 0, 5);

pub const UP: Iface = Iface::from_index(1);
pub const DOWN: Iface = Iface::from_index(2);
pub const LAN: Iface = Iface::from_index(3);

pub const ME_UP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
pub const NBR_UP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
pub const NBR_UP2: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub const ME_DOWN: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 1);
pub const ME_LAN: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 1);
pub const NBR_LAN: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 9);

pub const HOLD: u16 = 210;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// RP(G), the routes (with their assert metrics, (0, 0) when not given) and the SSM range
/// 232/8.
pub struct Env {
    pub rp: Option<Ipv4Addr>,
    pub routes: BTreeMap<Ipv4Addr, Rpf>,
    pub metrics: BTreeMap<Ipv4Addr, RouteMetric>,
}

impl TreeEnv for Env {
    fn rp(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.is_ssm(group) {
            None
        } else {
            self.rp
        }
    }

    fn rpf(&self, addr: Ipv4Addr) -> Option<Rpf> {
        self.routes.get(&addr).copied()
    }

    fn is_ssm(&self, group: Ipv4Addr) -> bool {
        group.octets()[0] == 232
    }

    fn metric(&self, addr: Ipv4Addr) -> RouteMetric {
        self.metrics.get(&addr).copied().unwrap_or_default()
    }
}

pub fn upstream(addr: Ipv4Addr) -> Rpf {
    Rpf {
        iface: UP,
        neighbor: Some(addr),
    }
}

/// One entry of a sent message, flattened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub iface: Iface,
    pub to: Ipv4Addr,
    pub group: Ipv4Addr,
    pub join: bool,
    pub entry: EncodedSource,
}

pub fn join(to: Ipv4Addr, group: Ipv4Addr, entry: EncodedSource) -> Sent {
    Sent {
        iface: UP,
        to,
        group,
        join: true,
        entry,
    }
}

pub fn prune(to: Ipv4Addr, group: Ipv4Addr, entry: EncodedSource) -> Sent {
    Sent {
        join: false,
        ..join(to, group, entry)
    }
}

pub struct Lab {
    pub tib: Tib,
    pub env: Env,
    pub now: Duration,
    pub messages: Vec<OutgoingJoinPrune>,
    pub events: Vec<TreeEvent>,
}

impl Lab {
    pub fn new() -> Lab {
        Lab::with(TreeConfig::default())
    }

    pub fn with(cfg: TreeConfig) -> Lab {
        let mut routes = BTreeMap::new();
        routes.insert(RP, upstream(NBR_UP));
        routes.insert(S, upstream(NBR_UP));
        routes.insert(S2, upstream(NBR_UP2));
        routes.insert(
            S3,
            Rpf {
                iface: LAN,
                neighbor: Some(NBR_LAN),
            },
        );
        let mut lab = Lab {
            tib: Tib::new(cfg, 42),
            env: Env {
                rp: Some(RP),
                routes,
                metrics: BTreeMap::new(),
            },
            now: secs(1000),
            messages: Vec::new(),
            events: Vec::new(),
        };
        let mut up = InterfaceParams::new(ME_UP, false);
        up.neighbors = 3;
        let down = InterfaceParams::new(ME_DOWN, true);
        let mut lan = InterfaceParams::new(ME_LAN, true);
        lan.neighbors = 2;
        for (iface, p) in [(UP, up), (DOWN, down), (LAN, lan)] {
            lab.tib.set_interface(lab.now, iface, p, &lab.env);
        }
        lab.drain();
        lab
    }

    pub fn drain(&mut self) {
        while let Some(m) = self.tib.poll_join_prune() {
            self.messages.push(m);
        }
        while let Some(e) = self.tib.poll_event() {
            self.events.push(e);
        }
    }

    /// Moves the clock to `now + d`, firing every deadline on the way at its time.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.tib.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.tib.handle_timeout(self.now, &self.env);
            self.drain();
        }
        self.now = target;
    }

    pub fn receive(&mut self, iface: Iface, msg: JoinPrune) {
        self.tib.handle_join_prune(self.now, iface, &msg, &self.env);
        self.drain();
    }

    pub fn local(&mut self, iface: Iface, group: Ipv4Addr, member: LocalMember, present: bool) {
        self.tib
            .local_membership(self.now, iface, group, member, present, &self.env);
        self.drain();
    }

    pub fn routes_changed(&mut self) {
        self.tib.routes_changed(self.now, &self.env);
        self.drain();
    }

    /// The entries sent since the last call, flattened, and forgets them and the events.
    pub fn take_sent(&mut self) -> Vec<Sent> {
        let out = self
            .messages
            .iter()
            .flat_map(|m| {
                m.message.groups.iter().flat_map(move |set| {
                    let joins = set.joins.iter().map(move |e| (true, e));
                    let prunes = set.prunes.iter().map(move |e| (false, e));
                    joins.chain(prunes).map(move |(join, entry)| Sent {
                        iface: m.iface,
                        to: m.message.upstream_neighbor,
                        group: set.group.addr,
                        join,
                        entry: *entry,
                    })
                })
            })
            .collect();
        self.messages.clear();
        out
    }

    pub fn take_events(&mut self) -> Vec<TreeEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn group(&self, group: Ipv4Addr) -> Option<&GroupState> {
        self.tib.groups().get(&group)
    }

    pub fn source(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<&SourceState> {
        self.group(group).and_then(|g| g.sources.get(&source))
    }

    pub fn star_downstream(&self, group: Ipv4Addr, iface: Iface) -> Downstream {
        self.group(group)
            .and_then(|g| g.downstream.get(&iface).copied())
            .unwrap_or_default()
    }

    pub fn sg_downstream(&self, source: Ipv4Addr, group: Ipv4Addr, iface: Iface) -> Downstream {
        self.source(source, group)
            .and_then(|s| s.downstream.get(&iface).copied())
            .unwrap_or_default()
    }

    pub fn rpt_downstream(&self, source: Ipv4Addr, group: Ipv4Addr, iface: Iface) -> RptDownstream {
        self.source(source, group)
            .and_then(|s| s.rpt.get(&iface).copied())
            .unwrap_or_default()
    }

    pub fn star_upstream(&self, group: Ipv4Addr) -> Upstream {
        self.group(group).map(|g| g.upstream).unwrap_or_default()
    }

    pub fn sg_upstream(&self, source: Ipv4Addr, group: Ipv4Addr) -> Upstream {
        self.source(source, group)
            .map(|s| s.upstream)
            .unwrap_or_default()
    }

    pub fn rpt_upstream(&self, source: Ipv4Addr, group: Ipv4Addr) -> RptUpstream {
        self.source(source, group)
            .map(|s| s.rpt_upstream)
            .unwrap_or_default()
    }
}

/// A Join/Prune for `to` with one group set.
pub fn jp(
    to: Ipv4Addr,
    holdtime: u16,
    group: Ipv4Addr,
    joins: &[EncodedSource],
    prunes: &[EncodedSource],
) -> JoinPrune {
    JoinPrune {
        upstream_neighbor: to,
        holdtime,
        groups: vec![GroupSet {
            group: EncodedGroup::host(group),
            joins: joins.to_vec(),
            prunes: prunes.to_vec(),
        }],
    }
}

pub fn star() -> EncodedSource {
    EncodedSource::star_g(RP)
}

pub fn sg(source: Ipv4Addr) -> EncodedSource {
    EncodedSource::sg(source)
}

pub fn rpt(source: Ipv4Addr) -> EncodedSource {
    EncodedSource::sg_rpt(source)
}

pub fn added(entry: Entry, iface: Iface) -> TreeEvent {
    TreeEvent::OifAdded { entry, iface }
}

pub fn removed(entry: Entry, iface: Iface) -> TreeEvent {
    TreeEvent::OifRemoved { entry, iface }
}

pub fn star_entry(group: Ipv4Addr) -> Entry {
    Entry::StarG { group }
}

pub fn sg_entry(source: Ipv4Addr, group: Ipv4Addr) -> Entry {
    Entry::Sg { source, group }
}
