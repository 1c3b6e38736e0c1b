//! The PIM-SM scenario of `scripts/lab.sh` (run by it, with mrouter already started on
//! `configs/lab-pim.yaml`): FRR 8.4's zebra and pimd inside User-mode Linux on h1's link
//! become mrouter's PIM neighbour and the RP; host h2 behind mrouter joins 239.9.9.9; host h3
//! behind FRR sends 100 datagrams; mrouter joins the shared tree toward FRR, forwards the
//! datagrams to h2 and switches to the source's tree. Prints what each side shows; exits
//! non-zero when h2 got nothing or the joins did not appear.
//!
//! Usage: `lab_pim PREFIX SOCKET BIN_DIR` (the lab's namespace prefix, mrouter's admin
//! socket, the directory of mrouterctl and mcast-probe).

// The tests' harness, shared: the example uses part of it.
#[allow(dead_code)]
#[path = "../tests/common/frr_uml.rs"]
mod frr_uml;

use frr_uml::FrrUml;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GROUP: &str = "239.9.9.9";
const SOURCE: &str = "10.0.9.2";
const FRR: &str = "10.0.2.3";

fn ctl(socket: &str, bin: &str, args: &[&str]) -> String {
    let out = Command::new(format!("{bin}/mrouterctl"))
        .args(["--socket", socket])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ctl_json(socket: &str, bin: &str, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ctl(socket, bin, &a)).unwrap_or(serde_json::Value::Null)
}

/// Polls `check` every 500 ms for at most `secs`; whether it held.
fn wait(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    false
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, prefix, socket, bin] = &args[..] else {
        eprintln!("usage: lab_pim PREFIX SOCKET BIN_DIR");
        std::process::exit(2);
    };
    let (h1, h2, h3) = (
        format!("{prefix}-h1"),
        format!("{prefix}-h2"),
        format!("{prefix}-h3"),
    );
    // h3, the source, on a link of its own to FRR (s0 in h1's namespace becomes FRR's vec1);
    // netlab.sh down removes its namespace with the lab's.
    frr_uml::source_link(&h1, &h3);
    let dir = std::env::temp_dir().join(format!("{prefix}-frr"));
    println!(
        "   starting FRR (zebra, pimd) in User-mode Linux on h1's link as {FRR}, RP of 239.0.0.0/8"
    );
    let frr = FrrUml::start(
        &h1,
        &dir,
        &format!("{prefix}-frr"),
        &[("h1", "10.0.2.3/24"), ("s0", "10.0.9.1/24")],
        "hostname frr\nlog file /run/frr/pimd.log\ninterface vec0\n ip pim\n ip pim hello 2 7\n\
         interface vec1\n ip pim\n ip pim hello 2 7\nip pim rp 10.0.2.3 239.0.0.0/8\n",
    );
    let mut failed = false;
    let neighbours = wait(90, || {
        ctl_json(socket, bin, &["show", "pim", "neighbor"])
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n["address"] == FRR))
    });
    // FRR takes Join/Prune only from routers it lists as neighbours (as mrouter does): wait
    // for mrouter's Hello there too, or the first Join waits for the next periodic one (60 s).
    let mutual = wait(90, || {
        frr.json("show ip pim neighbor json")["vec0"]["10.0.2.1"].is_object()
    });
    println!("   mrouterctl show pim neighbor:");
    print!(
        "{}",
        indent(&ctl(socket, bin, &["show", "pim", "neighbor"]))
    );
    if !neighbours || !mutual {
        println!("   WRONG: FRR and mrouter are not each other's neighbours");
        failed = true;
    }

    let rx = Command::new("ip")
        .args(["netns", "exec", &h2, &format!("{bin}/mcast-probe"), "recv"])
        .args(["--group", GROUP, "--duration-ms", "40000", "--count", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let star = wait(60, || {
        frr.json("show ip pim join json")["vec0"][GROUP]
            .as_object()
            .is_some_and(|m| {
                m.values()
                    .any(|e| e["source"] == "*" && e["channelJoinName"] == "JOIN")
            })
    });
    println!("   h2 joined {GROUP}; FRR's show ip pim join (mrouter's (*,G) Join on vec0):");
    print!("{}", indent(&frr.vtysh(&["show ip pim join"])));
    if !star {
        println!("   WRONG: no (*,G) Join from mrouter at FRR");
        failed = true;
    }

    println!("   h3 ({SOURCE}, behind FRR) sends 100 datagrams to {GROUP}");
    let st = Command::new("ip")
        .args(["netns", "exec", &h3, &format!("{bin}/mcast-probe"), "send"])
        .args([
            "--group",
            GROUP,
            "--count",
            "100",
            "--ttl",
            "8",
            "--interval-ms",
            "50",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let out = rx.wait_with_output().unwrap();
    let got = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("seq=") && l.contains(&format!("from={SOURCE}")))
        .count();
    let spt = wait(10, || {
        frr.json("show ip pim join json")["vec0"][GROUP][SOURCE]["channelJoinName"] == "JOIN"
    });
    println!(
        "   mrouterctl show pim join ((*,G) toward the RP, (S,G) after the switch to the SPT):"
    );
    print!("{}", indent(&ctl(socket, bin, &["show", "pim", "join"])));
    println!("   FRR's show ip pim join:");
    print!("{}", indent(&frr.vtysh(&["show ip pim join"])));
    print!("   h2 (10.0.3.2): received {got:>3} of 100 from {SOURCE}");
    if got == 0 {
        println!(" WRONG");
        failed = true;
    } else {
        println!(" ok");
    }
    if !spt {
        println!("   WRONG: no (S,G) Join from mrouter at FRR (no switch to the SPT)");
        failed = true;
    }
    drop(frr);
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(i32::from(failed));
}
