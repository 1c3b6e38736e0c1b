//! Whole-file tests: a good config and one test per rule, each asserting file, line and field.

use control::config::*;
use control::protocols::igmp::IgmpInterfaceConfig as IgmpConfig;
use std::net::Ipv4Addr;
use std::path::Path;

const FILE: &str = "configs/test.yaml";

/// Line numbers in the tests refer to this text.
const GOOD: &str = r#"eal: ["--no-pci"]
ports:
  - name: p0
    device: "net_af_packet0,iface=r0"
    rx_queues: 2
  - name: p1
    device: "net_af_packet1,iface=r1"
    mtu: 1500
  - name: p2
    device: "0000:3b:00.0"
interfaces:
  - name: if0
    port: p0
    address: 10.0.1.1/24
  - name: if1
    port: p1
    address: 10.0.2.1/24
  - name: if2
    port: p2
    address: 10.0.3.1/24
routes:
  - group: 239.1.1.1
    iif: if0
    oifs:
      - interface: if1
      - interface: if2
        ttl_threshold: 8
  - group: 239.2.2.2
    source: 10.0.1.2
    iif: if0
    oifs: [{interface: if1}]
workers: [1, 2]
"#;

/// GOOD with 1-based line `line` replaced by `text` (which may hold several lines, or none).
fn with_line(line: usize, text: &str) -> String {
    let mut lines: Vec<&str> = GOOD.lines().collect();
    assert!(line >= 1 && line <= lines.len(), "no line {line}");
    lines[line - 1] = text;
    lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Parses `text`, expecting an error at `line` in `field` whose message contains `part`.
#[track_caller]
fn assert_error(text: &str, line: usize, field: &str, part: &str) -> ConfigError {
    let err = match parse(text, FILE) {
        Ok(config) => panic!("parsed, expected an error at {line} {field}: {config:?}"),
        Err(err) => err,
    };
    let ConfigError::Invalid {
        file,
        line: got_line,
        field: got_field,
        message,
    } = &err
    else {
        panic!("not Invalid: {err}");
    };
    assert_eq!(file, FILE, "{err}");
    assert_eq!(*got_line, Some(line), "{err}");
    assert_eq!(got_field, field, "{err}");
    assert!(message.contains(part), "{err}: no `{part}`");
    assert!(
        !message.contains(&format!("line {line} column")),
        "location left in message: {err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{FILE}:{line}: {}{message}",
            if field.is_empty() {
                String::new()
            } else {
                format!("{field}: ")
            }
        )
    );
    err
}

#[test]
fn good_config_parses_to_the_model() {
    let config = parse(GOOD, FILE).unwrap();
    let a = Ipv4Addr::new;
    assert_eq!(
        config,
        Config {
            eal: vec!["--no-pci".into()],
            ports: vec![
                PortConfig {
                    name: "p0".into(),
                    device: "net_af_packet0,iface=r0".into(),
                    rx_queues: 2,
                    tx_queues: 1,
                    mtu: None
                },
                PortConfig {
                    name: "p1".into(),
                    device: "net_af_packet1,iface=r1".into(),
                    rx_queues: 1,
                    tx_queues: 1,
                    mtu: Some(1500)
                },
                PortConfig {
                    name: "p2".into(),
                    device: "0000:3b:00.0".into(),
                    rx_queues: 1,
                    tx_queues: 1,
                    mtu: None
                },
            ],
            interfaces: vec![
                InterfaceConfig {
                    igmp: None,
                    kernel_twin: Some("if0".into()),
                    name: "if0".into(),
                    port: 0,
                    address: a(10, 0, 1, 1),
                    prefix_len: 24,
                    mtu: None,
                    vlan: None
                },
                InterfaceConfig {
                    igmp: None,
                    kernel_twin: Some("if1".into()),
                    name: "if1".into(),
                    port: 1,
                    address: a(10, 0, 2, 1),
                    prefix_len: 24,
                    mtu: None,
                    vlan: None
                },
                InterfaceConfig {
                    igmp: None,
                    kernel_twin: Some("if2".into()),
                    name: "if2".into(),
                    port: 2,
                    address: a(10, 0, 3, 1),
                    prefix_len: 24,
                    mtu: None,
                    vlan: None
                },
            ],
            routes: vec![
                RouteConfig {
                    source: None,
                    group: a(239, 1, 1, 1),
                    iif: 0,
                    oifs: vec![
                        OifConfig {
                            interface: 1,
                            ttl_threshold: 1
                        },
                        OifConfig {
                            interface: 2,
                            ttl_threshold: 8
                        }
                    ],
                },
                RouteConfig {
                    source: Some(a(10, 0, 1, 2)),
                    group: a(239, 2, 2, 2),
                    iif: 0,
                    oifs: vec![OifConfig {
                        interface: 1,
                        ttl_threshold: 1
                    }],
                },
            ],
            workers: vec![1, 2],
            rpf_routes: vec![],
            rpf_kernel_table: None,
            ssm_range: (a(232, 0, 0, 0), 8),
            igmp_proxy: None,
            limits: Limits::default(),
            control: ControlConfig::default(),
            protocols: ProtocolSections::default(),
            dataplane: DataplaneConfig::default(),
        }
    );
    assert_eq!(config.interface_by_name("if2"), Some(2));
    assert_eq!(config.interface_by_name("if3"), None);
    assert_eq!(config.port_by_name("p1"), Some(1));
    assert_eq!(config.port_of_interface(1), 1);
    let if0 = &config.interfaces[0];
    assert!(if0.contains(a(10, 0, 1, 200)));
    assert!(!if0.contains(a(10, 0, 2, 1)));
    assert_eq!(
        (if0.network(), if0.netmask()),
        (a(10, 0, 1, 0), a(255, 255, 255, 0))
    );
}

#[test]
fn minimal_config_takes_defaults() {
    let config = parse("ports:\n  - name: p0\n    device: net_null0\n", FILE).unwrap();
    assert!(
        config.eal.is_empty()
            && config.interfaces.is_empty()
            && config.routes.is_empty()
            && config.workers.is_empty()
    );
    assert_eq!(
        (
            config.ports[0].rx_queues,
            config.ports[0].tx_queues,
            config.ports[0].mtu
        ),
        (1, 1, None)
    );
}

#[test]
fn route_without_oifs_drops() {
    let config = parse(&with_line(31, "    oifs: []"), FILE).unwrap();
    assert!(config.routes[1].oifs.is_empty());
}

#[test]
fn quoted_star_source_is_any() {
    let config = parse(&with_line(29, "    source: \"*\""), FILE).unwrap();
    assert_eq!(config.routes[1].source, None);
    let config = parse(&with_line(29, "    source: '*'"), FILE).unwrap();
    assert_eq!(config.routes[1].source, None);
}

#[test]
fn bare_star_source_explains_the_alias() {
    assert_error(
        &with_line(29, "    source: *"),
        29,
        "",
        "write \"*\" in quotes",
    );
}

#[test]
fn unknown_top_level_field() {
    let text = format!("{GOOD}colour: blue\n");
    assert_error(&text, 33, "colour", "unknown field `colour`");
    // The message lists every key the core declares, the data plane's too.
    let err = parse(&text, FILE).unwrap_err().to_string();
    assert!(
        err.contains("`dataplane`") && err.contains("`rpf`"),
        "{err}"
    );
}

#[test]
fn unknown_nested_field() {
    assert_error(
        &with_line(8, "    mtu: 1500\n    speed: 10G"),
        9,
        "ports[1].speed",
        "unknown field `speed`",
    );
    assert_error(
        &with_line(27, "        ttl: 8"),
        27,
        "routes[0].oifs[1].ttl",
        "unknown field `ttl`",
    );
}

#[test]
fn wrong_type() {
    assert_error(
        &with_line(5, "    rx_queues: two"),
        5,
        "ports[0].rx_queues",
        "invalid type: string \"two\"",
    );
    assert_error(
        &with_line(32, "workers: [1, x]"),
        32,
        "workers[1]",
        "invalid type",
    );
    assert_error(
        &with_line(2, "ports: p0"),
        2,
        "ports",
        "expected a sequence",
    );
    assert_error(
        &with_line(27, "        ttl_threshold: 256"),
        27,
        "routes[0].oifs[1].ttl_threshold",
        "256",
    );
}

#[test]
fn missing_required_field() {
    assert_error(
        &with_line(10, ""),
        9,
        "ports[2].device",
        "missing field `device`",
    );
    assert_error(
        &with_line(23, ""),
        22,
        "routes[0].iif",
        "missing field `iif`",
    );
}

#[test]
fn yaml_syntax_error() {
    assert_error(
        &with_line(13, "    port: p0: x"),
        13,
        "",
        "mapping values are not allowed",
    );
    assert_error(
        &with_line(16, "\tport: p1"),
        16,
        "",
        "found a tab character",
    );
    assert_error(
        &with_line(1, "eal: [\"--no-pci\""),
        2,
        "",
        "did not find expected ',' or ']'",
    );
    assert_error(
        &with_line(32, "workers: ]"),
        32,
        "",
        "did not find expected node content",
    );
}

#[test]
fn duplicate_key() {
    assert_error(
        &with_line(13, "    port: p0\n    port: p1"),
        12,
        "interfaces[0].port",
        "duplicate field `port`",
    );
}

#[test]
fn bad_interface_address() {
    assert_error(
        &with_line(14, "    address: 10.0.1.300/24"),
        14,
        "interfaces[0].address",
        "`10.0.1.300` is not an IPv4 address",
    );
    assert_error(
        &with_line(17, "    address: 10.0.2.1"),
        17,
        "interfaces[1].address",
        "no prefix length",
    );
    assert_error(
        &with_line(20, "    address: 10.0.3.1/33"),
        20,
        "interfaces[2].address",
        "`33` is not a prefix length",
    );
    assert_error(
        &with_line(20, "    address: 10.0.3.0/24"),
        20,
        "interfaces[2].address",
        "network address of 10.0.3.0/24",
    );
    assert_error(
        &with_line(20, "    address: 0.0.0.0/24"),
        20,
        "interfaces[2].address",
        "unspecified",
    );
}

#[test]
fn overlapping_subnets() {
    assert_error(
        &with_line(20, "    address: 10.0.0.1/16"),
        20,
        "interfaces[2].address",
        "overlaps interface if0",
    );
}

#[test]
fn group_must_be_routable_multicast() {
    let err = assert_error(
        &with_line(22, "  - group: 10.1.1.1"),
        22,
        "routes[0].group",
        "10.1.1.1 is not a multicast address",
    );
    assert_eq!(
        err.to_string(),
        "configs/test.yaml:22: routes[0].group: 10.1.1.1 is not a multicast address"
    );
    assert_error(
        &with_line(28, "  - group: 224.0.0.5"),
        28,
        "routes[1].group",
        "224.0.0.0/24",
    );
    assert_error(
        &with_line(28, "  - group: 239.1.1"),
        28,
        "routes[1].group",
        "not an IPv4 address",
    );
}

#[test]
fn bad_source() {
    assert_error(
        &with_line(29, "    source: 239.1.1.9"),
        29,
        "routes[1].source",
        "a source must be unicast",
    );
}

#[test]
fn interface_on_missing_port() {
    assert_error(
        &with_line(16, "    port: p9"),
        16,
        "interfaces[1].port",
        "no port is named p9",
    );
}

#[test]
fn two_untagged_interfaces_on_one_port() {
    assert_error(
        &with_line(19, "    port: p1"),
        19,
        "interfaces[2].port",
        "port p1 already has untagged interface if1",
    );
}

#[test]
fn unknown_iif() {
    assert_error(
        &with_line(30, "    iif: if7"),
        30,
        "routes[1].iif",
        "no interface is named if7",
    );
}

#[test]
fn unknown_oif() {
    assert_error(
        &with_line(26, "      - interface: if9"),
        26,
        "routes[0].oifs[1].interface",
        "no interface is named if9",
    );
    // Inside a flow collection the line is the one that holds it.
    assert_error(
        &with_line(31, "    oifs: [{interface: if9}]"),
        31,
        "routes[1].oifs[0].interface",
        "if9",
    );
}

#[test]
fn oif_equal_to_iif() {
    assert_error(
        &with_line(25, "      - interface: if0"),
        25,
        "routes[0].oifs[0].interface",
        "if0 is the incoming interface",
    );
}

#[test]
fn duplicate_oif() {
    assert_error(
        &with_line(26, "      - interface: if1"),
        26,
        "routes[0].oifs[1].interface",
        "if1 is already routes[0].oifs[0]",
    );
}

#[test]
fn duplicate_port_name() {
    assert_error(
        &with_line(6, "  - name: p0"),
        6,
        "ports[1].name",
        "port name p0 is already used by ports[0]",
    );
}

#[test]
fn duplicate_device() {
    assert_error(
        &with_line(7, "    device: 0000:3B:00.0"),
        10,
        "ports[2].device",
        "0000:3b:00.0 is already used by port p1",
    );
    assert_error(
        &with_line(7, "    device: net_af_packet0,iface=r9"),
        7,
        "ports[1].device",
        "net_af_packet0 is already used by port p0",
    );
}

#[test]
fn bad_device() {
    assert_error(
        &with_line(10, "    device: eth0"),
        10,
        "ports[2].device",
        "neither a virtual device",
    );
}

#[test]
fn bad_name() {
    assert_error(
        &with_line(9, "  - name: p 2"),
        9,
        "ports[2].name",
        "not a valid name",
    );
}

#[test]
fn duplicate_interface_name() {
    assert_error(
        &with_line(15, "  - name: if0"),
        15,
        "interfaces[1].name",
        "interface name if0 is already used by interfaces[0]",
    );
}

#[test]
fn duplicate_route() {
    let text = with_line(28, "  - group: 239.1.1.1");
    let text = text.replace("    source: 10.0.1.2\n", "");
    assert_error(
        &text,
        28,
        "routes[1]",
        "route (*, 239.1.1.1) is already routes[0]",
    );
    let text = with_line(22, "  - group: 239.2.2.2\n    source: 10.0.1.2");
    assert_error(
        &text,
        29,
        "routes[1]",
        "route (10.0.1.2, 239.2.2.2) is already routes[0]",
    );
    // Same group, one (*,G) and one (S,G): two routes.
    assert!(parse(&with_line(28, "  - group: 239.1.1.1"), FILE).is_ok());
}

#[test]
fn queue_counts_in_range() {
    assert_error(
        &with_line(5, "    rx_queues: 0"),
        5,
        "ports[0].rx_queues",
        "0 is out of range 1..=64",
    );
    assert_error(
        &with_line(5, "    tx_queues: 65"),
        5,
        "ports[0].tx_queues",
        "65 is out of range 1..=64",
    );
    assert_error(
        &with_line(5, "    rx_queues: -1"),
        5,
        "ports[0].rx_queues",
        "`-1`, expected an integer in 1..=64",
    );
    assert_error(
        &with_line(8, "    mtu: 67"),
        8,
        "ports[1].mtu",
        "out of range 68..=65535",
    );
}

#[test]
fn no_ports() {
    assert_error("ports: []\n", 1, "ports", "at least one port");
    assert_error("workers: []\n", 1, "ports", "missing field `ports`");
    assert_error("", 1, "ports", "missing field `ports`");
}

#[test]
fn duplicate_worker() {
    assert_error(
        &with_line(32, "workers:\n  - 1\n  - 1"),
        34,
        "workers[1]",
        "lcore 1 is already workers[0]",
    );
}

#[test]
fn unreadable_file() {
    let err = load(Path::new("/nonexistent/mrouter.yaml")).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(
        err.to_string().starts_with("/nonexistent/mrouter.yaml: "),
        "{err}"
    );
}

#[test]
fn never_panics_on_damaged_text() {
    // Every prefix, and the file without each of its lines: an error or a config, no panic.
    for end in (0..=GOOD.len()).filter(|&i| GOOD.is_char_boundary(i)) {
        let _ = parse(&GOOD[..end], FILE);
    }
    for line in 1..=GOOD.lines().count() {
        let _ = parse(&with_line(line, ""), FILE);
        let _ = parse(&with_line(line, "  - : ["), FILE);
    }
}

/// A file in the workspace's `configs/`: next to this crate in the workspace, or found from
/// this source file's path when the module is compiled elsewhere (a scratch crate).
fn workspace_config(name: &str) -> std::path::PathBuf {
    let from_manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(name);
    let from_source = Path::new(file!())
        .ancestors()
        .nth(3)
        .map(|root| root.join("configs").join(name));
    [Some(from_manifest), from_source]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("configs/{name} not found"))
}

#[test]
fn reference_config_loads() {
    let config = load(&workspace_config("reference.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.ports.len(), 3);
    assert_eq!(config.interfaces.len(), 4);
    let vlan = &config.interfaces[3];
    assert_eq!(
        (vlan.port, vlan.vlan, vlan.kernel_twin.as_deref()),
        (1, Some(100), None)
    );
    assert!(config.routes.iter().any(|r| r.source.is_some()));
    assert!(config.routes.iter().any(|r| r.source.is_none()));
    assert!(config
        .routes
        .iter()
        .flat_map(|r| &r.oifs)
        .any(|o| o.ttl_threshold > 1));
}

/// The reference documents every field the parser takes: each appears as `name:`, set or in
/// a commented example. (Keep this list in step with `config/raw.rs`.)
#[test]
fn reference_config_names_every_field() {
    let text = std::fs::read_to_string(workspace_config("reference.yaml")).unwrap();
    let fields = [
        // top level
        "eal",
        "ports",
        "interfaces",
        "routes",
        "workers",
        "rpf_routes",
        "rpf",
        "ssm_range",
        "igmp_proxy",
        "limits",
        "control",
        "dataplane",
        "mbuf_data_room",
        "avx2",
        // ports
        "name",
        "device",
        "rx_queues",
        "tx_queues",
        "mtu",
        // interfaces and igmp
        "port",
        "address",
        "igmp",
        "kernel_twin",
        "kernel_twin_name",
        "vlan",
        "version",
        "query_interval",
        "query_response_interval",
        "robustness",
        "last_member_query_interval",
        "last_member_query_count",
        "immediate_leave",
        "max_groups",
        "max_sources",
        "static_joins",
        "group",
        "source",
        // routes
        "iif",
        "oifs",
        "interface",
        "ttl_threshold",
        // rpf_routes
        "prefix",
        "next_hop",
        // rpf
        "kernel",
        "table",
        // igmp_proxy
        "upstream",
        "unsolicited_report_interval",
        // limits
        "max_mfes",
        "pending_flows",
        "pending_packets_per_flow",
        "pending_packets_shared",
        "miss_rate",
        "miss_burst",
        "miss_rate_per_worker",
        "miss_rate_per_source",
        "entry_lifetime",
        // control
        "nice",
        // pim (per interface, then global)
        "pim",
        "enable",
        "dr_priority",
        "hello_interval",
        "holdtime",
        "triggered_hello_delay",
        "propagation_delay_ms",
        "override_interval_ms",
        "max_neighbors",
        "rp",
        "spt_switchover",
    ];
    for f in fields {
        let set = text.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ', '-']);
            l.starts_with(&format!("{f}:")) || l.starts_with(&format!("{{ {f}:"))
        });
        assert!(set, "configs/reference.yaml does not show `{f}:`");
    }
    assert!(
        !text.contains("not wired"),
        "IGMP is wired into mrouter: the reference must not say otherwise"
    );
}

/// The reference's commented-out igmp_proxy example is valid as it stands.
#[test]
fn reference_config_igmp_proxy_example_loads() {
    let text = std::fs::read_to_string(workspace_config("reference.yaml")).unwrap();
    let mut out = String::new();
    let mut in_proxy = false;
    for line in text.lines() {
        if line.starts_with("# igmp_proxy:") {
            in_proxy = true;
        } else if in_proxy && !line.starts_with("#   ") {
            in_proxy = false;
        }
        match line.strip_prefix("# ") {
            Some(l) if in_proxy && !l.trim_start().starts_with('#') => out += l,
            _ => out += line,
        }
        out += "\n";
    }
    assert!(out.contains("\nigmp_proxy:\n  upstream: if0\n"), "{out}");
    let dir = std::env::temp_dir().join(format!("mrouter-ref-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reference-proxy.yaml");
    std::fs::write(&path, &out).unwrap();
    let loaded = load(&path);
    let _ = std::fs::remove_dir_all(&dir);
    let config = loaded.unwrap_or_else(|e| panic!("{e}"));
    let proxy = config.igmp_proxy.expect("the proxy section");
    assert_eq!(proxy.upstream, 0);
}

#[test]
fn lab_config_loads() {
    let config = load(&workspace_config("lab.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let a = Ipv4Addr::new;
    assert_eq!(config.eal, ["--no-pci"]);
    assert_eq!(config.workers, [1]);
    let devices: Vec<&str> = config.ports.iter().map(|p| p.device.as_str()).collect();
    assert_eq!(
        devices,
        [
            "net_af_packet0,iface=r0,qpairs=2,blocksz=20480,framesz=10240",
            "net_af_packet1,iface=r1,qpairs=2,blocksz=20480,framesz=10240",
            "net_af_packet2,iface=r2,qpairs=2,blocksz=20480,framesz=10240"
        ]
    );
    let addrs: Vec<_> = config
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.port, i.address, i.prefix_len))
        .collect();
    assert_eq!(
        addrs,
        [
            ("if0", 0, a(10, 0, 1, 1), 24),
            ("if1", 1, a(10, 0, 2, 1), 24),
            ("if2", 2, a(10, 0, 3, 1), 24)
        ]
    );
    let one = |interface| OifConfig {
        interface,
        ttl_threshold: 1,
    };
    assert_eq!(
        config.routes,
        [
            RouteConfig {
                source: None,
                group: a(239, 1, 1, 1),
                iif: 0,
                oifs: vec![one(1), one(2)]
            },
            RouteConfig {
                source: Some(a(10, 0, 1, 2)),
                group: a(239, 2, 2, 2),
                iif: 0,
                oifs: vec![one(1)]
            },
        ]
    );
}

const RPF: &str = "rpf_routes:
  - prefix: 10.9.0.0/16
    interface: if1
    next_hop: 10.0.2.254
  - prefix: 0.0.0.0/0
    interface: if0
";

#[test]
fn rpf_routes_parse() {
    let cfg = parse(&format!("{GOOD}{RPF}"), FILE).unwrap();
    assert_eq!(
        cfg.rpf_routes,
        vec![
            RpfRouteConfig {
                network: "10.9.0.0".parse().unwrap(),
                prefix_len: 16,
                interface: 1,
                next_hop: Some("10.0.2.254".parse().unwrap()),
            },
            RpfRouteConfig {
                network: "0.0.0.0".parse().unwrap(),
                prefix_len: 0,
                interface: 0,
                next_hop: None,
            },
        ]
    );
}

#[test]
fn rpf_route_errors_name_their_line() {
    let text = format!("{GOOD}{RPF}");
    assert_error(
        &text.replace(
            "interface: if1\n    next_hop",
            "interface: if8\n    next_hop",
        ),
        35,
        "rpf_routes[0].interface",
        "if8",
    );
    assert_error(
        &text.replace("10.9.0.0/16", "10.9.0.1/16"),
        34,
        "rpf_routes[0].prefix",
        "host bits",
    );
    assert_error(
        &text.replace("10.0.2.254", "10.0.3.254"),
        36,
        "rpf_routes[0].next_hop",
        "not a neighbour",
    );
    assert_error(
        &text.replace("0.0.0.0/0", "10.9.0.0/16"),
        37,
        "rpf_routes[1].prefix",
        "already",
    );
}

#[test]
fn igmp_defaults_and_settings() {
    let text = GOOD.replace(
        "    address: 10.0.2.1/24\n",
        "    address: 10.0.2.1/24\n    igmp: {}\n",
    )
    .replace(
        "    address: 10.0.3.1/24\n",
        "    address: 10.0.3.1/24\n    igmp:\n      version: 2\n      query_interval: 60\n      query_response_interval: 2.5\n      robustness: 3\n      immediate_leave: true\n      static_joins:\n        - group: 239.5.5.5\n        - { group: 232.1.1.1, source: 10.0.1.2 }\n",
    );
    let cfg = parse(&text, FILE).unwrap();
    assert_eq!(cfg.interfaces[0].igmp, None);
    assert_eq!(cfg.interfaces[1].igmp, Some(IgmpConfig::default()));
    let g = cfg.interfaces[2].igmp.clone().unwrap();
    assert_eq!(g.version, 2);
    assert_eq!(g.query_interval, std::time::Duration::from_secs(60));
    assert_eq!(
        g.query_response_interval,
        std::time::Duration::from_millis(2500)
    );
    assert_eq!(
        (g.robustness, g.last_member_query_count),
        (3, 3),
        "count follows robustness"
    );
    assert!(g.immediate_leave);
    assert_eq!(
        g.static_joins,
        vec![
            (None, "239.5.5.5".parse().unwrap()),
            (
                Some("10.0.1.2".parse().unwrap()),
                "232.1.1.1".parse().unwrap()
            )
        ]
    );
    assert_eq!(cfg.ssm_range, ("232.0.0.0".parse().unwrap(), 8));
}

#[test]
fn igmp_errors_name_their_line() {
    let with = |igmp: &str| {
        GOOD.replace(
            "    address: 10.0.2.1/24\n",
            &format!("    address: 10.0.2.1/24\n    igmp:\n{igmp}"),
        )
    };
    // GOOD's line 17 is if1's address; the igmp block starts at 18.
    assert_error(
        &with("      version: 4\n"),
        19,
        "interfaces[1].igmp.version",
        "4",
    );
    assert_error(
        &with("      query_interval: 0\n"),
        19,
        "interfaces[1].igmp.query_interval",
        "out of range",
    );
    assert_error(
        &with("      query_interval: 10\n      query_response_interval: 10\n"),
        20,
        "interfaces[1].igmp.query_response_interval",
        "less than the query interval",
    );
    assert_error(
        &with("      querier: yes\n"),
        19,
        "interfaces[1].igmp.querier",
        "unknown field",
    );
    assert_error(
        &with("      static_joins:\n        - group: 232.9.9.9\n"),
        20,
        "interfaces[1].igmp.static_joins[0]",
        "needs a source",
    );
    assert_error(
        &format!("{GOOD}ssm_range: 10.0.0.0/8\n"),
        33,
        "ssm_range",
        "not a multicast network",
    );
}

/// GOOD with IGMP on if1 and if2 (the proxy's downstream side) and `proxy` appended.
fn with_proxy(proxy: &str) -> String {
    let text = with_line(17, "    address: 10.0.2.1/24\n    igmp: {}");
    let text = text.replace(
        "    address: 10.0.3.1/24\n",
        "    address: 10.0.3.1/24\n    igmp: {}\n",
    );
    // Routes may not send out of the upstream interface: drop GOOD's routes.
    let cut = text.find("routes:").unwrap();
    format!("{}workers: [1, 2]\n{proxy}", &text[..cut])
}

#[test]
fn igmp_proxy_defaults_and_settings() {
    let cfg = parse(&with_proxy("igmp_proxy: { upstream: if0 }\n"), FILE).unwrap();
    assert_eq!(
        cfg.igmp_proxy,
        Some(IgmpProxyConfig {
            upstream: 0,
            version: 3,
            robustness: 2,
            unsolicited_report_interval: std::time::Duration::from_secs(1),
        })
    );
    let cfg = parse(
        &with_proxy("igmp_proxy:\n  upstream: if0\n  version: 2\n  robustness: 3\n  unsolicited_report_interval: 0.5\n"),
        FILE,
    )
    .unwrap();
    let p = cfg.igmp_proxy.unwrap();
    assert_eq!((p.version, p.robustness), (2, 3));
    assert_eq!(
        p.unsolicited_report_interval,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(parse(GOOD, FILE).unwrap().igmp_proxy, None);
}

#[test]
fn igmp_proxy_errors_name_their_line() {
    let base = with_proxy("");
    let line = base.lines().count() + 2;
    assert_error(
        &with_proxy("igmp_proxy:\n  upstream: if9\n"),
        line,
        "igmp_proxy.upstream",
        "no interface is named if9",
    );
    assert_error(
        &with_proxy("igmp_proxy:\n  upstream: if1\n"),
        line,
        "igmp_proxy.upstream",
        "if1 has an igmp section",
    );
    assert_error(
        &with_proxy("igmp_proxy:\n  upstream: if0\n  version: 1\n"),
        line + 1,
        "igmp_proxy.version",
        "",
    );
    // No downstream interface at all.
    assert_error(
        &format!("{GOOD}igmp_proxy: {{ upstream: if0 }}\n"),
        GOOD.lines().count() + 1,
        "igmp_proxy",
        "no downstream interface",
    );
    // A route out of the upstream interface.
    let text = with_line(17, "    address: 10.0.2.1/24\n    igmp: {}").replace(
        "    iif: if0\n    oifs:\n      - interface: if1",
        "    iif: if1\n    oifs:\n      - interface: if0",
    );
    assert_error(
        &format!("{text}igmp_proxy: {{ upstream: if0 }}\n"),
        26,
        "routes[0].oifs[0].interface",
        "upstream interface",
    );
}

#[test]
fn limits_defaults_settings_and_errors() {
    assert_eq!(parse(GOOD, FILE).unwrap().limits, Limits::default());
    let cfg = parse(
        &format!("{GOOD}limits:\n  max_mfes: 5000\n  pending_flows: 16\n  pending_packets_per_flow: 4\n  pending_packets_shared: 0\n  miss_rate: 500\n  miss_burst: 50\n  miss_rate_per_source: 10\n  entry_lifetime: 30\n"),
        FILE,
    )
    .unwrap();
    assert_eq!(
        cfg.limits,
        Limits {
            max_mfes: 5000,
            pending_flows: 16,
            pending_packets_per_flow: 4,
            pending_packets_shared: 0,
            miss_rate: 500,
            miss_burst: 50,
            miss_rate_per_worker: 500,
            miss_rate_per_source: 10,
            entry_lifetime: std::time::Duration::from_secs(30),
        },
        "the per-worker rate defaults to the overall one"
    );
    let line = GOOD.lines().count() + 2;
    assert_error(
        &format!("{GOOD}limits:\n  max_mfes: 0\n"),
        line,
        "limits.max_mfes",
        "out of range",
    );
    assert_error(
        &format!("{GOOD}limits:\n  pending_flows: 100000\n"),
        line,
        "limits.pending_flows",
        "out of range",
    );
    assert_error(
        &format!("{GOOD}limits:\n  miss_rate: -1\n"),
        line,
        "limits.miss_rate",
        "",
    );
    assert_error(
        &format!("{GOOD}limits:\n  max_mfes: 0.5\n"),
        line,
        "limits.max_mfes",
        "",
    );
    for bad in ["0", "86401", "-5"] {
        assert_error(
            &format!("{GOOD}limits:\n  entry_lifetime: {bad}\n"),
            line,
            "limits.entry_lifetime",
            "",
        );
    }
    // GOOD has one exact (S,G) route: it needs an entry of its own.
    assert_error(
        &format!("{GOOD}limits:\n  max_mfes: 1\n  frobnicate: 2\n"),
        line + 1,
        "limits.frobnicate",
        "unknown field",
    );
}

#[test]
fn control_core_nice() {
    assert_eq!(parse(GOOD, FILE).unwrap().control.nice, None);
    let cfg = parse(&format!("{GOOD}control:\n  nice: -20\n"), FILE).unwrap();
    assert_eq!(cfg.control.nice, Some(-20));
    let line = GOOD.lines().count() + 2;
    assert_error(
        &format!("{GOOD}control:\n  nice: 25\n"),
        line,
        "control.nice",
        "25 is out of range (-20 to 19)",
    );
    assert_error(
        &format!("{GOOD}control:\n  nice: 1\n  priority: 3\n"),
        line + 1,
        "control.priority",
        "unknown field `priority`",
    );
}

#[test]
fn kernel_twins_default_to_the_interface_name_and_can_be_turned_off() {
    let cfg = parse(GOOD, FILE).unwrap();
    let names: Vec<Option<&str>> = cfg
        .interfaces
        .iter()
        .map(|i| i.kernel_twin.as_deref())
        .collect();
    assert_eq!(names, [Some("if0"), Some("if1"), Some("if2")]);
    let off = with_line(17, "    address: 10.0.2.1/24\n    kernel_twin: false");
    assert_eq!(parse(&off, FILE).unwrap().interfaces[1].kernel_twin, None);
    let named = with_line(17, "    address: 10.0.2.1/24\n    kernel_twin_name: tw-b");
    assert_eq!(
        parse(&named, FILE).unwrap().interfaces[1]
            .kernel_twin
            .as_deref(),
        Some("tw-b")
    );
}

#[test]
fn kernel_twin_names_must_be_unique_and_not_a_ports_kernel_interface() {
    let dup = with_line(17, "    address: 10.0.2.1/24\n    kernel_twin_name: if0");
    assert_error(
        &dup,
        18,
        "interfaces[1].kernel_twin_name",
        "already interface if0's",
    );
    let taken = with_line(14, "    address: 10.0.1.1/24\n    kernel_twin_name: r1");
    assert_error(
        &taken,
        15,
        "interfaces[0].kernel_twin_name",
        "kernel interface of port p1",
    );
}

#[test]
fn rpf_from_the_kernel_table() {
    assert_eq!(parse(GOOD, FILE).unwrap().rpf_kernel_table, None);
    let main = format!("{GOOD}rpf: {{ kernel: true }}\n");
    assert_eq!(parse(&main, FILE).unwrap().rpf_kernel_table, Some(254));
    let numbered = format!("{GOOD}rpf:\n  kernel: true\n  table: 100\n");
    assert_eq!(parse(&numbered, FILE).unwrap().rpf_kernel_table, Some(100));
    let off = format!("{GOOD}rpf: {{ kernel: false, table: 100 }}\n");
    assert_eq!(parse(&off, FILE).unwrap().rpf_kernel_table, None);
    let bad = format!("{GOOD}rpf:\n  kernel: true\n  table: bogus\n");
    assert_error(
        &bad,
        GOOD.lines().count() + 3,
        "rpf.table",
        "not a kernel table",
    );
}

/// `dataplane.avx2`: on unless the config turns it off, handed to the workers' limits (the
/// four-lane path a worker then runs is tested through a real worker in the dataplane's
/// fragmentation test), named in the start log, and a wrong value is an error at its line.
#[test]
fn dataplane_avx2_defaults_on_reaches_the_workers_and_can_be_turned_off() {
    let on = parse(GOOD, FILE).unwrap();
    assert!(on.dataplane.avx2);
    assert!(control::daemon::dataplane_limits(&on).avx2);
    let text = format!("{GOOD}dataplane:\n  avx2: false\n");
    let off = parse(&text, FILE).unwrap();
    assert!(!off.dataplane.avx2);
    assert!(!control::daemon::dataplane_limits(&off).avx2);
    assert_eq!(
        off.dataplane.mbuf_data_room, on.dataplane.mbuf_data_room,
        "the other dataplane fields keep their defaults"
    );
    let lines = GOOD.lines().count();
    assert_error(
        &format!("{GOOD}dataplane:\n  avx2: maybe\n"),
        lines + 2,
        "dataplane.avx2",
        "invalid type",
    );
    use control::daemon::classifier_note;
    assert!(classifier_note(true, true).contains("eight frames at a time (AVX2)"));
    assert!(classifier_note(false, true).contains("four frames at a time (SSE: dataplane.avx2"));
    assert!(
        classifier_note(true, false).contains("four frames at a time (SSE: this CPU has no AVX2)")
    );
}
