//! `mrbench`: runs the benchmark scenarios on this machine's virtual devices and writes the
//! report (`report.md`, `results.json`, `runs.csv`, `summary.csv`, SVG plots).
//!
//! Every throughput figure is taken with the program under test saturated by a `net_pcap`
//! `infinite_rx` source and counted through DPDK's telemetry socket, for mrouter and the
//! reference programs alike. Runs are interleaved (mrouter, testpmd, ipv4_multicast, mrouter,
//! ...) and compared pair by pair, because this machine's throughput drifts 30-50% between
//! identical runs: only the median of per-pair ratios means anything.

mod latency;
mod memif_lab;
mod programs;
mod provenance;
mod publish;
mod report;
mod results;
mod runner;
mod soak;
mod storm;
mod targets;

use clap::Parser;
use latency::latency;
use programs::{Env, Program};
use provenance::{chrono_like_now, provenance};
use results::{na, summarize, NotAvailable, Results, Run};
use runner::Measure;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// mrbench options.
#[derive(Debug, Parser)]
#[command(name = "mrbench", about = "mrouter benchmark harness")]
struct Opts {
    /// About two minutes instead of about ten: 2 pairs, 1 s windows, tables up to 64k.
    #[arg(long)]
    quick: bool,
    /// Output directory.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// A/B pairs per case in scenarios 1 and 2 (default 5, quick 2).
    #[arg(long)]
    pairs: Option<usize>,
    /// Rounds over the table sizes in scenario 3 (default 3, quick 1).
    #[arg(long)]
    table_rounds: Option<usize>,
    /// Measured window per run, seconds (default 2, quick 1).
    #[arg(long)]
    window: Option<f64>,
    /// Warm-up after the first forwarded packet, seconds (default 0.7, quick 0.4).
    #[arg(long)]
    warmup: Option<f64>,
    /// Scenarios to run (default all but soak): fanout, sizes, table, miss, publish, latency,
    /// soak. `soak` (issue 8) writes its own report, `soak.md` and `soak.json`; run alone, it
    /// leaves `report.md` and the other result files as they are.
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// Seconds of traffic in the soak scenario (default 600).
    #[arg(long, default_value_t = 600.0)]
    soak_secs: f64,
    /// Scratch directory for generated pcaps, configs, the ipv4_multicast builds and logs.
    #[arg(long, default_value = "/tmp/mrbench")]
    work: PathBuf,
    /// mrouter binary (default: next to this one).
    #[arg(long)]
    mrouter: Option<PathBuf>,
    /// mcgen binary (default: next to this one).
    #[arg(long)]
    mcgen: Option<PathBuf>,
    /// testpmd binary.
    #[arg(long, default_value = "dpdk-testpmd")]
    testpmd: PathBuf,
    /// Measure nothing: write the report (markdown, CSV, plots) again from a `results.json`
    /// into `--out`.
    #[arg(long)]
    render: Option<PathBuf>,
}

struct Case {
    scenario: &'static str,
    name: String,
    progs: Vec<(Program, Vec<String>, Measure)>,
}

const PREFIX: &str = "@PREFIX@";

fn main() {
    let opts = Opts::parse();
    if let Err(e) = run(opts) {
        eprintln!("mrbench: {e}");
        std::process::exit(1);
    }
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn run(opts: Opts) -> Result<(), String> {
    if let Some(json) = &opts.render {
        let text = std::fs::read_to_string(json).map_err(|e| format!("{}: {e}", json.display()))?;
        let results: Results =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
        std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
        report::write(&opts.out, &results).map_err(|e| format!("writing the report: {e}"))?;
        println!("mrbench: report {}", opts.out.join("report.md").display());
        return Ok(());
    }
    let t_start = Instant::now();
    let q = opts.quick;
    let pairs = opts.pairs.unwrap_or(if q { 2 } else { 5 });
    let table_rounds = opts.table_rounds.unwrap_or(if q { 1 } else { 3 });
    let window = Duration::from_secs_f64(opts.window.unwrap_or(if q { 1.0 } else { 2.0 }));
    let warmup = Duration::from_secs_f64(opts.warmup.unwrap_or(if q { 0.4 } else { 0.7 }));
    let all = [
        "fanout", "sizes", "stages", "table", "miss", "publish", "latency",
    ];
    let scen: Vec<String> = opts
        .scenarios
        .clone()
        .unwrap_or_else(|| all.iter().map(|s| s.to_string()).collect());
    for s in &scen {
        if !all.contains(&s.as_str()) && s != "soak" {
            return Err(format!("unknown scenario {s} (known: {})", all.join(", ")));
        }
    }
    let want = |s: &str| scen.iter().any(|x| x == s);
    let work = opts.work.join("work");
    let logs = opts.work.join("logs");
    for d in [&work, &logs, &opts.out.join("plots")] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let mrouter = opts.mrouter.clone().unwrap_or_else(|| sibling("mrouter"));
    if !mrouter.exists() {
        return Err(format!(
            "{} not found (cargo build --release -p control)",
            mrouter.display()
        ));
    }
    let (commit, mrouter_mtime) = provenance(&mrouter);
    println!(
        "mrbench: commit {commit}, {} built {mrouter_mtime}",
        mrouter.display()
    );
    let mut env = Env {
        mrouter,
        testpmd: opts.testpmd.clone(),
        ipv4mc: None,
        ipv4mc_c256: None,
        l3fwd: None,
        floor: Some(sibling("mrfloor")).filter(|p| p.exists()),
        work: work.clone(),
        logs: logs.clone(),
    };
    let mut res = Results {
        started: chrono_like_now(),
        quick: q,
        commit,
        mrouter: env.mrouter.display().to_string(),
        mrouter_mtime,
        pairs,
        window_s: window.as_secs_f64(),
        ..Default::default()
    };
    res.tsc_hz = dataplane::dpdk::measure_tsc_hz();
    println!(
        "mrbench: TSC {:.3} GHz, {pairs} pairs, {:.1} s windows, output {}",
        res.tsc_hz / 1e9,
        window.as_secs_f64(),
        opts.out.display()
    );

    let group = Ipv4Addr::new(239, 1, 1, 1);
    if want("fanout") || want("sizes") || want("stages") {
        let pcap = programs::source_pcap(&env, ipv4_group(1), 64).map_err(|e| e.to_string())?;
        let b = programs::build_ipv4mc(&work, &logs, &pcap);
        println!(
            "mrbench: stock ipv4_multicast on null/pcap ports: {}",
            b.stock_result
        );
        for e in &b.build_errors {
            println!("mrbench: reference not built: {e}");
        }
        env.ipv4mc = b.patched.clone();
        env.ipv4mc_c256 = b.cache256.clone();
        env.l3fwd = b.l3fwd.clone();
        res.ipv4mc = Some(b);
    }
    let mk = |m: Measure| Measure {
        warmup,
        window,
        start_timeout: Duration::from_secs(20),
        ..m
    };
    let dur = (warmup + window).as_secs_f64() + 25.0;

    // Scenarios 1 and 2: fan-out at 64 B, packet sizes at fan-out 2.
    if env.floor.is_none() && (want("fanout") || want("sizes") || want("stages")) {
        res.not_available.push(na(
            "floor",
            &format!(
                "{} not found (cargo build --release -p bench --bins)",
                sibling("mrfloor").display()
            ),
        ));
    }
    let mut cases: Vec<Case> = Vec::new();
    let add_case =
        |scenario: &'static str, name: String, fanout: usize, size: u16| -> Result<Case, String> {
            let pcap = programs::source_pcap(&env, group, size).map_err(|e| e.to_string())?;
            let dev = format!("net_pcap0,rx_pcap={},infinite_rx=1", pcap.display());
            let cfg = programs::mrouter_config(
                &env,
                &format!("fanout{fanout}-{size}"),
                &dev,
                fanout,
                group,
                None,
            )
            .map_err(|e| e.to_string())?;
            let mut progs = vec![(
                Program::Mrouter,
                programs::mrouter_argv(&env, PREFIX, &cfg, dur),
                mk(Measure {
                    ports: 1 + fanout as u16,
                    source: 0,
                    sinks: (1..=fanout as u16).collect(),
                    warmup,
                    window,
                    start_timeout: warmup,
                }),
            )];
            let (a, m) = programs::testpmd_argv(&env, PREFIX, &pcap);
            progs.push((Program::Testpmd, a, mk(m)));
            if let (Some(exe), Some(g)) = (&env.ipv4mc, programs::ipv4mc_group(fanout)) {
                let p = programs::source_pcap(&env, g, size).map_err(|e| e.to_string())?;
                let (a, m) = programs::ipv4mc_argv(exe, PREFIX, &p, fanout);
                progs.push((Program::Ipv4Multicast, a, mk(m)));
                if let Some(exe) = &env.ipv4mc_c256 {
                    let (a, m) = programs::ipv4mc_argv(exe, PREFIX, &p, fanout);
                    progs.push((Program::Ipv4MulticastCache256, a, mk(m)));
                }
            }
            // The floor: mrouter's unavoidable work alone, on mrouter's ports and frames.
            if let Some(exe) = &env.floor {
                let work = programs::floor_work(fanout);
                let (a, m) = programs::floor_argv(exe, PREFIX, &dev, fanout, work, dur);
                progs.push((Program::Floor, a, mk(m)));
                // The packet-size cases also get the floor of the other way to send a copy:
                // a header chained to the shared payload (what ipv4_multicast does, and
                // mrouter above its COPY_LIMIT), so that a missed size target is held against
                // the lower of the two.
                if scenario == "2-sizes" && fanout > 1 {
                    let chain = bench::floor::Work::Chain;
                    let (a, m) = programs::floor_argv(exe, PREFIX, &dev, fanout, chain, dur);
                    progs.push((Program::FloorChain, a, mk(m)));
                }
            }
            // l3fwd is a unicast router: it forwards each packet once, so it is the reference
            // for fan-out 1 only.
            if let (Some(exe), 1) = (&env.l3fwd, fanout) {
                let p = programs::source_pcap(&env, programs::L3FWD_DEST, size)
                    .map_err(|e| e.to_string())?;
                let (a, m) = programs::l3fwd_argv(exe, PREFIX, &p);
                progs.push((Program::L3fwd, a, mk(m)));
            }
            Ok(Case {
                scenario,
                name,
                progs,
            })
        };
    if want("fanout") {
        for k in [1, 2, 4, 8] {
            cases.push(add_case("1-fanout", format!("fan-out {k}"), k, 64)?);
        }
    }
    if want("sizes") {
        for s in [64u16, 256, 512, 1500] {
            cases.push(add_case("2-sizes", format!("{s} B"), 2, s)?);
        }
    }
    // Scenario 7: the per-stage cycle budget (mrouter --stage-cycles) beside mrouter without
    // it, testpmd io and l3fwd, so every cycle above the references has a stage's name.
    if want("stages") {
        for k in [1, 2] {
            let mut case = add_case("7-stages", format!("fan-out {k}"), k, 64)?;
            let plain = case.progs[0].clone();
            let mut profiled = plain.clone();
            profiled.0 = Program::MrouterStages;
            profiled.1.push("--stage-cycles".into());
            case.progs.insert(1, profiled);
            case.progs.retain(|(p, _, _)| {
                matches!(
                    p,
                    Program::Mrouter
                        | Program::MrouterStages
                        | Program::Testpmd
                        | Program::L3fwd
                        | Program::Floor
                )
            });
            cases.push(case);
        }
    }
    let total: usize = cases.iter().map(|c| c.progs.len() * pairs).sum();
    let mut n = 0;
    for case in &cases {
        for pair in 0..pairs {
            for (prog, argv, m) in &case.progs {
                n += 1;
                let r = one_run(
                    &env,
                    &res,
                    case.scenario,
                    &case.name,
                    *prog,
                    pair,
                    argv,
                    m,
                    n,
                );
                print_run(&r, n, total);
                res.runs.push(r);
            }
        }
    }

    // Scenario 3: table size, mrouter only, rounds interleaved over sizes.
    if want("table") {
        let sizes: Vec<usize> = if q {
            vec![1, 1 << 10, 1 << 16]
        } else {
            vec![1, 1 << 10, 1 << 16, 1 << 20]
        };
        let mut tcases = Vec::new();
        for &entries in &sizes {
            let pcap = programs::table_pcap(&env, entries, 4096, 64).map_err(|e| e.to_string())?;
            let dev = format!("net_pcap0,rx_pcap={},infinite_rx=1", pcap.display());
            let cfg = programs::mrouter_config(
                &env,
                &format!("table{entries}"),
                &dev,
                1,
                group,
                Some(entries),
            )
            .map_err(|e| e.to_string())?;
            let m = Measure {
                start_timeout: Duration::from_secs(90),
                ..mk(Measure {
                    ports: 2,
                    source: 0,
                    sinks: vec![1],
                    warmup,
                    window,
                    start_timeout: warmup,
                })
            };
            tcases.push((
                table_name(entries),
                programs::mrouter_argv(&env, PREFIX, &cfg, dur + 90.0),
                m,
            ));
        }
        if !q {
            res.not_available.push(NotAvailable {
                scenario: "3-table".into(),
                why: "note: 4096 distinct entries per run are hit, spread evenly over the table (the pcap source replays at most what fits mrouter's mbuf pool)".into(),
            });
        }
        let total = sizes.len() * table_rounds;
        let mut k = 0;
        for round in 0..table_rounds {
            for (name, argv, m) in &tcases {
                k += 1;
                let r = one_run(
                    &env,
                    &res,
                    "3-table",
                    name,
                    Program::Mrouter,
                    round,
                    argv,
                    m,
                    1000 + k,
                );
                print_run(&r, k, total);
                res.runs.push(r);
            }
        }
    } else {
        res.not_available.push(na("3-table", "not selected"));
    }

    let mcgen = opts.mcgen.clone().unwrap_or_else(|| sibling("mcgen"));
    if want("miss") {
        if mcgen.exists() {
            let rates: &[u64] = if q {
                &[1_000, 10_000, 50_000]
            } else {
                &[1_000, 5_000, 10_000, 20_000, 50_000]
            };
            let secs = if q { 2.0 } else { 3.0 };
            for &rate in rates {
                match storm::run(&env, &mcgen, rate, secs) {
                    Ok(v) => {
                        println!("miss storm {rate}/s: {}", storm::line(&v));
                        res.storm.push(v);
                    }
                    Err(e) => res
                        .not_available
                        .push(na(&format!("4-miss-storm @ {rate}/s"), &e)),
                }
            }
        } else {
            res.not_available.push(na(
                "4-miss-storm",
                &format!("{} not found", mcgen.display()),
            ));
        }
    }
    if want("publish") {
        let sizes: Vec<usize> = if q {
            vec![1, 1 << 10, 1 << 16]
        } else {
            vec![1, 1 << 10, 1 << 16, 1 << 20]
        };
        for c in publish::measure_interleaved(&sizes, if q { 200 } else { 1000 }, 3) {
            let s = c.entries;
            println!(
                "publish {:>8} entries: insert+publish p50 {:.1} us p99 {:.1} us, visible to readers p50 {:.1} us p99 {:.1} us",
                s, c.publish_us_p50, c.publish_us_p99, c.visible_us_p50, c.visible_us_p99
            );
            res.publish.push(c);
        }
    }
    if want("latency") {
        latency(&env, &mcgen, q, &mut res);
    }
    let mut soak_failed = false;
    if want("soak") {
        soak_failed = !run_soak(&env, &mcgen, &opts, &res)?;
        if scen.iter().all(|s| s == "soak") {
            return if soak_failed {
                Err("soak: some checks failed (see soak.md)".into())
            } else {
                Ok(())
            };
        }
    }

    res.summaries = summarize(&res.runs);
    res.wall_s = t_start.elapsed().as_secs_f64();
    report::write(&opts.out, &res).map_err(|e| format!("writing the report: {e}"))?;
    println!(
        "mrbench: done in {:.0} s; report {}",
        res.wall_s,
        opts.out.join("report.md").display()
    );
    if soak_failed {
        return Err("soak: some checks failed (see soak.md)".into());
    }
    Ok(())
}

/// The soak scenario: runs it, prints the checks, writes `soak.md` and `soak.json`. `Ok(false)`
/// when a check failed.
fn run_soak(
    env: &Env,
    mcgen: &std::path::Path,
    opts: &Opts,
    res: &Results,
) -> Result<bool, String> {
    if !mcgen.exists() {
        return Err(format!("soak: {} not found", mcgen.display()));
    }
    if !opts.soak_secs.is_finite() || opts.soak_secs < 20.0 {
        return Err("--soak-secs must be at least 20".into());
    }
    let p = soak::Params::for_secs(opts.soak_secs);
    println!(
        "soak: {} s of traffic, warm-up {} s, {} pps established, {} new sources/s, {} IGMP messages/s, a reload every {} s, max_mfes {}",
        p.secs, p.warmup, p.established_pps, p.new_rate, p.igmp_rate, p.reload_every, p.max_mfes
    );
    let mut v = soak::run(env, mcgen, &p)?;
    v["started"] = res.started.clone().into();
    v["commit"] = res.commit.clone().into();
    v["mrouter"] = res.mrouter.clone().into();
    v["mrouter_mtime"] = res.mrouter_mtime.clone().into();
    for c in v["checks"].as_array().into_iter().flatten() {
        println!(
            "soak: {} {}: {}",
            if c["pass"] == true { "PASS" } else { "FAIL" },
            c["name"].as_str().unwrap_or(""),
            c["figures"].as_str().unwrap_or("")
        );
    }
    let md = soak::markdown(&v, &res.started, &res.commit);
    let write = |name: &str, text: String| {
        let path = opts.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("soak.md", md)?;
    write(
        "soak.json",
        serde_json::to_string_pretty(&v).unwrap_or_default(),
    )?;
    println!("soak: report {}", opts.out.join("soak.md").display());
    Ok(v["pass"] == true)
}

fn ipv4_group(fanout: usize) -> Ipv4Addr {
    programs::ipv4mc_group(fanout).unwrap_or(Ipv4Addr::new(224, 0, 0, 101))
}

fn table_name(entries: usize) -> String {
    match entries {
        n if n >= 1 << 20 => format!("{}M (S,G)", n >> 20),
        n if n >= 1 << 10 => format!("{}k (S,G)", n >> 10),
        n => format!("{n} (S,G)"),
    }
}

#[allow(clippy::too_many_arguments)]
fn one_run(
    env: &Env,
    res: &Results,
    scenario: &str,
    case: &str,
    prog: Program,
    pair: usize,
    argv: &[String],
    m: &Measure,
    n: usize,
) -> Run {
    let prefix = format!("mrb{}-{n}", std::process::id());
    let argv: Vec<String> = argv.iter().map(|a| a.replace(PREFIX, &prefix)).collect();
    let slug: String = format!("{scenario}-{case}-{}-{pair}", prog.name())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let log = env.logs.join(format!("{slug}.log"));
    let r = runner::measure(&argv, &prefix, m, &log);
    let (ok, sample, error) = match r {
        Ok(s) => (true, s, None),
        Err(e) => (false, Default::default(), Some(e)),
    };
    let cpp =
        (ok && sample.rx_packets > 0).then(|| res.tsc_hz * sample.secs / sample.rx_packets as f64);
    let stages = std::fs::read_to_string(&log).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("STAGES "))
            .and_then(|j| serde_json::from_str(j).ok())
    });
    Run {
        scenario: scenario.into(),
        case: case.into(),
        program: prog.name().into(),
        pair,
        ok,
        sample,
        cycles_per_packet: cpp,
        error,
        stages,
    }
}

fn print_run(r: &Run, n: usize, total: usize) {
    if r.ok {
        println!(
            "[{n:>3}/{total}] {:<10} {:<12} {:<15} #{}: rx {:6.2} Mpps  tx {:6.2} Mpps  {:5.0} cycles/pkt",
            r.scenario,
            r.case,
            r.program,
            r.pair,
            r.sample.rx_mpps,
            r.sample.tx_mpps,
            r.cycles_per_packet.unwrap_or(0.0)
        );
    } else {
        println!(
            "[{n:>3}/{total}] {:<10} {:<12} {:<15} #{}: FAILED {}",
            r.scenario,
            r.case,
            r.program,
            r.pair,
            r.error.as_deref().unwrap_or("")
        );
    }
}
