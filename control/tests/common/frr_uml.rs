//! FRR 8.4's zebra and pimd as a real PIM peer, inside User-mode Linux (this machine's kernel
//! has no multicast routing, so pimd cannot run on it; UML's kernel has it). The recipe is
//! `scripts/pim-capture.py`'s and `/work/shared/design/background/frr-as-a-peer.md`'s:
//!
//! - `linux.uml` runs in the lab namespace that holds the link, its `vecN` attached to a host
//!   interface there by the raw transport, with a BPF filter that drops the frames UML itself
//!   sent (the raw socket sees them too, which makes FRR assert against itself);
//! - its root is the host's file system (hostfs), so FRR's binaries are there; init mounts
//!   private `proc`, `sys`, `/run` and `/var/tmp` (FRR's files must not meet the host's or
//!   another UML's), sets the addresses and starts zebra and pimd as user frr;
//! - commands go through a queue directory that init polls (`N.cmd` in, `N.out` back): only
//!   a vtysh inside UML reaches its daemons.
//!
//! Everything is named after the lab's prefix (which has the test's PID); the UML stops when
//! this is dropped: a stop flag init polls, then SIGTERM and SIGKILL to its process group.
//! Works with stdin closed (no terminal: `con0=null,fd:1`, stdin /dev/null).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const LINUX_UML: &str = "/usr/bin/linux.uml";
pub const PIMD: &str = "/usr/lib/frr/pimd";

/// The BPF program given to each `vecN`: load the packet type, drop PACKET_OUTGOING (4),
/// accept the rest. (code, jt, jf, k), as `struct sock_filter`.
const BPF: [(u16, u8, u8, u32); 4] = [
    (0x20, 0, 0, 0xffff_f004),
    (0x15, 0, 1, 4),
    (0x06, 0, 0, 0),
    (0x06, 0, 0, 0x40000),
];

const INIT: &str = r#"#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
U=@DIR@
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/tmp
mountpoint -q /dev || mount -t devtmpfs dev /dev
ip link set lo up
@ADDRESSES@
D=/run/frr; mkdir -p $D
cp $U/zebra.conf $U/pimd.conf $D/; touch $D/vtysh.conf $D/zebra.log $D/pimd.log
chown -R frr:frr $D
/usr/lib/frr/zebra -d -f $D/zebra.conf -i $D/zebra.pid --vty_socket $D -z $D/zserv.api -P 0 --log file:$D/zebra.log
sleep 1
/usr/lib/frr/pimd -d -f $D/pimd.conf -i $D/pimd.pid --vty_socket $D -z $D/zserv.api -P 0 --log file:$D/pimd.log
touch $U/up
while [ ! -e $U/stop ]; do
  for f in $U/q/*.cmd; do
    [ -e "$f" ] || continue
    sh "$f" > "${f%.cmd}.tmp" 2>&1; mv "${f%.cmd}.tmp" "${f%.cmd}.out"; rm -f "$f"
  done
  sleep 0.3
done
cp $D/pimd.log $U/pimd.log 2>/dev/null
poweroff -f -d
"#;

/// One UML running FRR (zebra + pimd), stopped when dropped.
pub struct FrrUml {
    pub dir: PathBuf,
    child: Option<Child>,
    n: AtomicU32,
}

impl FrrUml {
    /// Whether this machine can run it (scripts/setup.sh installs both packages).
    pub fn available() -> bool {
        Path::new(LINUX_UML).exists() && Path::new(PIMD).exists()
    }

    /// Boots UML `name` in namespace `ns`, its `vec{i}` attached to host interface
    /// `links[i].0` with address `links[i].1` (`10.0.2.3/24`), and FRR with `pimd_conf`.
    /// Returns once zebra and pimd run (generous wait: the machine is shared).
    pub fn start(
        ns: &str,
        dir: &Path,
        name: &str,
        links: &[(&str, &str)],
        pimd_conf: &str,
    ) -> FrrUml {
        assert!(
            FrrUml::available(),
            "{LINUX_UML} or {PIMD} missing: scripts/setup.sh installs user-mode-linux and frr"
        );
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("q")).unwrap();
        std::fs::create_dir_all(dir.join("run")).unwrap();
        // Every ancestor needs o+x for user frr inside UML (hostfs keeps the host's modes).
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.display().to_string();
        let addresses: String = links
            .iter()
            .enumerate()
            .map(|(i, (_, addr))| format!("ip addr add {addr} dev vec{i}; ip link set vec{i} up\n"))
            .collect();
        let init = INIT.replace("@DIR@", &d).replace("@ADDRESSES@", &addresses);
        std::fs::write(dir.join("init.sh"), init).unwrap();
        std::fs::set_permissions(dir.join("init.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(dir.join("zebra.conf"), format!("hostname {name}\n")).unwrap();
        std::fs::write(dir.join("pimd.conf"), pimd_conf).unwrap();
        let bpf: Vec<u8> = BPF
            .iter()
            .flat_map(|&(code, jt, jf, k)| {
                let mut b = code.to_ne_bytes().to_vec();
                b.extend([jt, jf]);
                b.extend(k.to_ne_bytes());
                b
            })
            .collect();
        std::fs::write(dir.join("bpf"), bpf).unwrap();
        let console = std::fs::File::create(dir.join("console.log")).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, LINUX_UML])
            .args([
                "mem=96M",
                &format!("umid={name}"),
                &format!("uml_dir={d}/run"),
            ])
            .args(["root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw"])
            .arg(format!("init={d}/init.sh"))
            .args(["con=null", "ssl=null", "con0=null,fd:1"]);
        for (i, (ifname, _)) in links.iter().enumerate() {
            cmd.arg(format!(
                "vec{i}:transport=raw,ifname={ifname},bpffile={d}/bpf"
            ));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .process_group(0)
            .spawn()
            .unwrap();
        let mut uml = FrrUml {
            dir: dir.to_path_buf(),
            child: Some(child),
            n: AtomicU32::new(0),
        };
        let end = Instant::now() + Duration::from_secs(120);
        while !dir.join("up").exists() {
            if let Some(st) = uml.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "UML {name} exited ({st}) before FRR started:\n{}",
                    uml.console()
                );
            }
            assert!(
                Instant::now() < end,
                "UML {name} did not start FRR within 120 s:\n{}",
                uml.console()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        uml
    }

    /// UML's console output.
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default()
    }

    /// Runs shell `script` inside UML (through the command queue) and returns its output.
    pub fn run(&self, script: &str) -> String {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let q = self.dir.join("q");
        let new = q.join(format!("{n}.new"));
        std::fs::write(&new, format!("{script}\n")).unwrap();
        std::fs::rename(&new, q.join(format!("{n}.cmd"))).unwrap();
        let out = q.join(format!("{n}.out"));
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&out) {
                return text;
            }
            assert!(
                Instant::now() < end,
                "no answer from UML to {script:?}:\n{}",
                self.console()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `vtysh -c C1 -c C2 ...` inside UML.
    pub fn vtysh(&self, commands: &[&str]) -> String {
        let args: String = commands.iter().map(|c| format!(" -c '{c}'")).collect();
        self.run(&format!(
            "vtysh --vty_socket /run/frr --config_dir /run/frr{args}"
        ))
    }

    /// A `show ... json` command's answer, parsed (panics with the text if it is not JSON).
    pub fn json(&self, command: &str) -> serde_json::Value {
        let text = self.vtysh(&[command]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{command}: {e}:\n{text}"))
    }

    /// Polls `command`'s JSON until `ok` holds (at most `secs`); returns it.
    pub fn wait_json(
        &self,
        command: &str,
        secs: u64,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.json(command);
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < end,
                "FRR: timed out waiting for {what}: {v}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// pimd's log, read through the queue.
    pub fn pimd_log(&self) -> String {
        self.run("cat /run/frr/pimd.log")
    }

    /// Kills pimd at once (SIGKILL: no goodbye Hello).
    pub fn kill_pimd(&self) {
        self.run("kill -9 $(cat /run/frr/pimd.pid)");
    }

    /// Starts pimd again (a new Generation ID), as init did.
    pub fn start_pimd(&self) {
        self.run(
            "D=/run/frr; /usr/lib/frr/pimd -d -f $D/pimd.conf -i $D/pimd.pid --vty_socket $D \
             -z $D/zserv.api -P 0 --log file:$D/pimd.log",
        );
    }
}

impl Drop for FrrUml {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("stop"), "");
        let Some(mut child) = self.child.take() else {
            return;
        };
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                // UML takes its helper processes down with it.
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Still running: its process group (UML and its helpers), which it leads.
        let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
        std::thread::sleep(Duration::from_millis(300));
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
    }
}

/// A host behind FRR: namespace `h3` (created here; the lab's teardown removes it with its
/// other namespaces) with 10.0.9.2/24 on a veth whose other end, `s0` in namespace `h1`, is
/// for FRR's next `vecN` (10.0.9.1 there). Tx checksum offload off on the host, as on the
/// lab's hosts (frr-as-a-peer.md: UDP would otherwise cross UML with partial checksums).
pub fn source_link(h1: &str, h3: &str) {
    let script = format!(
        "ip netns add {h3}; ip -n {h3} link set lo up; \
         ip netns exec {h3} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0; \
         ip link add s0 netns {h1} type veth peer name h3 netns {h3}; \
         ip -n {h3} addr add 10.0.9.2/24 dev h3; ip -n {h3} link set h3 up; \
         ip -n {h3} route add default via 10.0.9.1; ip -n {h3} route add 224.0.0.0/4 dev h3; \
         ip netns exec {h3} ethtool -K h3 tx off >/dev/null; \
         ip -n {h1} link set s0 up"
    );
    let st = Command::new("sh").args(["-ec", &script]).status().unwrap();
    assert!(st.success(), "{script}");
}
