//! Three routers made of `Tib`s on one LAN, their Join/Prune messages delivered to each
//! other: the upstream router B, and two last-hop routers A1 and A2 that join G through B.
//! Join suppression, prune override and the PruneEcho, end to end between the machines.

use control::protocols::pim::tree::*;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

const RP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const G: Ipv4Addr = Ipv4Addr::new(239, 5, 5, 5);
const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const A1: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 11);
const A2: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 12);
/// B's upstream toward the RP (not simulated: what B sends there is recorded).
const B_UPSTREAM: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 1);

/// Every router: interface 1 is its side of the shared LAN for A1/A2 and its upstream for B;
/// interface 2 is B's side of the LAN and the A's host LANs.
const IF1: Iface = Iface::from_index(1);
const IF2: Iface = Iface::from_index(2);

struct Env(Rpf);

impl TreeEnv for Env {
    fn rp(&self, _group: Ipv4Addr) -> Option<Ipv4Addr> {
        Some(RP)
    }

    fn rpf(&self, _addr: Ipv4Addr) -> Option<Rpf> {
        Some(self.0)
    }

    fn is_ssm(&self, _group: Ipv4Addr) -> bool {
        false
    }
}

struct Router {
    tib: Tib,
    env: Env,
    /// The interface on the shared LAN.
    lan: Iface,
    events: Vec<TreeEvent>,
}

struct Net {
    now: Duration,
    routers: BTreeMap<Ipv4Addr, Router>,
    /// Joins and prunes each router sent on the LAN: (sender, join, entry).
    on_lan: Vec<(Ipv4Addr, bool, Ipv4Addr)>,
    /// What B sent toward the RP: (join, entry RP).
    to_rp: Vec<bool>,
}

impl Net {
    fn new() -> Net {
        let mut net = Net {
            now: Duration::from_secs(10),
            routers: BTreeMap::new(),
            on_lan: Vec::new(),
            to_rp: Vec::new(),
        };
        let lan_params = |addr| InterfaceParams {
            neighbors: 2,
            ..InterfaceParams::new(addr, addr == B)
        };
        let b_env = Env(Rpf {
            iface: IF1,
            neighbor: Some(B_UPSTREAM),
        });
        let a_env = Env(Rpf {
            iface: IF1,
            neighbor: Some(B),
        });
        let mut b = Router {
            tib: Tib::new(TreeConfig::default(), 1),
            env: b_env,
            lan: IF2,
            events: Vec::new(),
        };
        b.tib.set_interface(
            net.now,
            IF1,
            InterfaceParams::new(Ipv4Addr::new(10, 0, 9, 2), false),
            &b.env,
        );
        b.tib.set_interface(net.now, IF2, lan_params(B), &b.env);
        net.routers.insert(B, b);
        for (addr, seed) in [(A1, 2), (A2, 3)] {
            let mut a = Router {
                tib: Tib::new(TreeConfig::default(), seed),
                env: Env(a_env.0),
                lan: IF1,
                events: Vec::new(),
            };
            a.tib.set_interface(net.now, IF1, lan_params(addr), &a.env);
            a.tib.set_interface(
                net.now,
                IF2,
                InterfaceParams::new(Ipv4Addr::new(10, 9, 0, 1), true),
                &a.env,
            );
            net.routers.insert(addr, a);
        }
        net
    }

    /// Delivers every pending message, until none is left.
    fn deliver(&mut self) {
        loop {
            let mut sent = Vec::new();
            for (addr, r) in self.routers.iter_mut() {
                while let Some(m) = r.tib.poll_join_prune() {
                    sent.push((*addr, m));
                }
                while let Some(e) = r.tib.poll_event() {
                    r.events.push(e);
                }
            }
            if sent.is_empty() {
                return;
            }
            for (from, m) in sent {
                let from_lan = self.routers[&from].lan;
                if m.iface != from_lan {
                    let entries = m.message.groups.iter().flat_map(|g| {
                        g.joins
                            .iter()
                            .map(|_| true)
                            .chain(g.prunes.iter().map(|_| false))
                    });
                    self.to_rp.extend(entries);
                    continue;
                }
                for g in &m.message.groups {
                    for (join, list) in [(true, &g.joins), (false, &g.prunes)] {
                        self.on_lan
                            .extend(list.iter().map(|e| (from, join, e.addr)));
                    }
                }
                let now = self.now;
                for (addr, r) in self.routers.iter_mut() {
                    if *addr != from {
                        let lan = r.lan;
                        r.tib.handle_join_prune(now, lan, &m.message, &r.env);
                    }
                }
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        loop {
            let next = self
                .routers
                .values()
                .filter_map(|r| r.tib.poll_timeout())
                .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for r in self.routers.values_mut() {
                        if r.tib.poll_timeout().is_some_and(|t| t <= now) {
                            r.tib.handle_timeout(now, &r.env);
                        }
                    }
                    self.deliver();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    fn member(&mut self, router: Ipv4Addr, present: bool) {
        let now = self.now;
        let r = self.routers.get_mut(&router).unwrap();
        r.tib
            .local_membership(now, IF2, G, LocalMember::AnySource, present, &r.env);
        self.deliver();
    }

    fn b_state(&self) -> JoinState {
        self.routers[&B]
            .tib
            .groups()
            .get(&G)
            .and_then(|g| g.downstream.get(&IF2))
            .map_or(JoinState::NoInfo, |d| d.state)
    }

    fn b_events(&mut self) -> Vec<TreeEvent> {
        std::mem::take(&mut self.routers.get_mut(&B).unwrap().events)
    }
}

#[test]
fn lan_downstream_routers_suppress_each_others_joins_and_the_upstream_keeps_forwarding() {
    let mut net = Net::new();
    net.member(A1, true);
    net.member(A2, true);
    assert_eq!(net.b_state(), JoinState::Join);
    assert_eq!(net.to_rp, vec![true], "B joined toward the RP once");
    assert_eq!(
        net.b_events(),
        vec![TreeEvent::OifAdded {
            entry: Entry::StarG { group: G },
            iface: IF2
        }]
    );
    net.on_lan.clear();
    for _ in 0..20 {
        net.advance(Duration::from_secs(60));
        assert_eq!(net.b_state(), JoinState::Join);
    }
    let joins = net.on_lan.iter().filter(|(_, join, _)| *join).count();
    // Twenty minutes: without suppression the two routers would send 40 joins.
    assert!(joins < 30, "{joins} joins: suppression works");
    assert!(
        joins >= 14,
        "{joins} joins: someone refreshes B every t_periodic * 1.4"
    );
    assert!(net.b_events().is_empty(), "B never stopped forwarding");
}

#[test]
fn lan_prune_is_overridden_by_the_other_downstream_router() {
    let mut net = Net::new();
    net.member(A1, true);
    net.member(A2, true);
    net.advance(Duration::from_secs(30));
    net.b_events();
    net.on_lan.clear();
    // A1's last member leaves: A1 prunes, A2 overrides within t_override < B's PPT.
    net.member(A1, false);
    assert_eq!(net.b_state(), JoinState::PrunePending);
    net.advance(Duration::from_secs(5));
    assert_eq!(net.b_state(), JoinState::Join);
    assert_eq!(net.on_lan[0], (A1, false, RP));
    assert!(net.on_lan.contains(&(A2, true, RP)), "{:?}", net.on_lan);
    assert!(net.b_events().is_empty(), "no gap at B");
    // Then A2's member leaves: nobody overrides; B prunes, echoes, and leaves the RP tree.
    net.on_lan.clear();
    net.member(A2, false);
    net.advance(Duration::from_secs(5));
    assert_eq!(net.b_state(), JoinState::NoInfo);
    assert!(
        net.on_lan.contains(&(B, false, RP)),
        "PruneEcho: {:?}",
        net.on_lan
    );
    assert_eq!(
        net.b_events(),
        vec![TreeEvent::OifRemoved {
            entry: Entry::StarG { group: G },
            iface: IF2
        }]
    );
    assert_eq!(net.to_rp, vec![true, false]);
}
