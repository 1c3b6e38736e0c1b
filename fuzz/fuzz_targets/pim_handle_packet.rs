//! PIM's input, `control::protocols::pim::Pim::handle_packet`: a script of received messages
//! (arbitrary bytes, sources and destinations) and timer runs on a router with two PIM
//! interfaces whose settings come from the input within the ranges the config file accepts.
//! Nothing may panic; every link-local message PIM sends (Hello, Join/Prune, Assert, a
//! forwarded Bootstrap) goes from the interface's address to ALL-PIM-ROUTERS with TTL 1, a
//! unicast one (Register-Stop) to neither a multicast nor our own address; neighbours stay
//! within the limit; the DR is this router or one of its neighbours; after a timer run nothing
//! is due any more.
//!
//! Selectors steer the fuzzer past the cheap rejections: by default the bytes become the
//! options of a Hello (version 2, type 0, checksum filled in) from a host on the subnet to
//! ALL-PIM-ROUTERS, so most scripts reach the neighbour table and the DR election.
#![no_main]

use control::interface::Interface;
use control::protocols::pim::{Pim, PimInterfaceSettings, PimSettings};
use dataplane::wire::ipv4;
use dataplane::wire::pim::{Packet, Repr, ALL_PIM_ROUTERS, HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Interfaces 0 and 1 run PIM on 10.0.{n+1}.1/24; 2 does not (counted as unknown).
const INTERFACES: u32 = 2;
/// Bounds a script, so one input cannot run for seconds.
const MAX_STEPS: usize = 64;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

fn address(iface: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, iface as u8 + 1, 1)
}

fn id(i: u32) -> Interface {
    Interface::from_index(i + 1)
}

/// Drains every output, checking what PIM sends and its invariants.
fn drain(pim: &mut Pim, now: Duration, timers_run: bool, max_neighbors: usize) {
    while let Some(d) = pim.poll_datagram() {
        let i = d.iface.index() - 1;
        assert!(i < INTERFACES);
        assert_eq!(d.protocol, ipv4::PROTOCOL_PIM);
        match Repr::parse_bytes(&d.payload) {
            // Link-local messages: from the interface's address to ALL-PIM-ROUTERS, TTL 1.
            Ok(
                m @ (Repr::Hello(_) | Repr::JoinPrune(_) | Repr::Assert(_) | Repr::Bootstrap(_)),
            ) => {
                assert_eq!(
                    (d.src, d.dst, d.ttl),
                    (address(i), ALL_PIM_ROUTERS, 1),
                    "{m:?}"
                );
                assert!(
                    d.frame().is_some(),
                    "a multicast datagram the core can send"
                );
                match m {
                    Repr::Hello(h) => assert!(h.holdtime.is_some() && h.generation_id.is_some()),
                    // The join/prune machines answer joins from neighbours (no RPF here: no
                    // joins upstream, but prune echoes and the like).
                    Repr::JoinPrune(jp) => assert!(!jp.groups.is_empty()),
                    _ => {}
                }
            }
            // Unicast (a Register-Stop answering a Register for a group we are not RP of):
            // never to a multicast or our own address; the kernel routes it.
            Ok(Repr::RegisterStop(_) | Repr::Register(_)) => {
                assert!(!d.dst.is_multicast() && !d.dst.is_unspecified(), "{d:?}");
                assert!((0..INTERFACES).all(|k| address(k) != d.dst), "{d:?}");
            }
            other => panic!("sent something PIM never sends: {other:?}"),
        }
    }
    while pim.poll_pim_event().is_some() {}
    for i in pim.interfaces() {
        assert!(i.neighbors.len() <= max_neighbors);
        assert!(
            i.dr == i.address || i.neighbors.contains_key(&i.dr),
            "DR {}",
            i.dr
        );
        let _ = (i.effective_override_interval(), i.jp_override_interval());
        let _ = i.suppression_enabled();
    }
    if let Some(deadline) = pim.poll_timeout().filter(|_| timers_run) {
        assert!(
            deadline > now,
            "deadline {deadline:?} not after now {now:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let max_neighbors = match input.byte().unwrap_or(0) {
        0 => 64,
        n => usize::from(n % 8) + 1,
    };
    let hello_interval = Duration::from_secs(u64::from(input.byte().unwrap_or(0) % 60) + 1);
    let settings = PimInterfaceSettings {
        hello_interval,
        holdtime: hello_interval * 4,
        max_neighbors,
        ..PimInterfaceSettings::default()
    };
    let mut now = Duration::from_secs(1);
    let mut pim = Pim::new(&PimSettings::default(), 7);
    for i in 0..INTERFACES {
        pim.add_interface(now, id(i), address(i), 24, settings.clone());
    }
    drain(&mut pim, now, false, max_neighbors);
    for _ in 0..MAX_STEPS {
        let Some(flags) = input.byte() else {
            break;
        };
        let delay = input.byte().unwrap_or(0);
        if flags & 4 != 0 {
            now += Duration::from_secs(u64::from(delay));
            pim.handle_timeout(now);
            drain(&mut pim, now, true, max_neighbors);
            continue;
        }
        now += Duration::from_millis(100 * u64::from(delay));
        let iface = u32::from(flags & 3) % (INTERFACES + 1);
        let host = input.byte().unwrap_or(2);
        let len = usize::from(input.byte().unwrap_or(0));
        let body = input.bytes(len);
        // bit 3: the bytes are the whole message; else a Hello's options after a header.
        let mut msg = if flags & 8 != 0 {
            body.to_vec()
        } else {
            let mut m = vec![0x20, 0, 0, 0];
            m.extend_from_slice(body);
            m
        };
        // bit 4: keep the checksum as it is.
        if flags & 0x10 == 0 && msg.len() >= HEADER_LEN {
            Packet::new_unchecked(&mut msg[..]).fill_checksum();
        }
        let src = match flags >> 6 {
            0 | 1 => Ipv4Addr::new(10, 0, iface as u8 + 1, host),
            2 => address(iface),
            _ => Ipv4Addr::new(224, 0, 0, host),
        };
        let dst = if flags & 0x20 == 0 {
            ALL_PIM_ROUTERS
        } else {
            address(iface)
        };
        pim.handle_packet(now, id(iface), src, dst, &msg);
        drain(&mut pim, now, false, max_neighbors);
    }
    let _ = pim.interface_infos(now);
    let _ = pim.neighbor_infos(now);
    let _ = pim.unknown_interface_packets();
    pim.shutdown();
    drain(&mut pim, now, false, max_neighbors);
    assert_eq!(pim.poll_timeout(), None);
});
