//! PIM with the control core on the fake data plane: its config section (file, line and field
//! errors, the rules between it and the other protocols), Hellos out of the port, a
//! neighbour's Hellos punted in, its show views, the reload, and the goodbye at shutdown.

mod core_support;

use control::config::{self, ConfigError};
use control::protocols::pim::{Pim, PimSettings, SptSwitchover};
use core_support::*;
use dataplane::wire::pim::{Hello, LanPruneDelay, Repr, ALL_PIM_ROUTERS};
use dataplane::wire::{ether, ipv4};
use std::net::Ipv4Addr;

/// PIM on if1 (hello every 2 s) and if2 (defaults), a static RP.
const PIM_IF1: &str = ", pim: { dr_priority: 5, hello_interval: 2 }";
const GLOBAL: &str =
    "pim:\n  rp:\n    - { address: 10.0.9.9, groups: 239.0.0.0/8 }\n  spt_switchover: never";

fn text(global: &str) -> String {
    three_ports(PIM_IF1, global).replace(
        "address: 10.0.3.1/24 }",
        "address: 10.0.3.1/24, pim: { enable: true } }",
    )
}

#[track_caller]
fn invalid(text: &str) -> (Option<usize>, String, String) {
    match config::parse(text, "t.yaml").unwrap_err() {
        ConfigError::Invalid {
            line,
            field,
            message,
            ..
        } => (line, field, message),
        e => panic!("not Invalid: {e}"),
    }
}

#[test]
fn the_section_is_read_and_checked_with_lines_and_fields() {
    let cfg = config::parse(&text(GLOBAL), "t.yaml").unwrap();
    let p = cfg.protocols.get::<PimSettings>().unwrap();
    assert_eq!(p.interfaces.keys().copied().collect::<Vec<_>>(), [1, 2]);
    let if1 = &p.interfaces[&1];
    assert_eq!(
        (if1.dr_priority, if1.hello_interval, if1.holdtime),
        (5, secs(2), secs(7))
    );
    assert_eq!(p.interfaces[&2].holdtime, secs(105));
    assert_eq!(p.rps[0].address, ip("10.0.9.9"));
    assert_eq!(p.rps[0].groups, (ip("239.0.0.0"), 8));
    assert_eq!(p.spt_switchover, SptSwitchover::Never);

    // Line 7 is if1's; 9 the global section's first.
    let bad_if = |extra: &str| invalid(&three_ports(extra, ""));
    let (line, field, msg) = bad_if(", pim: { hello_interval: 0 }");
    assert_eq!(
        (line, field.as_str()),
        (Some(7), "interfaces[1].pim.hello_interval")
    );
    assert!(msg.contains("out of range"), "{msg}");
    let (line, field, msg) = bad_if(", pim: { colour: red }");
    assert_eq!(
        (line, field.as_str()),
        (Some(7), "interfaces[1].pim.colour")
    );
    assert!(msg.contains("unknown field `colour`"), "{msg}");
    let (_, field, msg) = bad_if(", pim: { hello_interval: 30, holdtime: 20 }");
    assert_eq!(field, "interfaces[1].pim.holdtime");
    assert!(msg.contains("longer than the hello interval"), "{msg}");

    let bad_global = |g: &str| invalid(&text(g));
    let (line, field, msg) =
        bad_global("pim:\n  rp:\n    - { address: 10.0.9.9, groups: 232.1.0.0/16 }");
    assert_eq!((line, field.as_str()), (Some(11), "pim.rp[0].groups"));
    assert!(msg.contains("SSM range"), "{msg}");
    let (line, field, _) =
        bad_global("pim:\n  rp:\n    - { address: 239.1.1.1, groups: 239.0.0.0/8 }");
    assert_eq!((line, field.as_str()), (Some(11), "pim.rp[0].address"));
    let (line, field, _) = bad_global("pim:\n  spt_switchover: sometimes");
    assert_eq!((line, field.as_str()), (Some(10), "pim.spt_switchover"));
    let (_, field, msg) = invalid(&three_ports("", "pim:\n  spt_switchover: never"));
    assert_eq!(field, "pim");
    assert!(msg.contains("PIM runs on no interface"), "{msg}");

    // PIM owns its interfaces: no static route through them.
    let route = "routes:\n  - { group: 239.1.1.1, iif: if0, oifs: [{ interface: if1 }] }";
    let (_, field, msg) = invalid(&text(route));
    assert_eq!(field, "routes[0].oifs[0].interface");
    assert!(msg.contains("if1 runs PIM"), "{msg}");
    // enable: false is no PIM there.
    let off = three_ports(", pim: { enable: false }", route);
    let cfg = config::parse(&off, "t.yaml").unwrap();
    assert!(cfg.protocols.get::<PimSettings>().is_none());
}

fn hello_frame(src: Ipv4Addr, hello: &Hello) -> Vec<u8> {
    pim_frame_to(src, ALL_PIM_ROUTERS, &Repr::Hello(hello.clone()).to_bytes())
}

/// The PIM Hellos the core sent on `port`: (time, IP source, Hello).
fn hellos_sent(r: &Router, port: u16) -> Vec<(std::time::Duration, Ipv4Addr, Hello)> {
    r.dp.sent
        .iter()
        .filter(|(_, p, _)| *p == port)
        .filter_map(|(t, _, f)| {
            let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
            let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
            if ip.protocol() != ipv4::PROTOCOL_PIM {
                return None;
            }
            assert_eq!((ip.dst_addr(), ip.ttl()), (ALL_PIM_ROUTERS, 1));
            match Repr::parse_bytes(ip.payload()).ok()? {
                Repr::Hello(h) => Some((*t, ip.src_addr(), h)),
                _ => None,
            }
        })
        .collect()
}

fn neighbor_hello(priority: u32) -> Hello {
    Hello {
        holdtime: Some(7),
        lan_prune_delay: Some(LanPruneDelay {
            join_suppression_disabled: false,
            propagation_delay_ms: 500,
            override_interval_ms: 2500,
        }),
        dr_priority: Some(priority),
        generation_id: Some(77),
        ..Hello::default()
    }
}

fn view(r: &Router, name: &str) -> serde_json::Value {
    r.core
        .protocols()
        .iter()
        .flat_map(|(_, p)| p.show(r.now))
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no view {name}"))
        .data
}

#[test]
fn hellos_out_of_the_ports_and_a_neighbour_in() {
    let mut r = Router::new(&text(GLOBAL));
    let names: Vec<_> = r.core.protocols().iter().map(|(_, p)| p.name()).collect();
    assert_eq!(names, ["static", "pim"]);
    // The first Hello at a random time below Triggered_Hello_Delay (5 s, RFC 7761 4.3.1),
    // then one every 2 s: four by 12 s whatever the draw.
    r.advance(secs(12));
    let if1 = hellos_sent(&r, 1);
    // The first within Triggered_Hello_Delay (5 s, a random delay), then every 2 s.
    assert!(if1.len() >= 3, "every 2 s after the first: {if1:?}");
    assert!(if1[0].0 < secs(5), "{if1:?}");
    assert!(
        if1.windows(2).all(|w| w[1].0 - w[0].0 == secs(2)),
        "{if1:?}"
    );
    assert!(if1.iter().all(|(_, src, h)| *src == ip("10.0.2.1")
        && h.dr_priority == Some(5)
        && h.holdtime == Some(7)));
    assert!(!hellos_sent(&r, 2).is_empty(), "if2 too");
    assert!(
        hellos_sent(&r, 0).is_empty(),
        "not on if0, which runs no PIM"
    );

    // A neighbour on if1 with a higher priority: it becomes the DR; one on if0 is not ours.
    r.dp.punted
        .push_back((1, hello_frame(ip("10.0.2.2"), &neighbor_hello(10))));
    r.dp.punted
        .push_back((0, hello_frame(ip("10.0.1.2"), &neighbor_hello(10))));
    r.input();
    let n = view(&r, "pim neighbor");
    assert_eq!(n.as_array().unwrap().len(), 1, "{n}");
    assert_eq!(n[0]["address"], "10.0.2.2");
    assert_eq!(n[0]["is_dr"], true);
    let i = view(&r, "pim interface");
    assert_eq!(i[0]["dr"], "10.0.2.2");
    assert_eq!(i[0]["neighbors"], 1);
    assert_eq!(r.core.counters().punted_pim, 2);
    // The operator's log says so.
    let logged: Vec<String> = r.events.iter().map(|(_, e)| e.to_string()).collect();
    for line in [
        "pim: neighbor 10.0.2.2 up on if1",
        "pim: DR on if1 is 10.0.2.2",
    ] {
        assert!(logged.iter().any(|l| l == line), "{line}: {logged:?}");
    }
    // Its holdtime (7 s) runs out.
    r.advance(secs(8));
    let logged: Vec<String> = r.events.iter().map(|(_, e)| e.to_string()).collect();
    assert!(
        logged
            .iter()
            .any(|l| l == "pim: neighbor 10.0.2.2 down on if1"),
        "{logged:?}"
    );
    assert_eq!(view(&r, "pim neighbor"), serde_json::json!([]));
    assert_eq!(view(&r, "pim interface")[0]["dr"], "10.0.2.1");
    assert_eq!(
        view(&r, "pim interface")[0]["counters"]["neighbors_expired"],
        1
    );
}

#[test]
fn reload_applies_settings_and_refuses_a_new_interface() {
    let mut r = Router::new(&text(GLOBAL));
    r.advance(secs(10));
    let new_text = text(GLOBAL).replace("dr_priority: 5", "dr_priority: 9");
    let new = config::parse(&new_text, "new.yaml").unwrap();
    let t = r.now;
    r.core.reload(r.now, &r.cfg, &new, &mut r.dp).unwrap();
    r.cfg = new;
    r.advance(secs(0));
    r.input();
    let after: Vec<_> = hellos_sent(&r, 1)
        .into_iter()
        .filter(|(at, _, _)| *at >= t)
        .collect();
    assert_eq!(
        after.first().map(|(_, _, h)| h.dr_priority),
        Some(Some(9)),
        "{after:?}"
    );
    let pim = r.core.protocols().get::<Pim>().unwrap();
    assert_eq!(pim.static_rps().len(), 1);
    assert_eq!(pim.spt_switchover(), SptSwitchover::Never);

    // The global part: another RP and the SPT policy, applied in place.
    let global = "pim:\n  rp:\n    - { address: 10.0.9.9, groups: 239.0.0.0/8 }\n    - { address: 10.0.9.8, groups: 224.0.0.0/4 }";
    let new = config::parse(
        &text(global).replace("dr_priority: 5", "dr_priority: 9"),
        "g.yaml",
    )
    .unwrap();
    r.core.reload(r.now, &r.cfg, &new, &mut r.dp).unwrap();
    r.cfg = new;
    let pim = r.core.protocols().get::<Pim>().unwrap();
    let rps: Vec<_> = pim
        .static_rps()
        .iter()
        .map(|rp| (rp.address, rp.groups))
        .collect();
    assert_eq!(
        rps,
        [
            (ip("10.0.9.9"), (ip("239.0.0.0"), 8)),
            (ip("10.0.9.8"), (ip("224.0.0.0"), 4))
        ]
    );
    assert_eq!(
        pim.spt_switchover(),
        SptSwitchover::Immediate,
        "the default again"
    );

    // PIM on if0 too: needs a restart; nothing changes.
    let more = text(GLOBAL).replace(
        "address: 10.0.1.1/24 }",
        "address: 10.0.1.1/24, pim: { enable: true } }",
    );
    let more = config::parse(&more, "more.yaml").unwrap();
    let err = r.core.reload(r.now, &r.cfg, &more, &mut r.dp).unwrap_err();
    assert!(err.contains("interfaces running PIM changed"), "{err}");
    // And a file that would start PIM where none runs is refused by the core.
    let mut plain = Router::new(&three_ports("", ""));
    let with = config::parse(&text(""), "with.yaml").unwrap();
    let err = plain
        .core
        .reload(plain.now, &plain.cfg, &with, &mut plain.dp)
        .unwrap_err();
    assert!(err.contains("pim"), "{err}");
}

#[test]
fn goodbye_hellos_at_shutdown() {
    let mut r = Router::new(&text(GLOBAL));
    r.advance(secs(10));
    let before = r.dp.sent.len();
    r.core.shutdown(r.now, &mut r.dp);
    let bye: Vec<_> = hellos_sent(&r, 1)
        .into_iter()
        .chain(hellos_sent(&r, 2))
        .filter(|(_, _, h)| h.holdtime == Some(0))
        .collect();
    assert_eq!(bye.len(), 2, "one per PIM interface");
    assert_eq!(r.dp.sent.len(), before + 2);
}

#[test]
fn the_reference_config_examples_parse() {
    // configs/reference.yaml shows PIM commented out (its routes use if2); uncommented into a
    // file of their own, its examples must load as they are written.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/reference.yaml"
    ))
    .unwrap();
    let block = |start: &str, indent: &str| -> String {
        let mut lines = text.lines().skip_while(|l| l.trim_end() != start);
        let first = lines.next().expect(start);
        std::iter::once(first)
            .chain(lines.take_while(|l| l.starts_with(&format!("{indent}#   "))))
            .map(|l| l.replacen("# ", "", 1))
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let iface = block("    # pim:", "    ");
    let global = block("# pim:", "");
    let yaml = format!(
        "ports:\n  - {{ name: p0, device: net_null0 }}\ninterfaces:\n  - name: if2\n    port: p0\n    address: 10.0.3.1/24\n{iface}\n{global}\n"
    );
    let cfg = config::parse(&yaml, "reference-pim.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let p = cfg.protocols.get::<PimSettings>().unwrap();
    assert_eq!(
        p.interfaces[&0],
        control::protocols::pim::PimInterfaceSettings::default()
    );
    assert_eq!(p.rps.len(), 1);
}

#[test]
fn igmp_members_on_a_pim_interface_still_get_traffic() {
    use dataplane::wire::igmp::Repr as Igmp;
    // PIM and IGMP on if1: PIM owns it in the MGM, IGMP's members there make it an outgoing
    // interface (the MGM's defaults for its routing owner; PIM's join/prune machines add
    // their own membership there too, core_pim_join.rs).
    let text = three_ports(", pim: { hello_interval: 2 }, igmp: { version: 2 }", "");
    let mut r = Router::new(&text);
    let (src, g) = (ip("10.0.1.2"), ip("239.1.1.1"));
    r.advance(secs(1));
    r.igmp_from_host(1, ip("10.0.2.2"), g, Igmp::ReportV2 { group: g });
    r.input();
    r.miss(src, g, 0);
    r.input();
    assert_eq!(
        r.dp.oifs(src, g),
        Some(vec![(1, 1)]),
        "if1's member gets it"
    );
    let names: Vec<_> = r.core.protocols().iter().map(|(_, p)| p.name()).collect();
    assert_eq!(names, ["static", "pim", "igmp"]);
}
