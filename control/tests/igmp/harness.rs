//! A deterministic harness for the IGMP tests: one router, a virtual clock, recorded outputs.

use super::*;
use dataplane::wire::igmp::{self as wire, GroupRecordRepr, RecordType};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Our interface.
pub const IF: control::interface::Interface = control::interface::Interface::from_index(1);
/// Our address on it: 10.0.1.10/24.
pub const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 10);
/// A host.
pub const H1: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
/// Another host.
pub const H2: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 3);
/// An ASM group.
pub const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
/// An SSM group.
pub const SSM_G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Source number n: 192.0.2.n.
pub fn s(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

pub struct Lab {
    pub igmp: Igmp,
    pub now: Duration,
    pub events: Vec<MembershipEvent>,
    pub sent: Vec<(Duration, Transmit)>,
}

impl Lab {
    /// One interface with `cfg`, added at t=0; the outputs of that are drained.
    pub fn with(cfg: IgmpInterfaceConfig) -> Lab {
        let mut igmp = Igmp::new(IgmpConfig::default());
        igmp.add_interface(Duration::ZERO, IF, ME, 24, cfg).unwrap();
        let mut lab = Lab {
            igmp,
            now: Duration::ZERO,
            events: Vec::new(),
            sent: Vec::new(),
        };
        lab.drain();
        lab
    }

    /// Default v3 interface, startup queries done (t = 40 s) and outputs cleared.
    pub fn v3() -> Lab {
        let mut lab = Lab::with(IgmpInterfaceConfig::default());
        lab.advance(secs(40));
        lab.clear();
        lab
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.sent.clear();
    }

    pub fn drain(&mut self) {
        while let Some(e) = self.igmp.poll_event() {
            self.events.push(e);
        }
        while let Some(t) = self.igmp.poll_transmit() {
            self.sent.push((self.now, t));
        }
    }

    /// Let `d` pass, firing every deadline on the way at its exact time.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.igmp.poll_timeout() {
            if t > end {
                break;
            }
            assert!(
                t >= self.now,
                "deadline {t:?} in the past at {:?}",
                self.now
            );
            self.now = t;
            self.igmp.handle_timeout(t);
            self.drain();
        }
        self.now = end;
        self.igmp.handle_timeout(end);
        self.drain();
    }

    /// Receive raw IGMP bytes with TTL 1 and Router Alert.
    pub fn rx_bytes(&mut self, src: Ipv4Addr, dst: Ipv4Addr, bytes: &[u8]) {
        self.igmp
            .handle_packet(self.now, IF, src, dst, 1, true, bytes);
        self.drain();
    }

    pub fn rx(&mut self, src: Ipv4Addr, dst: Ipv4Addr, repr: &wire::Repr) {
        self.rx_bytes(src, dst, &repr.to_bytes());
    }

    pub fn v1_report(&mut self, src: Ipv4Addr, group: Ipv4Addr) {
        self.rx(src, group, &wire::Repr::ReportV1 { group });
    }

    pub fn v2_report(&mut self, src: Ipv4Addr, group: Ipv4Addr) {
        self.rx(src, group, &wire::Repr::ReportV2 { group });
    }

    pub fn leave(&mut self, src: Ipv4Addr, group: Ipv4Addr) {
        self.rx(src, wire::ALL_ROUTERS, &wire::Repr::LeaveV2 { group });
    }

    /// A v3 report from `src` with one record.
    pub fn record(&mut self, src: Ipv4Addr, rt: RecordType, group: Ipv4Addr, sources: &[u8]) {
        let rec = GroupRecordRepr {
            record_type: rt,
            group,
            sources: sources.iter().map(|n| s(*n)).collect(),
        };
        self.rx(
            src,
            wire::ALL_V3_ROUTERS,
            &wire::Repr::ReportV3 { records: vec![rec] },
        );
    }

    pub fn group(&self, group: Ipv4Addr) -> Option<GroupInfo> {
        self.igmp
            .groups(IF, self.now)
            .into_iter()
            .find(|g| g.group == group)
    }

    /// (mode, requested sources with time left in whole seconds, excluded sources, group timer
    /// in whole seconds).
    #[allow(clippy::type_complexity)]
    pub fn state(&self, group: Ipv4Addr) -> (FilterMode, Vec<(u8, u64)>, Vec<u8>, Option<u64>) {
        let g = self.group(group).expect("group has state");
        let last = |a: Ipv4Addr| a.octets()[3];
        let requested = g
            .sources
            .iter()
            .filter_map(|x| x.timer.map(|t| (last(x.source), t.as_secs())))
            .collect();
        let excluded = g
            .sources
            .iter()
            .filter(|x| x.timer.is_none())
            .map(|x| last(x.source))
            .collect();
        (
            g.filter_mode,
            requested,
            excluded,
            g.group_timer.map(|t| t.as_secs()),
        )
    }

    pub fn iface(&self) -> InterfaceInfo {
        self.igmp.interfaces(self.now).remove(0)
    }

    pub fn counters(&self) -> InterfaceCounters {
        self.iface().counters
    }

    /// The queries sent so far as (group, S flag, source numbers), clearing them.
    pub fn take_queries(&mut self) -> Vec<(Ipv4Addr, bool, Vec<u8>)> {
        self.sent
            .drain(..)
            .map(|(_, t)| match t.igmp {
                wire::Repr::Query { group, v3, .. } => {
                    let (sflag, srcs) = v3
                        .map(|q| {
                            let n = q.sources.iter().map(|a| a.octets()[3]).collect();
                            (q.suppress_router_side, n)
                        })
                        .unwrap_or_default();
                    (group, sflag, srcs)
                }
                other => panic!("sent a non-query {other:?}"),
            })
            .collect()
    }

    pub fn take_events(&mut self) -> Vec<MembershipEvent> {
        std::mem::take(&mut self.events)
    }
}

pub fn join(source: Option<Ipv4Addr>, group: Ipv4Addr) -> MembershipEvent {
    MembershipEvent::Join {
        iface: IF,
        source,
        group,
    }
}

pub fn leave_ev(source: Option<Ipv4Addr>, group: Ipv4Addr) -> MembershipEvent {
    MembershipEvent::Leave {
        iface: IF,
        source,
        group,
    }
}
