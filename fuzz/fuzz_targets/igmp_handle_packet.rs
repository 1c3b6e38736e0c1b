//! The control core's IGMP input, `control::protocols::igmp::Igmp::handle_packet`: a script of
//! received messages (arbitrary bytes and IP header fields) and timer runs, on a router with
//! three interfaces whose settings come from the input within the ranges the config file
//! accepts. Nothing may panic, and everything the router sends in answer must be a valid IPv4
//! datagram with Router Alert carrying a valid IGMP message.
//!
//! Selectors steer the fuzzer past the cheap rejections (checksum, TTL 1, Router Alert, source
//! on the subnet) so that most scripts reach the group and source state machines.
#![no_main]

use control::interface::Interface;
use control::protocols::igmp::{Igmp, IgmpConfig, IgmpInterfaceConfig};
use dataplane::wire::{igmp, ipv4};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Interfaces 0..3 run IGMP on 10.0.{n+1}.1/24; 3 does not (counted as unknown).
const INTERFACES: u32 = 3;
/// Bounds a script, so one input cannot run for seconds.
const MAX_STEPS: usize = 64;
/// Bytes of settings per interface at the start of the input.
const SETTINGS_LEN: usize = 6;

/// The input, read front to back. All-zero bytes mean the defaults and a well-formed packet, so
/// the fuzzer starts at the state machines rather than at the cheap rejections:
///
/// - settings, [`SETTINGS_LEN`] bytes per interface: version (0: 3, then 2, 1), robustness,
///   query interval, flags (bit 0: immediate leave), max groups, max sources (0: default);
/// - steps, until the input ends, each `flags, delay, host, len` and `len` IGMP bytes:
///   - flags bits 0..2: interface (3 runs no IGMP); bit 2: a timer run, not a packet (delay in
///     seconds, no further bytes); bit 3: TTL `host` instead of 1; bit 4: no Router Alert;
///     bit 5: keep the checksum (else it is recomputed); bits 6..8: source 0/1 a host
///     10.0.{n+1}.`host`, 2 0.0.0.0 or the router's own address (odd/even `host`), 3 the
///     address in the first four IGMP bytes; destination: 224.0.0.1/.2/.22 or the message's
///     group, by `host % 4`;
///   - delay: tenths of a second since the previous step.
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

fn interface_config(s: &[u8], iface: u32) -> IgmpInterfaceConfig {
    let b = |i: usize| s.get(i).copied().unwrap_or(0);
    let d = IgmpInterfaceConfig::default();
    // Within what control/src/config accepts: version 1..=3, robustness 1..=7, intervals
    // 0.1..=3600 s with QRI < QI, limits from 1.
    let query_interval = match b(2) {
        0 => d.query_interval,
        n => Duration::from_secs(u64::from(n) * 2),
    };
    let query_response_interval = d
        .query_response_interval
        .min(query_interval - Duration::from_millis(100));
    IgmpInterfaceConfig {
        version: 3 - b(0) % 3,
        robustness: match b(1) % 8 {
            0 => d.robustness,
            r => r,
        },
        query_interval,
        query_response_interval,
        immediate_leave: b(3) & 1 == 1,
        max_groups: match b(4) {
            0 => d.max_groups,
            n => usize::from(n),
        },
        max_sources: match b(5) {
            0 => d.max_sources,
            n => usize::from(n),
        },
        // Interface 2 holds a (*,G) and an (S,G) static join.
        static_joins: if iface == 2 {
            vec![
                (None, Ipv4Addr::new(239, 9, 9, 9)),
                (
                    Some(Ipv4Addr::new(10, 0, 3, 5)),
                    Ipv4Addr::new(232, 9, 9, 9),
                ),
            ]
        } else {
            Vec::new()
        },
        ..d
    }
}

fn address(iface: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, iface as u8 + 1, 1)
}

/// The router's interface number `i` (0-based here; MGM interface indices start at 1).
fn id(i: u32) -> Interface {
    Interface::from_index(i + 1)
}

/// Drain every output, checking what the router sends. `timers_run`: `handle_timeout(now)` was
/// the last input, so nothing may be due any more.
fn drain(router: &mut Igmp, now: Duration, timers_run: bool) {
    while let Some(t) = router.poll_transmit() {
        assert!((1..=INTERFACES).contains(&t.iface.index()));
        let datagram = t.ip_packet();
        let ip = ipv4::Packet::new_checked(&datagram[..]).expect("sent datagram checks");
        let repr = ipv4::Repr::parse(&ip).expect("sent header parses");
        assert!(ip.has_router_alert());
        assert_eq!((repr.ttl, repr.protocol), (1, ipv4::PROTOCOL_IGMP));
        assert_eq!((repr.src_addr, repr.dst_addr), (t.src, t.dst));
        let msg = igmp::Repr::parse(&igmp::Packet::new_unchecked(ip.payload()))
            .expect("sent IGMP message parses");
        assert_eq!(msg, t.igmp);
    }
    while router.poll_event().is_some() {}
    if let Some(deadline) = router.poll_timeout().filter(|_| timers_run) {
        // Everything due by `now` has fired (else the control loop would spin on it).
        assert!(
            deadline > now,
            "deadline {deadline:?} not after now {now:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut router = Igmp::new(IgmpConfig::default());
    let mut now = Duration::from_secs(1);
    for iface in 0..INTERFACES {
        let cfg = interface_config(input.bytes(SETTINGS_LEN), iface);
        router
            .add_interface(now, id(iface), address(iface), 24, cfg)
            .expect("settings within the config's ranges");
    }
    drain(&mut router, now, false);
    for _ in 0..MAX_STEPS {
        let Some(flags) = input.byte() else {
            break;
        };
        let delay = input.byte().unwrap_or(0);
        let iface = u32::from(flags & 3);
        if flags & 4 != 0 {
            now += Duration::from_secs(u64::from(delay));
            router.handle_timeout(now);
            drain(&mut router, now, true);
            continue;
        }
        now += Duration::from_millis(100 * u64::from(delay));
        let host = input.byte().unwrap_or(2);
        let len = usize::from(input.byte().unwrap_or(0));
        let mut bytes = input.bytes(len).to_vec();
        if flags & 0x20 == 0 && bytes.len() >= igmp::HEADER_LEN {
            igmp::Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        }
        let word = |at: usize| {
            bytes.get(at..at + 4).map_or(Ipv4Addr::UNSPECIFIED, |b| {
                Ipv4Addr::new(b[0], b[1], b[2], b[3])
            })
        };
        let src = match flags >> 6 {
            0 | 1 => Ipv4Addr::new(10, 0, iface as u8 + 1, host),
            2 if host & 1 == 1 => Ipv4Addr::UNSPECIFIED,
            2 => address(iface),
            _ => word(0),
        };
        let dst = match host % 4 {
            0 => igmp::ALL_SYSTEMS,
            1 => igmp::ALL_ROUTERS,
            2 => igmp::ALL_V3_ROUTERS,
            _ => word(4),
        };
        let ttl = if flags & 8 != 0 { host } else { 1 };
        router.handle_packet(now, id(iface), src, dst, ttl, flags & 0x10 == 0, &bytes);
        drain(&mut router, now, false);
    }
    // The show views walk every group and source.
    for info in router.interfaces(now) {
        let _ = router.groups(info.iface, now);
    }
    let _ = router.unknown_interface_packets();
});
