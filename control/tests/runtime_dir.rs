//! The real `mrouter` binary on `net_null` ports (no namespaces): its DPDK runtime directory
//! (`/var/run/dpdk/PREFIX`) is there while it runs, with the telemetry socket that
//! `dpdk-telemetry.py` and `dpdk-dumpcap` use, and gone once it has exited cleanly (issue #15:
//! every test run used to leave one behind per router started).
//!
//! Needs root (the runtime directory of a root process is under /var/run/dpdk).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MROUTER: &str = env!("CARGO_BIN_EXE_mrouter");
const MROUTERCTL: &str = env!("CARGO_BIN_EXE_mrouterctl");

struct TestDir(PathBuf);

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool, child: &mut Child) {
    let end = Instant::now() + timeout;
    while !ok() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("mrouter exited ({st}) while waiting for {what}");
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(prefix: &str, dir: &Path) -> Child {
    let config = dir.join("router.yaml");
    std::fs::write(
        &config,
        format!(
            r#"eal: ["--no-pci", "--no-huge", "-m", "512", "--file-prefix", "{prefix}", "--log-level", "*:warning"]
ports:
  - {{ name: p0, device: "net_null0" }}
  - {{ name: p1, device: "net_null1" }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24, kernel_twin: false }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24, kernel_twin: false }}
"#
        ),
    )
    .unwrap();
    Command::new(MROUTER)
        .args(["--", "--config"])
        .arg(&config)
        .arg("--socket")
        .arg(dir.join("mrouter.sock"))
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mrouter")
}

#[test]
fn mrouter_removes_its_runtime_dir_at_a_clean_exit_and_keeps_it_while_running() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let prefix = format!("mrt{}rundir", std::process::id());
    let dir = std::env::temp_dir().join(&prefix);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = TestDir(dir.clone());
    let runtime = Path::new("/var/run/dpdk").join(&prefix);
    let _runtime_cleanup = TestDir(runtime.clone());

    let mut child = start(&prefix, &dir);
    let out = dir.join("out");
    wait_for(
        "forwarding",
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("forwarding on")
        },
        &mut child,
    );
    // While it runs, DPDK's tools find it there.
    assert!(
        runtime.join("dpdk_telemetry.v2").exists(),
        "no telemetry socket in {}",
        runtime.display()
    );
    assert!(runtime.join("config").exists());
    let ctl = Command::new(MROUTERCTL)
        .arg("--socket")
        .arg(dir.join("mrouter.sock"))
        .args(["show", "stats"])
        .output()
        .unwrap();
    assert!(
        ctl.status.success(),
        "{}",
        String::from_utf8_lossy(&ctl.stderr)
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    let printed = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(st.success(), "mrouter exited with {st}:\n{printed}");
    assert!(printed.contains("mbufs_in_use_at_exit 0"), "{printed}");
    let left: Vec<String> = std::fs::read_dir(&runtime)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !runtime.exists(),
        "{} is still there after a clean exit, holding {left:?}",
        runtime.display()
    );
}
