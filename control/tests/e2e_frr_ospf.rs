//! End to end, issue 16: FRR's OSPF (Debian's `frr`: zebra and ospfd, one instance per
//! namespace, run as user `frr` with their own paths, no systemd) between two neighbour hosts
//! and mrouter's kernel twins in the router namespace. Both neighbours announce the source
//! 10.88.0.5/32 (an address of their link, redistributed as connected); OSPF's costs pick one,
//! and RPF follows what OSPF installed in the router namespace's kernel table: traffic from
//! that source is forwarded with the
//! incoming interface OSPF chose; when a link cost moves the route, the entry's incoming
//! interface follows; when both withdraw it, the entry becomes negative.
//!
//! Needs root (network namespaces) and FRR (installed by scripts/setup.sh); skipped with a
//! message when `/usr/lib/frr/zebra` is missing.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SOURCE: &str = "10.88.0.5";
const GROUP: &str = "239.6.6.6";
const ZEBRA: &str = "/usr/lib/frr/zebra";
const OSPFD: &str = "/usr/lib/frr/ospfd";

/// zebra and ospfd of one namespace, stopped when dropped.
struct Frr {
    dir: PathBuf,
    daemons: Vec<Child>,
}

impl Drop for Frr {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

impl Frr {
    /// Starts zebra, then ospfd with `ospfd_conf`, in namespace `ns`; files under `dir`.
    fn start(ns: &str, dir: &Path, ospfd_conf: &str) -> Frr {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("zebra.conf"), "log file zebra.log\n").unwrap();
        std::fs::write(dir.join("ospfd.conf"), ospfd_conf).unwrap();
        std::fs::write(dir.join("vtysh.conf"), "").unwrap();
        for f in ["zebra.log", "ospfd.log"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let st = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "chown frr {}", dir.display());
        let d = dir.display().to_string();
        let mut daemons = Vec::new();
        for (bin, name) in [(ZEBRA, "zebra"), (OSPFD, "ospfd")] {
            let child = Command::new("ip")
                .args(["netns", "exec", ns, bin])
                .args(["-f", &format!("{d}/{name}.conf")])
                .args(["-i", &format!("{d}/{name}.pid")])
                .args(["--vty_socket", &d, "-z", &format!("{d}/zserv.api")])
                .args(["-P", "0", "--log", &format!("file:{d}/{name}.log")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            daemons.push(child);
            if name == "zebra" {
                let end = Instant::now() + Duration::from_secs(20);
                while !dir.join("zserv.api").exists() {
                    assert!(Instant::now() < end, "zebra in {ns} did not start");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        Frr {
            dir: dir.to_path_buf(),
            daemons,
        }
    }

    /// `vtysh -c` lines, in configuration mode.
    fn configure(&self, lines: &[&str]) {
        let d = self.dir.display().to_string();
        let mut cmd = Command::new("vtysh");
        cmd.args([
            "--vty_socket",
            &d,
            "--config_dir",
            &d,
            "-c",
            "configure terminal",
        ]);
        for l in lines {
            cmd.args(["-c", l]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "vtysh {lines:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn ospf_conf(
    router_id: &str,
    interfaces: &[(&str, u32)],
    networks: &[&str],
    redistribute: bool,
) -> String {
    let mut c = String::from("log file ospfd.log\n");
    for (name, cost) in interfaces {
        c.push_str(&format!(
            "interface {name}\n ip ospf hello-interval 1\n ip ospf dead-interval 3\n ip ospf cost {cost}\n"
        ));
    }
    c.push_str(&format!("router ospf\n ospf router-id {router_id}\n"));
    for n in networks {
        c.push_str(&format!(" network {n} area 0\n"));
    }
    if redistribute {
        c.push_str(" redistribute connected\n");
    }
    c
}

fn ip(lab: &Lab, ns: &str, args: &[&str]) {
    lab.ip_in(ns, args);
}

fn send_from(lab: &Lab, h: u32, count: u32) {
    lab.send_from(h, SOURCE, GROUP, count, 5);
}

/// Waits (generously: OSPF converges in seconds, and the machine is shared) until `ok` holds
/// for `show rpf SOURCE`; returns it.
fn wait_rpf(lab: &Lab, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let rpf = lab.ctl_json(&["show", "rpf", SOURCE]);
        if ok(&rpf) {
            return rpf;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}: {rpf}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_entry(lab: &Lab, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    lab.wait_entry(SOURCE, GROUP, 30, what, ok)
}

#[test]
fn rpf_follows_the_routes_frr_ospf_learned_over_the_kernel_twins() {
    if !Path::new(ZEBRA).exists() || !Path::new(OSPFD).exists() {
        eprintln!("skipped: FRR is not installed (scripts/setup.sh installs it)");
        return;
    }
    let mut lab = Lab::up("ospf");
    lab.igmp = true; // h2's join on if2 is the membership
    for h in [0, 1] {
        // On the host's link, not its loopback: Linux sends multicast from a bound source out
        // of the device that owns the address.
        let dev = format!("h{h}");
        ip(
            &lab,
            &dev,
            &["addr", "add", &format!("{SOURCE}/32"), "dev", &dev],
        );
    }
    let router = lab.start_router_with("  []", "rpf:\n  kernel: true\n  table: main");
    // OSPF on the twins if0 (cost 10) and if1 (cost 100); the neighbours announce SOURCE.
    let r = Frr::start(
        &lab.ns("r"),
        &lab.dir.join("frr-r"),
        &ospf_conf(
            "10.0.0.1",
            &[("if0", 10), ("if1", 100)],
            &["10.0.1.0/24", "10.0.2.0/24"],
            false,
        ),
    );
    let h0 = Frr::start(
        &lab.ns("h0"),
        &lab.dir.join("frr-h0"),
        &ospf_conf("10.0.1.2", &[("h0", 10)], &["10.0.1.0/24"], true),
    );
    let h1 = Frr::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-h1"),
        &ospf_conf("10.0.2.2", &[("h1", 10)], &["10.0.2.0/24"], true),
    );

    let rpf = wait_rpf(&lab, "OSPF's route through if0", |r| {
        r["interface"] == "if0"
    });
    assert_eq!(rpf["origin"], "kernel", "{rpf}");
    assert_eq!(rpf["next_hop"], "10.0.1.2", "{rpf}");
    let recv = lab.receiver(2, GROUP, 4000);
    send_from(&lab, 0, 40);
    let got = recv.finish();
    assert!(
        got.len() >= 20 && got.iter().all(|d| d.from == SOURCE),
        "h2 receives h0's traffic from {SOURCE}: {got:?}; {} {}",
        lab.ctl_json(&["show", "mroute"]),
        lab.ctl_json(&["show", "stats"])["drops"]
    );
    assert_eq!(wait_entry(&lab, "the entry", |_| true)["iif"], "if0");

    // if0's cost goes up: OSPF moves the route to if1, and the entry follows.
    r.configure(&["interface if0", "ip ospf cost 1000"]);
    wait_rpf(&lab, "OSPF's route through if1", |r| {
        r["interface"] == "if1"
    });
    // (Negative for now if h2's first receiver has left already: the next one joins.)
    wait_entry(&lab, "IIF if1", |e| e["iif"] == "if1");
    let recv = lab.receiver(2, GROUP, 4000);
    send_from(&lab, 1, 40);
    let got = recv.finish();
    assert!(
        got.len() >= 20 && got.iter().all(|d| d.from == SOURCE),
        "after the move h2 receives h1's traffic: {got:?}"
    );
    let entry = wait_entry(&lab, "forwarding with IIF if1", |e| e["negative"] == false);
    assert_eq!(entry["iif"], "if1", "{entry}");

    // Both neighbours withdraw the source: no route, a negative entry.
    h1.configure(&["router ospf", "no redistribute connected"]);
    h0.configure(&["router ospf", "no redistribute connected"]);
    wait_rpf(&lab, "no route", |r| r["interface"].is_null());
    wait_entry(&lab, "a negative entry", |e| e["negative"] == true);
    let stats = lab.ctl_json(&["show", "stats"]);
    assert!(
        stats["control"]["kernel_rib_entries_revalidated"]
            .as_u64()
            .unwrap()
            >= 2,
        "{stats}"
    );
    drop(r);
    drop(router);
}
