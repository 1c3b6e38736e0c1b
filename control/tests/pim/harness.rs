//! A deterministic harness: one PIM instance with a virtual clock, neighbours' Hellos built
//! with the wire module, and what PIM sent decoded back.

use control::interface::Interface as Iface;
use control::protocols::pim::*;
use dataplane::wire::ipv4;
use dataplane::wire::pim::{Hello, LanPruneDelay, Repr, ALL_PIM_ROUTERS};
use std::net::Ipv4Addr;
use std::time::Duration;

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The interface under test: if1, 10.0.2.1/24.
pub const IFACE: usize = 1;

pub fn iface() -> Iface {
    Iface::from_config_index(IFACE)
}

pub struct Lab {
    pub pim: Pim,
    pub now: Duration,
    /// Every Hello PIM sent: (when, interface, decoded).
    pub sent: Vec<(Duration, Iface, Hello)>,
    pub events: Vec<PimEvent>,
}

impl Lab {
    /// PIM on if1 with `settings`, started at t = 100 s with `seed`.
    pub fn with(settings: PimInterfaceSettings, seed: u64) -> Lab {
        let now = secs(100);
        let mut pim = Pim::new(&PimSettings::default(), seed);
        pim.add_interface(now, iface(), ip("10.0.2.1"), 24, settings);
        let mut lab = Lab {
            pim,
            now,
            sent: Vec::new(),
            events: Vec::new(),
        };
        lab.drain();
        lab
    }

    pub fn new() -> Lab {
        Lab::with(PimInterfaceSettings::default(), 7)
    }

    /// Collects what PIM sent and reported. Every datagram must be a Hello to
    /// ALL-PIM-ROUTERS with TTL 1, IP protocol 103, from the interface's address.
    pub fn drain(&mut self) {
        while let Some(d) = self.pim.poll_datagram() {
            assert_eq!(
                (d.dst, d.ttl, d.protocol, d.src),
                (ALL_PIM_ROUTERS, 1, ipv4::PROTOCOL_PIM, ip("10.0.2.1"))
            );
            let Ok(Repr::Hello(h)) = Repr::parse_bytes(&d.payload) else {
                panic!("not a Hello: {:?}", d.payload);
            };
            self.sent.push((self.now, d.iface, h));
        }
        while let Some(e) = self.pim.poll_pim_event() {
            self.events.push(e);
        }
    }

    /// Moves the clock to `at`, firing every deadline on the way at its own time.
    pub fn run_until(&mut self, at: Duration) {
        while let Some(t) = self.pim.poll_timeout().filter(|t| *t <= at) {
            self.now = self.now.max(t);
            self.pim.handle_timeout(self.now);
            self.drain();
        }
        self.now = at;
    }

    pub fn advance(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// A PIM message's bytes arriving on if1 from `src` to `dst`.
    pub fn receive_to(&mut self, src: Ipv4Addr, dst: Ipv4Addr, bytes: &[u8]) {
        self.pim.handle_packet(self.now, iface(), src, dst, bytes);
        self.drain();
    }

    /// A Hello from `src` to ALL-PIM-ROUTERS.
    pub fn hello_from(&mut self, src: &str, hello: &Hello) {
        let bytes = Repr::Hello(hello.clone()).to_bytes();
        self.receive_to(ip(src), ALL_PIM_ROUTERS, &bytes);
    }

    pub fn interface(&self) -> &control::protocols::pim::interface::Interface {
        self.pim.interface(iface()).unwrap()
    }

    pub fn neighbors(&self) -> Vec<Ipv4Addr> {
        self.interface().neighbors.keys().copied().collect()
    }

    pub fn dr(&self) -> Ipv4Addr {
        self.interface().dr
    }

    /// Hellos sent at or after `since`.
    pub fn hellos_since(&self, since: Duration) -> Vec<(Duration, Hello)> {
        self.sent
            .iter()
            .filter(|(t, _, _)| *t >= since)
            .map(|(t, _, h)| (*t, h.clone()))
            .collect()
    }

    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.interface()
            .counters
            .rejected
            .get(&reason)
            .copied()
            .unwrap_or(0)
    }
}

/// A neighbour's Hello as FRR sends it: holdtime, LAN Prune Delay, DR priority, Generation ID.
pub fn hello(holdtime: u16, dr_priority: Option<u32>, generation_id: u32) -> Hello {
    Hello {
        holdtime: Some(holdtime),
        lan_prune_delay: Some(LanPruneDelay {
            join_suppression_disabled: false,
            propagation_delay_ms: 500,
            override_interval_ms: 2500,
        }),
        dr_priority,
        generation_id: Some(generation_id),
        ..Hello::default()
    }
}
