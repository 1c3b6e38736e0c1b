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

use super::programs::{self, Env};
use super::runner;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    /// Seconds of traffic.
    pub secs: f64,
    /// Seconds after the first packet before the memory baseline is taken.
    pub warmup: f64,
    /// Established flows' rate, packets per second over the 4 streams.
    pub established_pps: u64,
    /// New sources per second.
    pub new_rate: u64,
    /// IGMP messages per second and groups in the cycle.
    pub igmp_rate: f64,
    pub igmp_groups: u32,
    /// Seconds between reloads.
    pub reload_every: f64,
    /// `limits.max_mfes` (the 4 established entries plus what the new sources fill).
    pub max_mfes: u64,
    /// Allowed RSS growth from the end of the warm-up to the end, KiB.
    pub rss_tolerance_kib: u64,
}

impl Params {
    /// The defaults for a run of `secs` seconds: warm-up a tenth of it (10..=60 s), 20 kpps
    /// established, 300 new sources/s, 20 IGMP messages/s over 64 groups, a reload every 10 s
    /// (every `secs / 6` for short runs), a table that fills in half the warm-up.
    pub fn for_secs(secs: f64) -> Params {
        let warmup = (secs / 10.0).clamp(10.0, 60.0);
        let new_rate = 300;
        Params {
            secs,
            warmup,
            established_pps: 20_000,
            new_rate,
            igmp_rate: 20.0,
            igmp_groups: 64,
            reload_every: (secs / 6.0).clamp(2.0, 10.0),
            max_mfes: 4 + (new_rate as f64 * warmup / 2.0) as u64,
            rss_tolerance_kib: 2048,
        }
    }
}

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

fn sum(v: &Value, list: &str, key: &str) -> u64 {
    v[list]
        .as_array()
        .map_or(0, |a| a.iter().map(|x| x[key].as_u64().unwrap_or(0)).sum())
}

fn get(v: &Value, map: &str, key: &str) -> u64 {
    v[map][key].as_u64().unwrap_or(0)
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
         \x20 - { name: if0, port: p0, address: 10.0.1.1/24 }\n\
         \x20 - { name: if1, port: p1, address: 10.0.2.1/24, igmp: {} }\n\
         \x20 - { name: if2, port: p2, address: 10.0.3.1/24 }\n\
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

/// One check: its name, whether it passed, the equation or rule, and the figures.
fn check(name: &str, pass: bool, rule: &str, figures: String) -> Value {
    json!({ "name": name, "pass": pass, "rule": rule, "figures": figures })
}

fn evaluate(p: &Params, gen: Value, obs: Value) -> Value {
    let fin = &obs["final"]["stats"];
    let mut checks = Vec::new();

    // 1. Established flows.
    let t = &gen["total"];
    let ns = &gen["new_sources"];
    let lost_after = ns["established_lost_from_storm_start"].as_u64();
    let expected_after = ns["established_expected_from_storm_start"].as_u64();
    let (lost, dups, reord) = (
        t["lost"].as_u64().unwrap_or(u64::MAX),
        t["duplicates"].as_u64().unwrap_or(u64::MAX),
        t["reordered"].as_u64().unwrap_or(u64::MAX),
    );
    checks.push(check(
        "established flows: no loss after churn start",
        lost_after == Some(0),
        "every sequence number sent from 2 s on (new sources, IGMP and reloads start there) arrives at both outputs",
        format!(
            "lost {} of {} expected from 2 s on; whole run: lost {lost} of {} (start-up included), {} sent",
            lost_after.map_or("n/a".into(), |x| x.to_string()),
            expected_after.map_or("n/a".into(), |x| x.to_string()),
            t["expected"], t["sent"]
        ),
    ));
    checks.push(check(
        "established flows: no duplicates, in order",
        dups == 0 && reord == 0,
        "over the whole run, at both outputs",
        format!("duplicates {dups}, reordered {reord}"),
    ));

    // 2. Memory. VmRSS less RssShmem: the shared part is the memif regions mrouter shares with
    // mcgen (fixed size, but touched page by page the first time each ring slot is used: the
    // IGMP queues fill a 1,024-slot ring at 20 messages/s in about 50 s), not mrouter's state.
    let private = |o: &Value| -> Option<u64> {
        Some(
            o["rss_kib"]
                .as_u64()?
                .saturating_sub(o["rss_shmem_kib"].as_u64()?),
        )
    };
    let (warm_o, fin_o) = (&obs["warm"], &obs["final"]);
    let (priv_warm, priv_end) = (private(warm_o), private(fin_o));
    let samples = obs["samples"].as_array().cloned().unwrap_or_default();
    let after_warm: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s["t"].as_f64().unwrap_or(0.0) >= p.warmup)
        .filter_map(|s| Some((s["t"].as_f64()?, private(s)? as f64)))
        .collect();
    let priv_max = after_warm.iter().map(|x| x.1 as u64).max();
    let slope = slope_per_min(&after_warm);
    let change = |a: Option<u64>, b: Option<u64>| {
        a.zip(b)
            .map_or("n/a".into(), |(e, w)| format!("{:+}", e as i64 - w as i64))
    };
    checks.push(check(
        "memory: RSS flat after the warm-up",
        matches!((priv_warm, priv_end), (Some(w), Some(e)) if e <= w + p.rss_tolerance_kib),
        &format!(
            "VmRSS - RssShmem at the end <= the same at the end of the warm-up + {} KiB (RssShmem is the memif regions shared with mcgen, first-touched slot by slot)",
            p.rss_tolerance_kib
        ),
        format!(
            "VmRSS - RssShmem: end of warm-up {} KiB, end {} KiB ({} KiB), max after warm-up {} KiB, trend {:+.1} KiB/min; RssAnon {} -> {} KiB ({}); VmRSS idle {} KiB, end of warm-up {} KiB, end {} KiB ({}); RssShmem {} -> {} KiB",
            opt(priv_warm),
            opt(priv_end),
            change(priv_end, priv_warm),
            opt(priv_max),
            slope.unwrap_or(f64::NAN),
            opt(warm_o["rss_anon_kib"].as_u64()),
            opt(fin_o["rss_anon_kib"].as_u64()),
            change(fin_o["rss_anon_kib"].as_u64(), warm_o["rss_anon_kib"].as_u64()),
            obs["idle"]["rss_kib"],
            opt(warm_o["rss_kib"].as_u64()),
            opt(fin_o["rss_kib"].as_u64()),
            change(fin_o["rss_kib"].as_u64(), warm_o["rss_kib"].as_u64()),
            opt(warm_o["rss_shmem_kib"].as_u64()),
            opt(fin_o["rss_shmem_kib"].as_u64()),
        ),
    ));
    let mb_idle = obs["idle"]["stats"]["control"]["mbufs_in_use"].as_u64();
    let mb_warm = obs["warm"]["stats"]["control"]["mbufs_in_use"].as_u64();
    let mb_end = fin["control"]["mbufs_in_use"].as_u64();
    let mb_max = samples
        .iter()
        .filter_map(|s| s["mbufs_in_use"].as_u64())
        .max();
    checks.push(match (mb_idle, mb_end) {
        (Some(i), Some(e)) => check(
            "mbufs: back to the idle level",
            e <= i,
            "packet-pool mbufs in use once traffic has stopped <= in use before the first packet (both idle)",
            format!(
                "before traffic {i}, end of warm-up (under traffic) {}, max while running {}, after traffic {e}",
                opt(mb_warm),
                opt(mb_max)
            ),
        ),
        _ => check(
            "mbufs: back to the idle level",
            false,
            "show stats has no control.mbufs_in_use (an older mrouter)",
            String::new(),
        ),
    });

    // 3. Counters add up (the final snapshot: no traffic, nothing held).
    let port_in = sum(fin, "ports", "ipackets");
    let port_out = sum(fin, "ports", "opackets");
    let port_missed = sum(fin, "ports", "imissed") + sum(fin, "ports", "rx_nombuf");
    let rx = sum(fin, "workers", "rx_packets");
    let tx = sum(fin, "workers", "tx_packets");
    let d = |k: &str| get(fin, "drops", k);
    let drops_all: u64 = fin["drops"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    let copy_drops = d("tx_full") + d("no_mbuf");
    let packet_drops = drops_all - copy_drops;
    let c = |k: &str| get(fin, "control", k);
    let punted = c("punted_igmp") + c("punted_pim") + c("punted_link_local");
    checks.push(check(
        "counters: ports in = workers in",
        port_in == rx,
        "sum of port ipackets = sum of worker rx_packets (every rx queue is a worker's)",
        format!("{port_in} = {rx}; imissed + rx_nombuf {port_missed}"),
    ));
    let forwarded2 = 2 * rx.saturating_sub(punted + packet_drops);
    checks.push(check(
        "counters: in = forwarded + punted + dropped",
        rx >= punted + packet_drops && forwarded2 == tx + copy_drops,
        "2 x (rx - punted - packet drops) = tx + tx_full + no_mbuf: a received packet is punted to the control core, dropped for one named reason, or forwarded; every route here has 2 OIFs (TTL 16 > threshold 1), so a forwarded packet makes 2 copies, each sent or dropped per copy (tx_full, no_mbuf); nothing is held at the end (100 ms hold)",
        format!(
            "rx {rx}, punted {punted}, packet drops {packet_drops} ({}), copies: tx {tx} + tx_full {} + no_mbuf {} = {} vs 2 x forwarded {forwarded2}",
            nonzero(&json!(fin["drops"]
                .as_object()
                .map(|m| m
                    .iter()
                    .filter(|(k, _)| *k != "tx_full" && *k != "no_mbuf")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>())
                .unwrap_or_default())),
            d("tx_full"),
            d("no_mbuf"),
            tx + copy_drops
        ),
    ));
    checks.push(check(
        "counters: ports out = workers out + control core out",
        port_out == tx + c("igmp_sent"),
        "sum of port opackets = worker tx_packets + igmp_sent (the control core's queries)",
        format!(
            "{port_out} = {tx} + {} (igmp_send_failed {})",
            c("igmp_sent"),
            c("igmp_send_failed")
        ),
    ));
    let gports = gen["ports"].as_array().cloned().unwrap_or_default();
    let gen_out: u64 = gports.iter().filter_map(|x| x["opackets"].as_u64()).sum();
    checks.push(check(
        "counters: generator out = router in",
        gen_out == port_in,
        "mcgen's opackets (data on memif0, IGMP on memif1) = mrouter's port ipackets (memif drops nothing once a burst is taken)",
        format!("{gen_out} = {port_in}"),
    ));
    let stamped_rx = t["received"].as_u64().unwrap_or(0)
        + ns["arrived"].as_u64().unwrap_or(0)
        + ns["later_copies"].as_u64().unwrap_or(0);
    checks.push(check(
        "counters: router data out = generator data in",
        stamped_rx == tx,
        "mrouter worker tx_packets = stamped packets mcgen received (established + new-source arrivals and later copies)",
        format!(
            "{tx} = {stamped_rx} (mcgen foreign, i.e. the router's IGMP queries: {})",
            t["foreign"]
        ),
    ));
    let ig = &gen["igmp"];
    let igmp_sent = ig["reports"].as_u64().unwrap_or(0) + ig["leaves"].as_u64().unwrap_or(0);
    checks.push(check(
        "counters: IGMP sent = IGMP punted",
        igmp_sent == c("punted_igmp") && d("control_ring_full") == 0,
        "mcgen's reports + leaves = the control core's punted_igmp",
        format!(
            "{} reports + {} leaves = {igmp_sent} vs punted_igmp {}",
            ig["reports"],
            ig["leaves"],
            c("punted_igmp")
        ),
    ));

    // 4. State back where it started.
    let groups_left = obs["final"]["igmp_groups"]
        .as_array()
        .map_or(usize::MAX, Vec::len);
    checks.push(check(
        "IGMP: memberships back to none",
        groups_left == 0
            && c("igmp_joins") == c("igmp_leaves")
            && c("igmp_membership_errors") == 0,
        "after the final leaves: show igmp groups empty, igmp_joins = igmp_leaves, no membership errors",
        format!(
            "groups left {groups_left}, joins {}, leaves {}, membership errors {}",
            c("igmp_joins"),
            c("igmp_leaves"),
            c("igmp_membership_errors")
        ),
    ));
    let reloads = obs["reloads"].as_array().cloned().unwrap_or_default();
    let reload_ok = reloads.iter().filter(|r| r["ok"] == true).count() as u64;
    let reload_ms: Vec<f64> = reloads
        .iter()
        .filter_map(|r| r["rtt_ms"].as_f64())
        .collect();
    checks.push(check(
        "reloads: all applied",
        reload_ok == reloads.len() as u64 && c("reloads") == reload_ok && c("reloads_failed") == 0,
        "every reload answered `reloaded`; control.reloads counts them all, reloads_failed 0",
        format!(
            "{} sent, {reload_ok} ok, control.reloads {}, failed {}, reply max {:.1} ms",
            reloads.len(),
            c("reloads"),
            c("reloads_failed"),
            reload_ms.iter().copied().fold(0.0, f64::max)
        ),
    ));
    let mfes = c("mfes_installed").saturating_sub(c("mfes_deleted"));
    checks.push(check(
        "MFE table: within its limit",
        mfes <= p.max_mfes,
        "mfes_installed - mfes_deleted <= limits.max_mfes",
        format!(
            "{mfes} of {} (installed {}, refused at the limit {})",
            p.max_mfes,
            c("mfes_installed"),
            c("misses_mfe_limit")
        ),
    ));

    let rtts: Vec<f64> = samples
        .iter()
        .filter_map(|s| s["rtt_us"].as_f64())
        .collect();
    let pass = checks.iter().all(|c| c["pass"] == true);
    json!({
        "pass": pass,
        "params": p,
        "checks": checks,
        "figures": {
            "established": {
                "pps": p.established_pps, "sent": t["sent"], "expected": t["expected"],
                "received": t["received"], "lost": lost, "lost_after_churn_start": lost_after,
                "latency_ns": gen["latency_ns"],
            },
            "new_sources": { "sent": ns["sent"], "arrived": ns["arrived"] },
            "igmp": ig,
            "reloads": reloads.len(),
            "drops": fin["drops"],
            "control": fin["control"],
            "show_stats_rtt_us_p50": bench::median(&rtts),
            "show_stats_rtt_us_max": rtts.iter().copied().fold(0.0, f64::max),
        },
        "observed": obs,
        "generator": gen,
    })
}

fn opt(v: Option<u64>) -> String {
    v.map_or("n/a".into(), |x| x.to_string())
}

/// The non-zero entries of a counter map, `name n, ...`.
fn nonzero(m: &Value) -> String {
    m.as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Least-squares slope of (seconds, KiB) points, in KiB per minute.
fn slope_per_min(pts: &[(f64, f64)]) -> Option<f64> {
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

/// The markdown report.
pub fn markdown(v: &Value, started: &str, commit: &str) -> String {
    let p = &v["params"];
    let mut s = format!(
        "# Soak run\n\n{started}, commit `{commit}`: {} s of traffic, warm-up {} s. **{}**\n\n",
        p["secs"],
        p["warmup"],
        if v["pass"] == true {
            "All checks passed."
        } else {
            "Some checks FAILED."
        }
    );
    s.push_str(&format!(
        "Load: 4 established streams to 239.1.1.1 at {} pps in all (64 B, fan-out 2), {} new \
         sources/s (one packet each, alternately to 239.2.2.2 and the churn group 239.2.2.3), \
         IGMPv2 reports and leaves at {}/s over {} groups on if1, a reload every {} s \
         alternately removing and adding the (*,239.2.2.3) route; `limits.max_mfes` {}. \
         mcgen -> memif -> mrouter (1 worker) -> memif -> mcgen on this 2-vCPU VM.\n\n",
        p["established_pps"],
        p["new_rate"],
        p["igmp_rate"],
        p["igmp_groups"],
        p["reload_every"],
        p["max_mfes"],
    ));
    s.push_str("| check | result | rule | figures |\n|---|---|---|---|\n");
    for c in v["checks"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c["name"].as_str().unwrap_or(""),
            if c["pass"] == true {
                "PASS"
            } else {
                "**FAIL**"
            },
            c["rule"].as_str().unwrap_or("").replace('|', "/"),
            c["figures"].as_str().unwrap_or("").replace('|', "/"),
        ));
    }
    let f = &v["figures"];
    let ctl = &f["control"];
    s.push_str(&format!(
        "\nOther figures: established latency p50 {} us, p99 {} us, max {} us; new sources sent {}, \
         forwarded {}; MFEs installed {}, updated {}, misses received {}, refused at the MFE limit \
         {}, rate-limited {}; IGMP joins {}, leaves {}, queries sent {}; drops {}; show_stats \
         round trip p50 {:.0} us, max {:.0} us.\n",
        us(&f["established"]["latency_ns"]["p50"]),
        us(&f["established"]["latency_ns"]["p99"]),
        us(&f["established"]["latency_ns"]["max"]),
        f["new_sources"]["sent"],
        f["new_sources"]["arrived"],
        ctl["mfes_installed"],
        ctl["mfes_updated"],
        ctl["misses_received"],
        ctl["misses_mfe_limit"],
        ctl["misses_rate_limited"],
        ctl["igmp_joins"],
        ctl["igmp_leaves"],
        ctl["igmp_sent"],
        nonzero(&f["drops"]),
        f["show_stats_rtt_us_p50"].as_f64().unwrap_or(f64::NAN),
        f["show_stats_rtt_us_max"].as_f64().unwrap_or(f64::NAN),
    ));
    s.push_str(
        "\nThe MFE lifetime is 900 s (not configurable), so the table is capped with \
         `limits.max_mfes` and fills during the warm-up; after that new sources are refused at \
         the limit and their held packets dropped as `no_route` (the miss, refusal and pending \
         paths keep churning; installs do not). The RSS and mbuf samples (one a second) are in \
         `soak.json` (`observed.samples`).\n",
    );
    s
}

fn us(x: &Value) -> String {
    x.as_f64()
        .map_or("n/a".into(), |n| format!("{:.0}", n / 1e3))
}
