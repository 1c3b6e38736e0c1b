//! The three memif client ports (p0..p2, `sock(i)` their sockets) and their interfaces
//! (10.0.1-3.1/24, no kernel twins) that mrouter's configs for the memif scenarios (latency,
//! miss storm) start with.

use std::path::PathBuf;

/// `ports:` and `interfaces:` sections for three memif clients, appended to `y`.
pub fn push_ports_and_interfaces(y: &mut String, sock: impl Fn(usize) -> PathBuf) {
    y.push_str("ports:\n");
    for i in 0..3 {
        y.push_str(&format!(
            "  - {{ name: p{i}, device: \"net_memif{i},role=client,socket={},id=0\" }}\n",
            sock(i).display()
        ));
    }
    y.push_str("interfaces:\n");
    for i in 0..3 {
        y.push_str(&format!(
            "  - {{ name: if{i}, port: p{i}, address: 10.0.{}.1/24, kernel_twin: false }}\n",
            i + 1
        ));
    }
}
