//! The soak scenario (issue 8): a bounded run (default 10 minutes) of steady flows plus churn,
//! then checks that established flows lost nothing, that memory and mbufs did not grow, and
//! that the counters add up.
//!
//! The memif loop of the miss-storm scenario, mcgen (memif servers) -> p0 -> mrouter -> p1, p2
//! -> mcgen, with at the same time:
//! - established flows: 4 sources to 239.1.1.1 (a (*,G) route to if1 and if2), stamped and
//!   sequence-numbered, every packet checked at both outputs (loss, duplicates, order);
//! - new sources: one packet each from 10.64.0.1 upwards, taking turns between 239.2.2.2 (a
//!   route that never changes) and 239.2.2.3 (the churn route, see below);
//! - IGMP membership churn: mcgen, as host 10.0.2.2 on if1 (which runs IGMP), sends IGMPv2
//!   reports for 64 groups (239.3.0.1..) in turn, then leaves for them, again and again; the
//!   router answers leaves with group-specific queries and drops the membership;
//! - reloads over the admin socket that alternately remove and add the (*,239.2.2.3) route,
//!   never touching 239.1.1.1's.
//!
//! MFEs live 900 s in mrouter (MGM default, not configurable), so in a 10-minute run every new
//! source's entry stays: an unbounded stream of new sources must grow the table. The soak caps
//! it with `limits.max_mfes`, sized so that the table fills in the first half of the warm-up;
//! after that, new sources are refused at the limit (`misses_mfe_limit`) while their packets
//! wait in the pending queue and are dropped (`no_route`). The steady phase therefore churns the
//! miss, refusal and pending paths, IGMP and the reloads (which update every MFE of
//! 239.2.2.3), with the table at a fixed size: memory and mbufs must stay flat.

mod evaluate;
mod markdown;
mod params;
mod stats;

use super::programs::{self, Env};
use super::runner;
use evaluate::evaluate;
pub use markdown::markdown;
pub use params::Params;
use serde_json::{json, Value};
use stats::{get, sum};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seconds after the start of transmission when the new sources begin (the established
/// entries exist by then); established loss is split here.
const CHURN_START_S: f64 = 2.0;
/// log2 of the memif ring size (mrouter, the memif client, creates the rings): 4,096 slots,
/// 200 ms of one output at 20 kpps, so a generator descheduled for a while by other work on
/// this 2-vCPU machine does not make mrouter drop copies toward it as `tx_full` (the default
/// 1,024 slots, 50 ms, did in a loaded 40 s run).
const RING_LOG2: u32 = 12;
/// Seconds mcgen keeps receiving after transmitting (final IGMP leaves, their queries).
const DRAIN_S: f64 = 6.0;
/// Seconds after the end of transmission when the final snapshot is taken: held packets
/// expire after 100 ms, a left group after the last member query time (2 x 1 s). mcgen is
/// still polling then (memif peers must not go away under each other, see mcgen `--linger`).
const SETTLE_S: f64 = 3.5;

/// One request over the admin socket: the `data` of the answer and the round-trip time.
pub(super) fn admin(sock: &Path, request: &str, kind: &str) -> Result<(Value, Duration), String> {
    let t0 = Instant::now();
    let mut s = UnixStream::connect(sock).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("{request}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = Vec::new();
    BufReader::new(s)
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    let rtt = t0.elapsed();
    let v: Value = serde_json::from_slice(&line).map_err(|e| e.to_string())?;
    if v["kind"] != kind {
        return Err(format!("unexpected answer: {v}"));
    }
    Ok((v["data"].clone(), rtt))
}

/// `show_stats`: the stats payload and the round-trip time (also the miss-storm scenario's poll).
pub(super) fn show_stats(sock: &Path) -> Result<(Value, Duration), String> {
    admin(sock, r#"{"cmd":"show_stats"}"#, "stats")
}

/// mrouter's pid: the only child of `timeout` (pid `parent`).
fn child_pid(parent: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `RssAnon:`, ...).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One poll: seconds since the first packet, RSS, mbufs, a few totals, the RTT.
#[derive(Debug, Clone, serde::Serialize)]
struct Sample {
    t: f64,
    rss_kib: Option<u64>,
    /// RssAnon: the heap and other private memory (VmRSS also counts the memif regions and
    /// DPDK's shared mappings).
    rss_anon_kib: Option<u64>,
    /// RssShmem: shared memory, here the memif regions shared with mcgen.
    rss_shmem_kib: Option<u64>,
    mbufs_in_use: Option<u64>,
    rx: u64,
    tx: u64,
    drops: u64,
    mfes: u64,
    rtt_us: f64,
}

fn sample(stats: &Value, rtt: Duration, t: f64, pid: u32) -> Sample {
    let drops = stats["drops"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    Sample {
        t,
        rss_kib: rss_kib(pid),
        rss_anon_kib: status_kib(pid, "RssAnon:"),
        rss_shmem_kib: status_kib(pid, "RssShmem:"),
        mbufs_in_use: stats["control"]["mbufs_in_use"].as_u64(),
        rx: sum(stats, "workers", "rx_packets"),
        tx: sum(stats, "workers", "tx_packets"),
        drops,
        mfes: get(stats, "control", "mfes_installed").saturating_sub(get(
            stats,
            "control",
            "mfes_deleted",
        )),
        rtt_us: rtt.as_secs_f64() * 1e6,
    }
}

fn config(sock: &dyn Fn(usize) -> PathBuf, churn_route: bool, max_mfes: u64) -> String {
    let mut y = String::from("# generated by mrbench (soak)\nports:\n");
    for i in 0..3 {
        y.push_str(&format!(
            "  - {{ name: p{i}, device: \"net_memif{i},role=client,socket={},id=0,rsize={RING_LOG2}\" }}\n",
            sock(i).display()
        ));
    }
    y.push_str(
        "interfaces:\n\
         \x20 - { name: if0, port: p0, address: 10.0.1.1/24, kernel_twin: false }\n\
         \x20 - { name: if1, port: p1, address: 10.0.2.1/24, igmp: {}, kernel_twin: false }\n\
         \x20 - { name: if2, port: p2, address: 10.0.3.1/24, kernel_twin: false }\n\
         workers: [1]\n\
         rpf_routes:\n  - { prefix: 10.64.0.0/10, interface: if0 }\n",
    );
    y.push_str(&format!("limits:\n  max_mfes: {max_mfes}\n"));
    y.push_str(
        "routes:\n\
         \x20 - { group: 239.1.1.1, iif: if0, oifs: [{interface: if1}, {interface: if2}] }\n\
         \x20 - { group: 239.2.2.2, iif: if0, oifs: [{interface: if1}, {interface: if2}] }\n",
    );
    if churn_route {
        y.push_str(
            "  - { group: 239.2.2.3, iif: if0, oifs: [{interface: if1}, {interface: if2}] }\n",
        );
    }
    y
}

/// Writes `text` to `path` in one step (a reload never reads half a file).
fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the soak; `Err` says why no result came back.
pub fn run(env: &Env, mcgen: &Path, p: &Params) -> Result<Value, String> {
    let pid = std::process::id();
    let sock = |i: usize| env.work.join(format!("soak-{pid}-m{i}.sock"));
    let admin_sock: PathBuf = env.work.join(format!("soak-{pid}-admin.sock"));
    let cfg = env.work.join("soak.yaml");
    write_atomic(&cfg, &config(&sock, true, p.max_mfes))?;
    let gprefix = format!("mrb{pid}-soakg");
    let rprefix = format!("mrb{pid}-soakr");
    let json_path = env.work.join("soak-mcgen.json");
    let _ = std::fs::remove_file(&json_path);
    let _ = std::fs::remove_file(&admin_sock);
    // Not niced (unlike storm.rs, which measures the control core's latency): at nice 19 the
    // generator starves whenever anything else runs, and what the soak checks is correctness.
    let mut gargv = super::programs::mcgen_memif_argv(mcgen, &gprefix, &sock, 20);
    gargv.extend(
        [
            "--new-source",
            "10.64.0.1",
            "--new-group",
            "239.2.2.2",
            "--new-groups",
            "2",
            "--igmp-port",
            "net_memif1",
            "--igmp-host",
            "10.0.2.2",
            "--igmp-group",
            "239.3.0.1",
        ]
        .map(String::from),
    );
    gargv.extend([
        "--igmp-groups".into(),
        p.igmp_groups.to_string(),
        "--igmp-rate".into(),
        p.igmp_rate.to_string(),
        "--start-delay".into(),
        "3".into(),
        "--drain".into(),
        DRAIN_S.to_string(),
        "--linger".into(),
        "60".into(),
        "--pps".into(),
        p.established_pps.to_string(),
        "--duration".into(),
        p.secs.to_string(),
        "--new-sources-rate".into(),
        p.new_rate.to_string(),
        "--new-start".into(),
        CHURN_START_S.to_string(),
        "--json".into(),
        json_path.display().to_string(),
    ]);
    let glog = env.logs.join("soak-mcgen.log");
    let rlog = env.logs.join("soak-mrouter.log");
    let bound = Duration::from_secs_f64(p.secs + 90.0);
    let g = runner::start(&gargv, &gprefix, bound, &glog).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(1500));
    let mut rargv = programs::mrouter_argv(env, &rprefix, &cfg, p.secs + 80.0);
    rargv.extend(["--socket".into(), admin_sock.display().to_string()]);
    let r = match runner::start(&rargv, &rprefix, bound, &rlog) {
        Ok(r) => r,
        Err(e) => {
            g.stop(Duration::from_secs(3));
            return Err(format!("cannot start mrouter: {e}"));
        }
    };
    let result = observe(p, &r, &admin_sock, &cfg, &sock, &json_path);
    // mrouter first (its workers stop before its ports close), while mcgen lingers idle.
    let rout = r.stop(Duration::from_secs(5));
    let gout = g.stop(Duration::from_secs(3));
    for i in 0..3 {
        let _ = std::fs::remove_file(sock(i));
    }
    let _ = std::fs::remove_file(&admin_sock);
    let mut obs = result.map_err(|e| {
        let t: Vec<&str> = gout.lines().chain(rout.lines()).collect();
        format!(
            "{e}; last output: {}",
            t[t.len().saturating_sub(6)..].join(" | ")
        )
    })?;
    let gen: Value = std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or("mcgen produced no result")?;
    // mrouter's own final statistics (printed at exit), for the record.
    let exit_stats: Vec<String> = rout
        .lines()
        .skip_while(|l| !l.contains("statistics after"))
        .map(String::from)
        .collect();
    obs["mrouter_exit_statistics"] = json!(exit_stats);
    Ok(evaluate(p, gen, obs))
}

/// Watches the run: the idle baseline, reloads, the warm-up snapshot, periodic samples and the
/// final quiescent snapshot.
fn observe(
    p: &Params,
    r: &runner::Running,
    admin_sock: &Path,
    cfg: &Path,
    sock: &dyn Fn(usize) -> PathBuf,
    json_path: &Path,
) -> Result<Value, String> {
    // mrouter's pid (for VmRSS); `timeout` forks it at once.
    let mut mpid = None;
    let t_start = Instant::now();
    while mpid.is_none() && t_start.elapsed() < Duration::from_secs(5) {
        mpid = child_pid(r.pid());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mpid = mpid.ok_or("mrouter's pid not found")?;
    // Idle: the last answer before the first packet (mcgen waits 3 s after link-up).
    let mut idle: Option<(Value, Option<u64>)> = None;
    let t0 = loop {
        if t_start.elapsed() > Duration::from_secs(40) {
            return Err("no traffic within 40 s of starting mrouter".into());
        }
        if let Ok((v, _)) = show_stats(admin_sock) {
            if sum(&v, "ports", "ipackets") > 0 {
                break Instant::now();
            }
            idle = Some((v, rss_kib(mpid)));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (idle_stats, idle_rss) = idle.ok_or("mrouter answered only after traffic started")?;

    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let poller = {
        let (stop, samples, admin_sock) = (
            Arc::clone(&stop),
            Arc::clone(&samples),
            admin_sock.to_path_buf(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok((v, rtt)) = show_stats(&admin_sock) {
                    let s = sample(&v, rtt, t0.elapsed().as_secs_f64(), mpid);
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };

    let mut reloads: Vec<Value> = Vec::new();
    let mut churn_route = true;
    let mut next_reload = p.reload_every;
    #[allow(clippy::type_complexity)]
    let mut warm: Option<(Value, Option<u64>, f64, Option<u64>, Option<u64>)> = None;
    let settle = Duration::from_secs_f64(p.secs + SETTLE_S);
    while t0.elapsed() < settle {
        let t = t0.elapsed().as_secs_f64();
        // Reloads stop 3 s before the end of transmission, so the last one has settled.
        if t >= next_reload && t < p.secs - 3.0 {
            churn_route = !churn_route;
            write_atomic(cfg, &config(sock, churn_route, p.max_mfes))?;
            let (ok, message, rtt) = match admin(admin_sock, r#"{"cmd":"reload"}"#, "reloaded") {
                Ok((v, rtt)) => (true, v["message"].clone(), rtt.as_secs_f64() * 1e3),
                Err(e) => (false, json!(e), 0.0),
            };
            reloads.push(json!({
                "t": t, "churn_route": churn_route, "ok": ok, "message": message, "rtt_ms": rtt,
            }));
            next_reload += p.reload_every;
        }
        if warm.is_none() && t >= p.warmup {
            if let Ok((v, _)) = show_stats(admin_sock) {
                warm = Some((
                    v,
                    rss_kib(mpid),
                    t,
                    status_kib(mpid, "RssAnon:"),
                    status_kib(mpid, "RssShmem:"),
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Quiescent: mcgen has stopped sending (it is still receiving).
    stop.store(true, Ordering::Relaxed);
    let _ = poller.join();
    let (fin, fin_rtt) = show_stats(admin_sock)?;
    let fin_rss = rss_kib(mpid);
    let fin_anon = status_kib(mpid, "RssAnon:");
    let fin_shmem = status_kib(mpid, "RssShmem:");
    let groups = admin(admin_sock, r#"{"cmd":"show_igmp_groups"}"#, "igmp_groups")
        .map(|(v, _)| v)
        .unwrap_or(Value::Null);
    let deadline = Instant::now() + Duration::from_secs_f64(DRAIN_S + 20.0);
    while !json_path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (warm_stats, warm_rss, warm_t, warm_anon, warm_shmem) =
        warm.ok_or("the run ended before the warm-up did")?;
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(json!({
        "mrouter_pid": mpid,
        "idle": { "stats": idle_stats, "rss_kib": idle_rss },
        "warm": { "stats": warm_stats, "rss_kib": warm_rss, "rss_anon_kib": warm_anon,
                  "rss_shmem_kib": warm_shmem, "t": warm_t },
        "final": { "stats": fin, "rss_kib": fin_rss, "rss_anon_kib": fin_anon,
                   "rss_shmem_kib": fin_shmem,
                   "rtt_us": fin_rtt.as_secs_f64() * 1e6,
                   "igmp_groups": groups },
        "reloads": reloads,
        "samples": samples,
    }))
}
