//! Deterministic harness: a virtual clock, recording clients and a small RIB. Each test is a
//! short script followed by assertions on the recorded callbacks and MFE changes.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

use mgm::*;

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test address")
}

pub fn ifc(index: u32) -> InterfaceId {
    InterfaceId::new(index)
}

pub fn sg(s: &str, g: &str) -> Scope {
    Scope::source_group(ip(s), ip(g)).expect("valid (S,G)")
}

pub fn star(g: &str) -> Scope {
    Scope::any_source(ip(g)).expect("valid (*,G)")
}

/// One recorded callback, named by the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Rpf {
        to: String,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: InterfaceId,
        upstream: Ipv4Addr,
        header: Vec<u8>,
    },
    Creation {
        to: String,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: InterfaceId,
        oifs: Vec<OifEntry>,
    },
    Prune {
        to: String,
        scope: SourceGroupEntry,
        iface: InterfaceId,
        member_delete: bool,
        timeout: Duration,
    },
    Join {
        to: String,
        scope: SourceGroupEntry,
        member_update: bool,
    },
    WrongIf {
        to: String,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: InterfaceId,
    },
    LocalJoin {
        to: String,
        scope: SourceGroupEntry,
        iface: InterfaceId,
    },
    LocalLeave {
        to: String,
        scope: SourceGroupEntry,
        iface: InterfaceId,
    },
    DisableIgmp {
        to: String,
        iface: InterfaceId,
    },
    EnableIgmp {
        to: String,
        iface: InterfaceId,
    },
}

impl Ev {
    pub fn to(&self) -> &str {
        match self {
            Ev::Rpf { to, .. }
            | Ev::Creation { to, .. }
            | Ev::Prune { to, .. }
            | Ev::Join { to, .. }
            | Ev::WrongIf { to, .. }
            | Ev::LocalJoin { to, .. }
            | Ev::LocalLeave { to, .. }
            | Ev::DisableIgmp { to, .. }
            | Ev::EnableIgmp { to, .. } => to,
        }
    }
}

/// How a recording client answers the decision callbacks.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// RPF callback rewrites (IIF, upstream).
    pub rpf_rewrite: Option<(InterfaceId, Ipv4Addr)>,
    /// Creation alert clears `enabled` on these.
    pub disable: Vec<InterfaceId>,
    /// MFE-level prune alert writes this timeout back.
    pub prune_timeout: Option<Duration>,
    /// Every callback reads this MFE (source, group) through the `&Mgm` it gets.
    pub read_mfe: Option<(Ipv4Addr, Ipv4Addr)>,
}

pub type Log = Rc<RefCell<Vec<Ev>>>;

pub struct Recorder {
    pub name: String,
    pub log: Log,
    pub behaviour: Behaviour,
    /// Results of reads made from inside callbacks.
    pub reads: Vec<Result<MibMfe, MgmError>>,
    /// Interfaces whose enable callback arrived: the deferred IGMP re-add queue.
    pub enabled: Vec<InterfaceId>,
}

impl Recorder {
    fn push(&mut self, mgm: &Mgm, ev: Ev) {
        if let Some((s, g)) = self.behaviour.read_mfe {
            self.reads.push(mgm.get_mfe(mgm.now(), s, g));
        }
        self.log.borrow_mut().push(ev);
    }
}

impl MgmClient for Recorder {
    fn rpf(&mut self, mgm: &Mgm, r: &mut RpfRequest<'_>) {
        let ev = Ev::Rpf {
            to: self.name.clone(),
            source: r.source,
            group: r.group,
            iif: r.iif,
            upstream: r.upstream,
            header: r.header.to_vec(),
        };
        self.push(mgm, ev);
        if let Some((iif, up)) = self.behaviour.rpf_rewrite {
            r.iif = iif;
            r.upstream = up;
        }
    }

    fn creation_alert(
        &mut self,
        mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: InterfaceId,
        oifs: &mut [OifEntry],
    ) {
        let ev = Ev::Creation {
            to: self.name.clone(),
            source,
            group,
            iif,
            oifs: oifs.to_vec(),
        };
        self.push(mgm, ev);
        for o in oifs.iter_mut() {
            if self.behaviour.disable.contains(&o.iface) {
                o.enabled = false;
            }
        }
    }

    fn prune_alert(&mut self, mgm: &Mgm, a: &mut PruneAlert) {
        let ev = Ev::Prune {
            to: self.name.clone(),
            scope: a.scope,
            iface: a.iface,
            member_delete: a.member_delete,
            timeout: a.timeout,
        };
        self.push(mgm, ev);
        if let (false, Some(t)) = (a.member_delete, self.behaviour.prune_timeout) {
            a.timeout = t;
        }
    }

    fn join_alert(&mut self, mgm: &Mgm, scope: SourceGroupEntry, member_update: bool) {
        self.push(
            mgm,
            Ev::Join {
                to: self.name.clone(),
                scope,
                member_update,
            },
        );
    }

    fn wrong_interface(
        &mut self,
        mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iface: InterfaceId,
        _h: &[u8],
    ) {
        self.push(
            mgm,
            Ev::WrongIf {
                to: self.name.clone(),
                source,
                group,
                iface,
            },
        );
    }

    fn local_join(&mut self, mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {
        self.push(
            mgm,
            Ev::LocalJoin {
                to: self.name.clone(),
                scope,
                iface,
            },
        );
    }

    fn local_leave(&mut self, mgm: &Mgm, scope: SourceGroupEntry, iface: InterfaceId) {
        self.push(
            mgm,
            Ev::LocalLeave {
                to: self.name.clone(),
                scope,
                iface,
            },
        );
    }

    fn disable_igmp(&mut self, mgm: &Mgm, iface: InterfaceId) {
        self.push(
            mgm,
            Ev::DisableIgmp {
                to: self.name.clone(),
                iface,
            },
        );
    }

    fn enable_igmp(&mut self, mgm: &Mgm, iface: InterfaceId) {
        self.enabled.push(iface);
        self.push(
            mgm,
            Ev::EnableIgmp {
                to: self.name.clone(),
                iface,
            },
        );
    }
}

#[derive(Default)]
pub struct TestHost {
    pub clients: HashMap<ProtocolHandle, Recorder>,
    pub rib: MulticastRib,
}

impl Clients for TestHost {
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        match self.clients.get_mut(&handle) {
            Some(c) => Some(c),
            None => None,
        }
    }
}

impl RpfLookup for TestHost {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rib.rpf_lookup(source)
    }
}

pub struct H {
    pub mgm: Mgm,
    pub host: TestHost,
    pub now: Duration,
    pub log: Log,
    pub names: HashMap<String, ProtocolHandle>,
}

pub const PIM: u32 = 0x4137_0014;
pub const DVMRP: u32 = 0x4137_0015;

impl H {
    pub fn new() -> Self {
        Self::with_config(MgmConfig::default())
    }

    pub fn with_config(config: MgmConfig) -> Self {
        H {
            mgm: Mgm::new(config),
            host: TestHost {
                clients: HashMap::new(),
                rib: MulticastRib::new(),
            },
            now: Duration::ZERO,
            log: Rc::default(),
            names: HashMap::new(),
        }
    }

    /// Registers a recording client named `name` as (protocol, component).
    pub fn reg(&mut self, name: &str, protocol: u32, component: u32) -> ProtocolHandle {
        let h = self
            .mgm
            .register_protocol(
                self.now,
                ClientId {
                    protocol,
                    component,
                },
            )
            .expect("register");
        self.host.clients.insert(
            h,
            Recorder {
                name: name.to_string(),
                log: self.log.clone(),
                behaviour: Behaviour::default(),
                reads: Vec::new(),
                enabled: Vec::new(),
            },
        );
        self.names.insert(name.to_string(), h);
        h
    }

    pub fn igmp(&mut self) -> ProtocolHandle {
        self.reg("igmp", MS_IP_IGMP, 0)
    }

    pub fn client(&mut self, h: ProtocolHandle) -> &mut Recorder {
        self.host.clients.get_mut(&h).expect("known client")
    }

    pub fn route(&mut self, prefix: &str, len: u8, iif: InterfaceId, upstream: &str) {
        self.host.rib.add_route(ip(prefix), len, iif, ip(upstream));
    }

    pub fn take(&mut self, h: ProtocolHandle, i: InterfaceId) -> Result<(), MgmError> {
        self.mgm
            .take_interface_ownership(self.now, &mut self.host, h, i)
    }

    pub fn release(&mut self, h: ProtocolHandle, i: InterfaceId) -> Result<(), MgmError> {
        self.mgm
            .release_interface_ownership(self.now, &mut self.host, h, i)
    }

    pub fn join(
        &mut self,
        h: ProtocolHandle,
        scope: Scope,
        i: InterfaceId,
    ) -> Result<(), MgmError> {
        self.mgm
            .add_group_membership(self.now, &mut self.host, h, scope, i, MembershipFlags::JOIN)
    }

    pub fn leave(
        &mut self,
        h: ProtocolHandle,
        scope: Scope,
        i: InterfaceId,
    ) -> Result<(), MgmError> {
        self.mgm.delete_group_membership(
            self.now,
            &mut self.host,
            h,
            scope,
            i,
            MembershipFlags::JOIN,
        )
    }

    pub fn miss(&mut self, s: &str, g: &str, arrival: InterfaceId) -> Result<(), MgmError> {
        self.miss_with(s, g, arrival, &[0x45, 0, 0, 20])
    }

    pub fn miss_with(
        &mut self,
        s: &str,
        g: &str,
        arrival: InterfaceId,
        header: &[u8],
    ) -> Result<(), MgmError> {
        let m = Miss {
            source: ip(s),
            group: ip(g),
            arrival,
            header,
        };
        self.mgm.handle_miss(self.now, &mut self.host, &m)
    }

    /// Moves the virtual clock and fires due timers.
    pub fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        self.mgm.handle_timeout(self.now, &mut self.host);
    }

    pub fn traffic(&mut self, s: &str, g: &str, packets: u64) {
        let d = MfeStatsDelta {
            mfe: MfeCounters {
                in_packets: packets,
                in_octets: packets * 100,
                ..Default::default()
            },
            oifs: vec![],
        };
        self.mgm
            .update_mfe_stats(self.now, ip(s), ip(g), &d)
            .expect("mfe exists");
    }

    /// Takes the recorded callbacks.
    pub fn events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut *self.log.borrow_mut())
    }

    pub fn changes(&mut self) -> Vec<MfeChange> {
        self.mgm.drain_mfe_changes().collect()
    }

    pub fn oifs(&self, s: &str, g: &str) -> Vec<InterfaceId> {
        self.mgm
            .get_mfe(self.now, ip(s), ip(g))
            .expect("mfe exists")
            .oifs
    }

    pub fn has_mfe(&self, s: &str, g: &str) -> bool {
        self.mgm.get_mfe(self.now, ip(s), ip(g)).is_ok()
    }
}

/// The recipients of the events, in order.
pub fn recipients(evs: &[Ev]) -> Vec<&str> {
    evs.iter().map(Ev::to).collect()
}

pub fn star_entry(g: &str) -> SourceGroupEntry {
    star(g).to_entry()
}
