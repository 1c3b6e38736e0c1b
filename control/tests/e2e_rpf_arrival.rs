//! End to end, issue #19 (MGM spec gap 1 as revised, the seed page "RPF Alert Callbacks"): the
//! RPF callback for a new flow goes to the protocol that owns the interface its first packet
//! arrived on, with the route toward the source as input. Here the first packet of a new source
//! arrives on an interface other than the one its RPF route names, and `show mroute` says what
//! the owner of the arrival interface decided: for a static (*,G) route, the route's configured
//! incoming interface; under the IGMP proxy, the upstream interface for a source routed
//! downstream, but the route's interface for a source on a downstream subnet.
//!
//! Needs root (network namespaces).

mod common;
use common::*;
use std::process::Command;

/// Gives host `h` the extra address `addr`/32, a source off its own subnet.
fn add_address(lab: &Lab, h: u32, addr: &str) {
    let st = Command::new("ip")
        .args(["-n", &lab.ns(&format!("h{h}")), "addr", "add"])
        .arg(format!("{addr}/32"))
        .args(["dev", &format!("h{h}")])
        .status()
        .unwrap();
    assert!(st.success(), "ip addr add {addr}");
}

/// Host `h` sends `count` datagrams to `group` from `bind` (TTL 8, every 2 ms): a new source,
/// no warm-up, so its first packets meet a miss.
fn send_from(lab: &Lab, h: u32, bind: &str, group: &str, count: u32) {
    lab.send_from(h, bind, group, count, 2);
}

/// Counter `field` of entry (source, group) in `show mroute --json`, if the entry exists.
fn entry_counter(list: &serde_json::Value, source: &str, group: &str, field: &str) -> Option<u64> {
    list.as_array()?
        .iter()
        .find(|m| m["source"] == source && m["group"] == group)?[field]
        .as_u64()
}

fn pending_overflow(lab: &Lab) -> u64 {
    lab.ctl_json(&["show", "stats"])["drops"]["pending_overflow"]
        .as_u64()
        .unwrap()
}

#[test]
fn static_star_g_route_takes_a_new_source_routed_elsewhere_on_its_configured_iif() {
    let lab = Lab::up("arrst");
    add_address(&lab, 0, "10.9.0.5");
    // The RPF route toward 10.9.0.5 names if2; the (*,G) route says its traffic comes on if0.
    let router = lab.start_router_with(
        "  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }",
        "rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2 }",
    );
    assert_eq!(
        lab.ctl_json(&["show", "rpf", "10.9.0.5"])["interface"],
        "if2"
    );
    let r1 = lab.receiver(1, "239.1.1.1", 3000);
    // Arrives on if0 (static routing's): static routing is asked and sets its route's if0.
    send_from(&lab, 0, "10.9.0.5", "239.1.1.1", 20);
    let got = r1.finish();
    let overflow = pending_overflow(&lab);
    assert!(
        got.iter().all(|d| d.from == "10.9.0.5" && d.ttl == 7),
        "{got:?}"
    );
    assert!(
        got.len() as u64 + overflow >= 20,
        "h1 got {} of 20",
        got.len()
    );
    let n = got.len() as u64;
    let list = lab.wait_ctl("the entry's counters", 5, &["show", "mroute"], |v| {
        entry_counter(v, "10.9.0.5", "239.1.1.1", "packets") >= Some(n)
    });
    let e = mroute(&list, "10.9.0.5", "239.1.1.1");
    assert_eq!(
        (
            e["iif"].as_str(),
            e["upstream"].is_null(),
            oif_names(&e),
            e["origin"].as_str(),
            e["wrong_if"].as_u64()
        ),
        (
            Some("if0"),
            true,
            vec!["if1".to_string(), "if2".to_string()],
            Some("mgm"),
            Some(0)
        ),
        "{list}"
    );
    println!("{}", lab.ctl(&["show", "mroute"]));
    router.stop();
}

#[test]
fn igmp_proxy_accepts_upstream_a_source_routed_downstream_but_not_an_on_link_one() {
    const G: &str = "239.5.5.5";
    let mut lab = Lab::up("arrpx");
    lab.igmp = true;
    add_address(&lab, 0, "10.9.0.5"); // routed downstream (rpf_routes on if2)
    add_address(&lab, 0, "10.0.3.77"); // on if2's subnet
    let router = lab.start_router_with(
        "  []",
        "igmp_proxy: { upstream: if0, unsolicited_report_interval: 0.5 }\n\
         rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2 }",
    );
    let r1 = lab.receiver(1, G, 4000);
    lab.wait_ctl(
        "the proxy's database",
        10,
        &["show", "igmp", "proxy"],
        |v| {
            v["groups"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g[0] == G))
        },
    );
    // Both arrive upstream (if0, the proxy's interface): the proxy is asked about both.
    send_from(&lab, 0, "10.9.0.5", G, 20);
    send_from(&lab, 0, "10.0.3.77", G, 20);
    let got = r1.finish();
    let overflow = pending_overflow(&lab);
    let routed = got.iter().filter(|d| d.from == "10.9.0.5").count() as u64;
    assert!(
        routed + overflow >= 20 && got.iter().all(|d| d.from == "10.9.0.5" && d.ttl == 7),
        "h1 got {got:?} (pending overflow {overflow})"
    );
    let list = lab.wait_ctl("the entries' counters", 5, &["show", "mroute"], |v| {
        entry_counter(v, "10.9.0.5", G, "packets") >= Some(routed)
            && entry_counter(v, "10.0.3.77", G, "wrong_if") >= Some(1)
    });
    // Routed downstream, arrived upstream: accepted there, forwarded to the member.
    let accepted = mroute(&list, "10.9.0.5", G);
    assert_eq!(
        (
            accepted["iif"].as_str(),
            accepted["upstream"].is_null(),
            oif_names(&accepted)
        ),
        (Some("if0"), true, vec!["if1".to_string()]),
        "{list}"
    );
    // On if2's subnet, arrived upstream: the route's if2 stands; the copies from upstream are
    // wrong-interface drops, and a real sender on if2 would go upstream and to if1.
    let refused = mroute(&list, "10.0.3.77", G);
    let mut oifs = oif_names(&refused);
    oifs.sort();
    assert_eq!(
        (refused["iif"].as_str(), oifs, refused["packets"].as_u64()),
        (
            Some("if2"),
            vec!["if0".to_string(), "if1".to_string()],
            Some(0)
        ),
        "{list}"
    );
    println!("{}", lab.ctl(&["show", "mroute"]));
    router.stop();
}
