//! A bad configuration stops `mrouter` before DPDK starts any port, with a message that names
//! the file, the line and the field.

use std::process::Command;

const MROUTER: &str = env!("CARGO_BIN_EXE_mrouter");

fn configs() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

/// Runs mrouter on `text` and returns (exit code, stderr, stdout, file path).
fn run(name: &str, text: &str) -> (i32, String, String, String) {
    let dir = std::env::temp_dir().join(format!("mrouter-cfg-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(MROUTER)
        .args(["--no-pci", "--", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        path.display().to_string(),
    )
}

const GOOD: &str = "ports:
  - name: p0
    device: net_null0
  - name: p1
    device: net_null1
interfaces:
  - name: if0
    port: p0
    address: 10.0.1.1/24
  - name: if1
    port: p1
    address: 10.0.2.1/24
routes:
  - group: 239.1.1.1
    iif: if0
    oifs:
      - interface: if1
";

fn assert_rejected(name: &str, text: &str, line: usize, field: &str, words: &str) {
    let (code, stderr, stdout, path) = run(name, text);
    assert_eq!(code, 1, "exit code; stderr: {stderr}");
    let want = format!("mrouter: {path}:{line}: {field}: ");
    assert!(
        stderr.starts_with(&want),
        "expected {want:?}..., got {stderr:?}"
    );
    assert!(stderr.contains(words), "expected {words:?} in {stderr:?}");
    assert!(
        !stderr.contains("EAL") && !stdout.contains("EAL"),
        "DPDK must not start: {stderr}"
    );
}

#[test]
fn unknown_field_is_named_with_its_line() {
    let text = GOOD.replace(
        "    device: net_null1\n",
        "    device: net_null1\n    speed: 100G\n",
    );
    assert_rejected("unknown", &text, 6, "ports[1].speed", "unknown field");
}

#[test]
fn bad_address_is_named_with_its_line() {
    let text = GOOD.replace("10.0.2.1/24", "10.0.2.300/24");
    assert_rejected("addr", &text, 12, "interfaces[1].address", "10.0.2.300");
}

#[test]
fn interface_on_a_missing_port_is_named_with_its_line() {
    let text = GOOD.replace("    port: p1\n", "    port: p7\n");
    assert_rejected("port", &text, 11, "interfaces[1].port", "p7");
}

#[test]
fn non_multicast_group_is_named_with_its_line() {
    let text = GOOD.replace("239.1.1.1", "10.1.1.1");
    assert_rejected("group", &text, 14, "routes[0].group", "multicast");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = Command::new(MROUTER)
        .args(["--", "--config", "/nonexistent/mrouter.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/mrouter.yaml"), "{stderr}");
}

#[test]
fn shipped_configs_pass_check_and_vdev_only_configs_get_no_pci() {
    for name in ["reference.yaml", "lab.yaml"] {
        let out = Command::new(MROUTER)
            .args(["--", "--check", "--config"])
            .arg(configs().join(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("configuration OK"), "{stdout}");
    }
    let out = Command::new(MROUTER)
        .args(["--", "--check", "--config"])
        .arg(configs().join("lab.yaml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--vdev net_af_packet0,iface=r0"),
        "{stdout}"
    );
    assert!(stdout.contains("--no-pci"), "{stdout}");
    assert!(stdout.contains("-l 0,1"), "{stdout}");
}

#[test]
fn an_interface_mtu_out_of_range_is_named_with_its_line() {
    let text = GOOD.replace(
        "    address: 10.0.2.1/24\n",
        "    address: 10.0.2.1/24\n    mtu: 40\n",
    );
    assert_rejected(
        "ifmtu",
        &text,
        13,
        "interfaces[1].mtu",
        "out of range 68..=65535",
    );
    let text = GOOD.replace(
        "    device: net_null1\n",
        "    device: net_null1\n    mtu: 70000\n",
    );
    assert_rejected(
        "portmtu",
        &text,
        6,
        "ports[1].mtu",
        "out of range 68..=65535",
    );
}

#[test]
fn an_interface_mtu_above_its_ports_is_named_with_its_line() {
    let text = GOOD
        .replace(
            "    device: net_null1\n",
            "    device: net_null1\n    mtu: 1400\n",
        )
        .replace(
            "    address: 10.0.2.1/24\n",
            "    address: 10.0.2.1/24\n    mtu: 1500\n",
        );
    assert_rejected(
        "ifabove",
        &text,
        14,
        "interfaces[1].mtu",
        "larger than port p1's MTU 1400",
    );
}

#[test]
fn a_jumbo_mtu_without_jumbo_mbufs_is_named_with_its_line() {
    let text = GOOD.replace(
        "    device: net_null1\n",
        "    device: net_null1\n    mtu: 9000\n",
    );
    assert_rejected(
        "jumbo",
        &text,
        6,
        "ports[1].mtu",
        "dataplane.mbuf_data_room to at least 9014",
    );
    let text = format!("{GOOD}dataplane:\n  mbuf_data_room: 100\n");
    assert_rejected(
        "room",
        &text,
        19,
        "dataplane.mbuf_data_room",
        "out of range 1024..=65407",
    );
    let text = GOOD.replace(
        "    device: net_null1\n",
        "    device: \"net_af_packet1,iface=x1,framesz=10240,blocksz=20480\"\n",
    );
    assert_rejected("framesz", &text, 5, "ports[1].device", "at least 10208");
}

/// A device that refuses the configured MTU (net_pcap has no MTU setting) stops mrouter at
/// start with the file, the line and the field.
#[test]
fn a_device_that_refuses_the_mtu_is_named_with_its_line() {
    let dir = std::env::temp_dir().join(format!("mrouter-cfg-{}-refused", std::process::id()));
    let text = format!(
        "eal: [\"--no-shconf\", \"--no-huge\", \"-m\", \"512\", \"--log-level\", \"*:warning\"]
ports:
  - name: p0
    device: \"net_pcap0,tx_pcap={}/out.pcap\"
    mtu: 9000
dataplane: {{ mbuf_data_room: 9216 }}
",
        dir.display()
    );
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stderr, _, path) = run("refused", &text);
    assert_eq!(code, 1, "{stderr}");
    let want = format!("mrouter: {path}:5: ports[0].mtu: the device cannot take MTU 9000");
    assert!(stderr.contains(&want), "expected {want:?} in {stderr:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
