//! `mrfloor`'s options and port names (`bench::floor`): what can be checked without DPDK.

use bench::floor::{group_of, split_args, vdev_names, Opts, Work};
use clap::Parser;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn parse(argv: &str) -> Result<(Opts, Vec<String>), String> {
    let (eal, own) = split_args(&args(argv));
    let opts = Opts::try_parse_from(own).map_err(|e| e.to_string())?;
    Ok((opts, eal))
}

const EAL: &str =
    "mrfloor -l 0,1 --no-pci --file-prefix f --vdev net_pcap0,rx_pcap=/tmp/s.pcap,infinite_rx=1 \
                   --vdev net_null1,no-rx=1 --vdev=net_null2,no-rx=1 --vdev net_null3";

#[test]
fn eal_and_own_arguments_split_at_the_first_double_dash() {
    let (eal, own) = split_args(&args("mrfloor -l 0,1 -- --fanout 2 -- x"));
    assert_eq!(eal, args("mrfloor -l 0,1"));
    assert_eq!(own, args("mrfloor --fanout 2 -- x"));
    let (eal, own) = split_args(&args("mrfloor --fanout 2"));
    assert_eq!(eal, args("mrfloor"));
    assert_eq!(own, args("mrfloor --fanout 2"));
}

#[test]
fn ports_are_the_vdevs_in_order_source_first() {
    assert_eq!(
        vdev_names(&args(EAL)),
        args("net_pcap0 net_null1 net_null2 net_null3")
    );
    let (o, eal) = parse(&format!("{EAL} -- --fanout 2 --work copy --duration 3")).unwrap();
    assert_eq!((o.fanout, o.work, o.duration), (2, Work::Copy, 3.0));
    assert_eq!(
        o.ports_to_open(&eal).unwrap(),
        args("net_pcap0 net_null1 net_null2")
    );
    let (o, eal) = parse(&format!("{EAL} -- --fanout 3 --work chain")).unwrap();
    assert_eq!((o.fanout, o.work), (3, Work::Chain));
    assert_eq!(
        o.ports_to_open(&eal).unwrap(),
        args("net_pcap0 net_null1 net_null2 net_null3")
    );
    let (o, eal) = parse(&format!("{EAL} -- --work rewrite")).unwrap();
    assert_eq!(o.ports_to_open(&eal).unwrap(), args("net_pcap0 net_null1"));
    let (o, eal) = parse(&format!("{EAL} -- --work io --ports a,b")).unwrap();
    assert_eq!(o.ports_to_open(&eal).unwrap(), args("a b"));
}

#[test]
fn defaults_are_copy_at_fanout_1_on_lcore_1() {
    let (o, _) = parse("mrfloor -- ").unwrap();
    assert_eq!((o.fanout, o.work, o.lcore), (1, Work::Copy, 1));
    assert_eq!(Work::Rewrite.name(), "rewrite");
    assert_eq!(Work::Chain.name(), "chain");
    assert!(Work::Chain.fans_out() && Work::Copy.fans_out());
    assert!(!Work::Io.fans_out() && !Work::Rewrite.fans_out());
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    for bad in ["--fanout 0", "--fanout 9", "--work lookup", "--fanout x"] {
        assert!(parse(&format!("{EAL} -- {bad}")).is_err(), "{bad} accepted");
    }
    let err = |own: &str| {
        let (o, eal) = parse(&format!("{EAL} -- {own}")).unwrap();
        o.ports_to_open(&eal).unwrap_err()
    };
    assert!(
        err("--fanout 4").contains("needs 5 ports"),
        "{}",
        err("--fanout 4")
    );
    assert!(err("--work io --fanout 2").contains("needs --work copy or chain"));
    assert!(err("--work rewrite --fanout 3").contains("needs --work copy"));
    assert!(err("--duration 0").contains("positive"));
    assert!(err("--duration nan").contains("positive"));
}

#[test]
fn the_group_is_the_ipv4_destination_of_an_untagged_frame() {
    let f = bench::frames::template(&bench::frames::FrameSpec {
        source: "10.0.1.2".parse().unwrap(),
        group: "239.1.2.3".parse().unwrap(),
        ttl: 16,
        size: 64,
        vlan: None,
    });
    assert_eq!(
        group_of(&f),
        u32::from(std::net::Ipv4Addr::new(239, 1, 2, 3))
    );
    assert_eq!(group_of(&f[..33]), 0);
    assert_eq!(group_of(&[]), 0);
}
