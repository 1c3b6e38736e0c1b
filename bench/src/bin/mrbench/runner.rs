//! Starting a DPDK program, measuring it through its telemetry socket, stopping it and
//! cleaning up what it left behind.

use bench::telemetry::{socket_path, EthStats, Telemetry};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to measure: which ports feed the program and which carry its output.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Ports the program has (telemetry port ids 0..n).
    pub ports: u16,
    /// The port traffic comes in on.
    pub source: u16,
    /// Ports whose transmitted packets are the program's output.
    pub sinks: Vec<u16>,
    /// Time after the first forwarded packet before the window opens.
    pub warmup: Duration,
    /// Length of the measured window.
    pub window: Duration,
    /// How long start-up (config parse, table build, EAL) may take.
    pub start_timeout: Duration,
}

/// One measured run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Measured window in seconds.
    pub secs: f64,
    /// Packets received on the source port in the window.
    pub rx_packets: u64,
    /// Packets sent on all sink ports in the window.
    pub tx_packets: u64,
    /// rx_packets / secs / 1e6.
    pub rx_mpps: f64,
    /// tx_packets / secs / 1e6.
    pub tx_mpps: f64,
    /// imissed + rx_nombuf on the source port in the window.
    pub rx_dropped: u64,
    /// oerrors over sink ports in the window.
    pub tx_errors: u64,
}

/// A started program in its own process group.
pub struct Running {
    child: Child,
    prefix: String,
    log: PathBuf,
}

/// Starts `argv` under `timeout` (so it is bounded even if the harness dies) in a new process
/// group, output to `log`.
pub fn start(
    argv: &[String],
    prefix: &str,
    bound: Duration,
    log: &Path,
) -> std::io::Result<Running> {
    cleanup(prefix);
    let out = File::create(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new("timeout");
    cmd.arg("-k")
        .arg("3")
        .arg("-s")
        .arg("INT")
        .arg(format!("{}", bound.as_secs().max(1)))
        .args(argv)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = cmd.spawn()?;
    Ok(Running {
        child,
        prefix: prefix.to_string(),
        log: log.to_path_buf(),
    })
}

impl Running {
    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the process group we created (pgid = the child's pid); it names
        // only processes this harness started.
        unsafe { libc::kill(-(self.child.id() as i32), sig) };
    }

    /// Stops the program: SIGINT, then SIGKILL after `grace`; removes its runtime files.
    pub fn stop(mut self, grace: Duration) -> String {
        self.signal(libc::SIGINT);
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    self.signal(libc::SIGKILL);
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        // Children of `timeout` may outlive it by a moment after SIGKILL.
        self.signal(libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(50));
        cleanup(&self.prefix);
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The started process's id (`timeout`'s; the program is its only child).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the program has exited already.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

/// Removes a DPDK prefix's runtime directory and hugepage files (left behind when a program is
/// killed, and holding hugepages until removed).
pub fn cleanup(prefix: &str) {
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    if let Ok(rd) = std::fs::read_dir("/dev/hugepages") {
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&format!("{prefix}map_")) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn sum_tx(s: &[EthStats], sinks: &[u16]) -> (u64, u64) {
    sinks.iter().fold((0, 0), |(p, e), &i| {
        let x = s.get(i as usize).copied().unwrap_or_default();
        (p + x.opackets, e + x.oerrors)
    })
}

/// Runs `argv`, waits for forwarding to start, measures one window and stops it.
pub fn measure(argv: &[String], prefix: &str, m: &Measure, log: &Path) -> Result<Sample, String> {
    let bound = m.start_timeout + m.warmup + m.window + Duration::from_secs(10);
    let mut run =
        start(argv, prefix, bound, log).map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let result = measure_running(&mut run, prefix, m);
    let out = run.stop(Duration::from_secs(3));
    result.map_err(|e| {
        let t: Vec<&str> = out.lines().collect();
        format!(
            "{e}; output: {}",
            t[t.len().saturating_sub(4)..].join(" | ")
        )
    })
}

fn measure_running(run: &mut Running, prefix: &str, m: &Measure) -> Result<Sample, String> {
    let started = Instant::now();
    let tel = loop {
        if run.exited() {
            return Err("exited during start-up".into());
        }
        match Telemetry::connect(&socket_path(prefix)) {
            Ok(t) => break t,
            Err(_) if started.elapsed() < m.start_timeout => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => {
                return Err(format!(
                    "no telemetry socket after {:?}: {e}",
                    m.start_timeout
                ))
            }
        }
    };
    // Wait for the first forwarded packet (a large table takes a while to build).
    loop {
        if run.exited() {
            return Err("exited before forwarding".into());
        }
        let s = tel
            .all_stats(m.ports)
            .map_err(|e| format!("telemetry: {e}"))?;
        if sum_tx(&s, &m.sinks).0 > 0 {
            break;
        }
        if started.elapsed() > m.start_timeout {
            return Err(format!("nothing forwarded after {:?}", m.start_timeout));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(m.warmup);
    let s0 = tel
        .all_stats(m.ports)
        .map_err(|e| format!("telemetry: {e}"))?;
    let t0 = Instant::now();
    std::thread::sleep(m.window);
    let s1 = tel
        .all_stats(m.ports)
        .map_err(|e| format!("telemetry: {e}"))?;
    let secs = t0.elapsed().as_secs_f64();
    let src0 = s0[m.source as usize];
    let src1 = s1[m.source as usize];
    let (tx0, e0) = sum_tx(&s0, &m.sinks);
    let (tx1, e1) = sum_tx(&s1, &m.sinks);
    let rx = src1.ipackets - src0.ipackets;
    let tx = tx1 - tx0;
    Ok(Sample {
        secs,
        rx_packets: rx,
        tx_packets: tx,
        rx_mpps: rx as f64 / secs / 1e6,
        tx_mpps: tx as f64 / secs / 1e6,
        rx_dropped: (src1.imissed + src1.rx_nombuf) - (src0.imissed + src0.rx_nombuf),
        tx_errors: e1 - e0,
    })
}
