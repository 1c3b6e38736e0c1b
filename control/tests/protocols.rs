//! The protocols as plug-ins: the registry starts what the config runs, and the core's view of
//! each protocol (the `Protocol` trait) reaches the protocol itself.

use control::config::parse;
use control::interface::Interface;
use control::protocols::igmp::{Igmp, MembershipEvent};
use control::protocols::proxy::IgmpProxy;
use control::protocols::registry::{self, Protocols};
use control::protocols::shared::ReceivedPacket;
use control::protocols::static_routing::StaticRouting;
use control::protocols::Protocol;
use dataplane::wire::igmp::Repr;
use dataplane::wire::ipv4::PROTOCOL_IGMP;
use std::net::Ipv4Addr;
use std::time::Duration;

const CONFIG: &str = r#"eal: ["--no-pci"]
ports:
  - { name: p0, device: "net_null0" }
  - { name: p1, device: "net_null1" }
  - { name: p2, device: "net_null2" }
interfaces:
  - { name: up, port: p0, address: 10.0.1.1/24 }
  - { name: down1, port: p1, address: 10.0.2.1/24, igmp: {} }
  - { name: down2, port: p2, address: 10.0.3.1/24, igmp: { version: 2 } }
igmp_proxy: { upstream: up }
"#;

fn started() -> Vec<Box<dyn Protocol>> {
    let cfg = parse(CONFIG, "protocols.yaml").unwrap();
    registry::start(&cfg, Duration::ZERO).unwrap()
}

#[test]
fn the_registry_starts_what_the_config_runs() {
    let started = started();
    let names: Vec<_> = started.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["static", "igmp-proxy", "igmp"]);
    let sections: Vec<_> = started.iter().map(|p| p.config_section()).collect();
    assert_eq!(sections, ["routes", "igmp_proxy", "interfaces[].igmp"]);
    // PIM is registered but not started: no interface has a `pim` section.
    assert_eq!(
        registry::REGISTRY
            .iter()
            .map(|r| r.name)
            .collect::<Vec<_>>(),
        ["static", "igmp-proxy", "pim", "igmp"]
    );

    // Without an igmp section or a proxy, only static routing runs.
    let plain = CONFIG
        .replace(", igmp: {}", "")
        .replace(", igmp: { version: 2 }", "")
        .replace("igmp_proxy: { upstream: up }\n", "");
    let cfg = parse(&plain, "plain.yaml").unwrap();
    let started = registry::start(&cfg, Duration::ZERO).unwrap();
    assert_eq!(
        started.iter().map(|p| p.name()).collect::<Vec<_>>(),
        ["static"]
    );
}

#[test]
fn the_running_protocols_are_found_by_type_and_handle() {
    let mut started = started();
    let mut mgm = mgm::Mgm::default();
    let mut protocols = Protocols::new();
    for take in [
        registry::take::<StaticRouting>,
        registry::take::<IgmpProxy>,
        registry::take::<Igmp>,
    ] {
        let p = take(&mut started).unwrap();
        let handle = mgm
            .register_protocol(Duration::ZERO, p.client_id())
            .unwrap();
        protocols.insert(handle, p);
    }
    assert!(started.is_empty());
    let igmp = protocols.handle_of::<Igmp>().unwrap();
    assert!(mgm.is_igmp(igmp));
    assert!(protocols.client(igmp).is_some());
    assert_eq!(
        protocols.get::<IgmpProxy>().map(IgmpProxy::upstream),
        Some(Interface::from_config_index(0))
    );
    let names: Vec<_> = protocols.iter().map(|(_, p)| p.name()).collect();
    assert_eq!(names, ["static", "igmp-proxy", "igmp"]);
}

#[test]
fn igmp_through_the_trait() {
    let mut started = started();
    let mut igmp = registry::take::<Igmp>(&mut started).unwrap();
    let down1 = Interface::from_config_index(1);
    assert!(igmp.consumes(PROTOCOL_IGMP, down1));
    // Startup queries on both IGMP interfaces.
    let now = Duration::ZERO;
    igmp.handle_timeout(now);
    let mut queries = Vec::new();
    while let Some(t) = igmp.poll_transmit() {
        queries.push(t.iface);
    }
    assert!(queries.contains(&down1));
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let report = Repr::ReportV2 { group }.to_bytes();
    igmp.handle_packet(
        now,
        down1,
        &ReceivedPacket {
            src: Ipv4Addr::new(10, 0, 2, 7),
            dst: group,
            protocol: PROTOCOL_IGMP,
            ttl: 1,
            router_alert: true,
            payload: &report,
        },
    );
    assert_eq!(
        igmp.poll_event(),
        Some(MembershipEvent::Join {
            iface: down1,
            source: None,
            group
        })
    );
    let views = igmp.show(now);
    let names: Vec<_> = views.iter().map(|v| v.name).collect();
    assert_eq!(names, ["igmp interfaces", "igmp groups"]);
    assert!(views[1].data.to_string().contains("239.1.2.3"));
}

#[test]
fn the_proxy_consumes_igmp_on_its_upstream_interface_only() {
    let mut started = started();
    let proxy = registry::take::<IgmpProxy>(&mut started).unwrap();
    let up = Interface::from_config_index(0);
    let down = Interface::from_config_index(1);
    assert!(proxy.consumes(PROTOCOL_IGMP, up));
    assert!(!proxy.consumes(PROTOCOL_IGMP, down));
    assert!(!proxy.consumes(103, up), "PIM is not the proxy's");
    assert_eq!(proxy.show(Duration::ZERO)[0].name, "igmp proxy");
}
