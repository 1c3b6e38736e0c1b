//! A protocol from outside the crate, through the public registry API only: a tiny example
//! ("example joins": a routing protocol that owns one interface and wants some groups' traffic
//! there, from its own config section, and counts the packets of an experimental IP protocol
//! it receives there) that declares its section, validates it with
//! file/line/field errors, starts with the control core (static routing leaves it its
//! interface), forwards, applies a reload as a difference and refuses what it cannot apply.
//! It is a test's protocol, not the product's: it proves that a protocol is its own code plus
//! one registration.

mod core_support;

use control::config::{self, Config, ConfigError, ConfigSection, SectionError, Violation};
use control::interface::{interface_id, Interface};
use control::protocols::registry::REGISTRY;
use control::protocols::shared::{
    Datagram, ReceivedPacket, ReloadRequests, ShowView, StartRequests,
};
use control::protocols::{Protocol, Registration, Started};
use core_support::*;
use dataplane::wire::{ether, ipv4};
use mgm::{ClientId, InterfaceId, MgmClient, Scope};
use serde::Deserialize;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The example's validated section: its interface (index) and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExampleJoinsConfig {
    interface: usize,
    groups: Vec<Ipv4Addr>,
}

/// Its key in the file, and nothing else.
#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    example_joins: Option<RawJoins>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJoins {
    interface: String,
    groups: Vec<Ipv4Addr>,
}

fn load(text: &str, cfg: &mut Config) -> Result<(), SectionError> {
    let Some(raw) = serde_yaml::from_str::<Sections>(text)?.example_joins else {
        return Ok(());
    };
    let Some(interface) = cfg.interface_by_name(&raw.interface) else {
        return Err(Violation::new(
            "example_joins.interface",
            format!("no interface is named {}", raw.interface),
        )
        .into());
    };
    if let Some(i) = raw.groups.iter().position(|g| !g.is_multicast()) {
        return Err(Violation::new(
            format!("example_joins.groups[{i}]"),
            format!("{} is not a multicast address", raw.groups[i]),
        )
        .into());
    }
    cfg.protocols.insert(ExampleJoinsConfig {
        interface,
        groups: raw.groups,
    });
    Ok(())
}

/// An IP protocol number for experiments (RFC 3692).
const EXPERIMENT: u8 = 253;

/// The protocol: its groups on its interface, and the packets it received there.
struct ExampleJoins {
    joins: Option<ExampleJoinsConfig>,
    received: Vec<(Ipv4Addr, Vec<u8>)>,
    /// Each packet it takes in is answered with one of its own (an echo to the same group).
    outbox: Vec<Datagram>,
}

fn section(cfg: &Config) -> Option<&ExampleJoinsConfig> {
    cfg.protocols.get::<ExampleJoinsConfig>()
}

fn memberships(cfg: &Config) -> HashSet<(Scope, InterfaceId)> {
    section(cfg)
        .map(|c| {
            c.groups
                .iter()
                .map(|&g| (Scope::any_source(g).unwrap(), interface_id(c.interface)))
                .collect()
        })
        .unwrap_or_default()
}

impl MgmClient for ExampleJoins {}

impl Protocol for ExampleJoins {
    fn name(&self) -> &'static str {
        "example-joins"
    }

    fn client_id(&self) -> ClientId {
        ClientId {
            protocol: 0xfe,
            component: 1,
        }
    }

    fn config_section(&self) -> &'static str {
        "example_joins"
    }

    fn start_requests(&self, cfg: &Config) -> Result<StartRequests, String> {
        Ok(StartRequests {
            interfaces: section(cfg)
                .map(|c| Interface::from_config_index(c.interface))
                .into_iter()
                .collect(),
            memberships: memberships(cfg).into_iter().collect(),
            ..StartRequests::default()
        })
    }

    fn consumes(&self, ip_protocol: u8, iface: Interface) -> bool {
        ip_protocol == EXPERIMENT
            && self
                .joins
                .as_ref()
                .is_some_and(|c| Interface::from_config_index(c.interface) == iface)
    }

    fn handle_packet(&mut self, _now: Duration, iface: Interface, packet: &ReceivedPacket<'_>) {
        self.received.push((packet.src, packet.payload.to_vec()));
        let mut echo = b"echo ".to_vec();
        echo.extend_from_slice(packet.payload);
        self.outbox.push(Datagram {
            iface,
            src: ip("10.0.3.1"),
            dst: packet.dst,
            protocol: EXPERIMENT,
            ttl: 1,
            dscp_ecn: 0xc0,
            payload: echo,
        });
        // And one it may not send: a unicast destination (refused and counted by the core).
        self.outbox.push(Datagram {
            iface,
            src: ip("10.0.3.1"),
            dst: packet.src,
            protocol: EXPERIMENT,
            ttl: 1,
            dscp_ecn: 0xc0,
            payload: b"unicast".to_vec(),
        });
    }

    fn poll_datagram(&mut self) -> Option<Datagram> {
        (!self.outbox.is_empty()).then(|| self.outbox.remove(0))
    }

    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String> {
        let (Some(o), Some(n)) = (section(old), section(new)) else {
            return Err("`example_joins` removed: restart mrouter to stop the protocol".into());
        };
        if o.interface != n.interface {
            return Err("`example_joins.interface` changed: the protocol owns it from start; restart mrouter to apply that".into());
        }
        let (before, after) = (memberships(old), memberships(new));
        Ok(ReloadRequests {
            memberships_removed: before.difference(&after).copied().collect(),
            memberships_added: after.difference(&before).copied().collect(),
            ..ReloadRequests::default()
        })
    }

    fn commit_reload(&mut self, _now: Duration, new: &Config) {
        self.joins = section(new).cloned();
    }

    fn show(&self, _now: Duration) -> Vec<ShowView> {
        let groups = self.joins.as_ref().map(|c| c.groups.clone());
        vec![
            ShowView::new("example joins", &groups),
            ShowView::new("example received", &self.received),
        ]
    }
}

fn start(cfg: &Config, _now: Duration) -> Started {
    Ok(section(cfg).map(|c| {
        Box::new(ExampleJoins {
            joins: Some(c.clone()),
            received: Vec::new(),
            outbox: Vec::new(),
        }) as Box<dyn Protocol>
    }))
}

/// The one registration line.
const EXAMPLE: Registration = Registration {
    name: "example-joins",
    start,
    config: ConfigSection {
        keys: &["example_joins"],
        interface_keys: &[],
        load,
        check: config::section::no_check,
    },
};

fn registry() -> Vec<Registration> {
    let mut r = REGISTRY.to_vec();
    r.push(EXAMPLE);
    r
}

const JOINS: &str = "example_joins:\n  interface: if2\n  groups: [239.7.7.7]";

#[track_caller]
fn invalid(err: ConfigError) -> (Option<usize>, String, String) {
    match err {
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
fn its_section_is_its_own_with_lines_and_fields() {
    let text = three_ports("", JOINS);
    // Line 9 of three_ports' text is `rest`'s first line. Without its registration the
    // section is nobody's.
    let (line, field, message) = invalid(config::parse(&text, "t.yaml").unwrap_err());
    assert_eq!((line, field.as_str()), (Some(9), "example_joins"));
    assert!(
        message.contains("unknown field `example_joins`"),
        "{message}"
    );

    let cfg = config::parse_with(&text, "t.yaml", &registry()).unwrap();
    assert_eq!(
        cfg.protocols.get::<ExampleJoinsConfig>(),
        Some(&ExampleJoinsConfig {
            interface: 2,
            groups: vec![ip("239.7.7.7")]
        })
    );
    let bad = |t: &str| {
        invalid(config::parse_with(&three_ports("", t), "t.yaml", &registry()).unwrap_err())
    };
    let (line, field, message) = bad("example_joins:\n  interface: if9\n  groups: []");
    assert_eq!(
        (line, field.as_str()),
        (Some(10), "example_joins.interface")
    );
    assert!(message.contains("no interface is named if9"), "{message}");
    let (line, field, message) =
        bad("example_joins:\n  interface: if2\n  groups:\n    - 239.7.7.7\n    - 10.7.7.7");
    assert_eq!(
        (line, field.as_str()),
        (Some(13), "example_joins.groups[1]")
    );
    assert!(message.contains("not a multicast address"), "{message}");
    // What its serde types refuse: serde_yaml's line and path.
    let (line, field, message) =
        bad("example_joins:\n  interface: if2\n  groups: []\n  colour: red");
    assert_eq!((line, field.as_str()), (Some(12), "example_joins.colour"));
    assert!(message.contains("unknown field `colour`"), "{message}");
    let (line, field, _) = bad("example_joins:\n  interface: if2\n  groups: [239.7.7]");
    assert_eq!(
        (line, field.as_str()),
        (Some(11), "example_joins.groups[0]")
    );
}

#[test]
fn it_runs_with_the_core_and_reloads_as_a_difference() {
    let (g, g2) = (ip("239.7.7.7"), ip("239.7.7.8"));
    let s = ip("10.0.1.2");
    let mut r = Router::with_registry(&three_ports("", JOINS), &registry());
    let names: Vec<_> = r.core.protocols().iter().map(|(_, p)| p.name()).collect();
    assert_eq!(names, ["static", "example-joins"]);
    r.miss(s, g, 0);
    r.miss(s, g2, 0);
    r.input();
    assert_eq!(r.dp.oifs(s, g), Some(vec![(2, 1)]), "its membership on if2");
    assert_eq!(r.dp.oifs(s, g2), Some(vec![]), "nobody wants g2");
    let g_before = r.dp.changes_of(s, g);

    r.advance(secs(1));
    let more = three_ports("", &JOINS.replace("[239.7.7.7]", "[239.7.7.7, 239.7.7.8]"));
    let new = config::parse_with(&more, "new.yaml", &registry()).unwrap();
    let msg = r.core.reload(r.now, &r.cfg, &new, &mut r.dp).unwrap();
    assert_eq!(
        msg,
        "reloaded: 0 memberships removed, 1 added, 0 entries refreshed, 0 RPF routes changed"
    );
    r.cfg = new;
    r.input();
    assert_eq!(
        r.dp.oifs(s, g2),
        Some(vec![(2, 1)]),
        "g2 now goes out of if2"
    );
    assert_eq!(r.dp.changes_of(s, g), g_before, "g's entry untouched");
    let view = r
        .core
        .protocols()
        .iter()
        .flat_map(|(_, p)| p.show(r.now))
        .find(|v| v.name == "example joins")
        .expect("its show view");
    assert_eq!(view.data, serde_json::json!(["239.7.7.7", "239.7.7.8"]));

    // Its own refusals: nothing changes.
    let published = r.dp.publications.len();
    for (text, why) in [
        (three_ports("", ""), "`example_joins` removed"),
        (
            three_ports("", &JOINS.replace("if2", "if1")),
            "`example_joins.interface` changed",
        ),
    ] {
        let bad = config::parse_with(&text, "bad.yaml", &registry()).unwrap();
        let err = r.core.reload(r.now, &r.cfg, &bad, &mut r.dp).unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    assert_eq!(r.dp.publications.len(), published);
    assert_eq!(r.dp.oifs(s, g2), Some(vec![(2, 1)]));
    assert_eq!(r.core.counters().reloads_failed, 2);
}

/// A frame of IP protocol `protocol` from `src` to `dst` carrying `payload`, as a worker
/// punts it.
fn frame(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; ipv4::HEADER_LEN + payload.len()];
    ipv4::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: payload.len(),
        ttl: 1,
        dscp_ecn: 0,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
    ip[ipv4::HEADER_LEN..].copy_from_slice(payload);
    let mut f = Vec::new();
    f.extend_from_slice(&ether::multicast_mac(dst).0);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    f.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(&ip);
    f
}

#[test]
fn it_gets_the_packets_it_consumes_on_its_interface_only() {
    let mut r = Router::with_registry(&three_ports("", JOINS), &registry());
    let (h2, h1) = (ip("10.0.3.2"), ip("10.0.2.2"));
    let to = ip("224.0.0.99");
    r.dp.punted
        .push_back((2, frame(h2, to, EXPERIMENT, b"hello")));
    r.dp.punted
        .push_back((1, frame(h1, to, EXPERIMENT, b"not on its interface")));
    r.dp.punted
        .push_back((2, frame(h2, to, 254, b"not its protocol")));
    r.input();
    let received = r
        .core
        .protocols()
        .iter()
        .flat_map(|(_, p)| p.show(r.now))
        .find(|v| v.name == "example received")
        .expect("its show view");
    let hello: Vec<u8> = b"hello".to_vec();
    assert_eq!(received.data, serde_json::json!([["10.0.3.2", hello]]));
    assert_eq!(r.core.counters().punted_link_local, 3, "all three counted");
    // Its answer went out of its interface's port (if2: port 2) as a frame of its own IP
    // protocol, header built by the core; the unicast one was refused.
    let mut want = frame(ip("10.0.3.1"), to, EXPERIMENT, b"echo hello");
    want[6..12].fill(0); // the data plane sets the port's MAC
    want[14 + 1] = 0xc0; // DSCP CS6
    ipv4::Packet::new_unchecked(&mut want[14..]).fill_checksum();
    let sent: Vec<_> = r.dp.sent.iter().map(|(_, p, f)| (*p, f.clone())).collect();
    assert_eq!(sent, vec![(2, want)]);
    let c = r.core.counters();
    assert_eq!((c.datagrams_sent, c.datagrams_refused), (1, 1));
}
