//! The `mrouter` process: command line, EAL arguments, data-plane start, the main loop and the
//! statistics report.
//!
//! Command line, DPDK style: `mrouter [EAL args] -- --config FILE [options]`, or
//! `mrouter --config FILE` with EAL arguments taken from the config's `eal:` list.

use crate::admin::{AdminServer, Request, Response};
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::control_core::{ControlCore, DpdkPlane};
use crate::views;
use clap::Parser;
use dataplane::dpdk::{telemetry, Eal, PortStats};
use dataplane::fib::ForwardingTable;
use dataplane::router::{Dataplane, DataplaneLimits, PortSpec, StartError};
use dataplane::worker::has_avx2;
use dataplane::worker::profile::{Stage, StageBudget};
use dataplane::worker::{Counters, DropReason};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// mrouter options (after `--`).
#[derive(Debug, Parser)]
#[command(name = "mrouter", version, about = "DPDK IPv4 multicast router")]
pub struct Options {
    /// YAML configuration file (see configs/reference.yaml).
    #[arg(short, long)]
    pub config: PathBuf,
    /// Check the configuration, print the EAL arguments that would be used, and exit.
    #[arg(long)]
    pub check: bool,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Print statistics every this many seconds (default: only when stopping).
    #[arg(long)]
    pub stats_interval: Option<f64>,
    /// Print statistics as one JSON object per line, prefixed `STATS ` (for scripts).
    #[arg(long)]
    pub stats_json: bool,
    /// Admin socket for `mrouterctl` (owner-only permissions).
    #[arg(long, default_value = crate::admin::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Measure the cycles of each worker-loop stage and print the budget per packet when
    /// stopping (a TSC read per stage and burst; for benchmarking).
    #[arg(long)]
    pub stage_cycles: bool,
}

/// Splits `argv` (without the program name) into EAL arguments and mrouter's own.
pub fn split_args(args: &[String]) -> (Vec<String>, Vec<String>) {
    match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i + 1..].to_vec()),
        None => (Vec::new(), args.to_vec()),
    }
}

fn has_any(args: &[String], flags: &[&str]) -> bool {
    args.iter().any(|a| {
        flags
            .iter()
            .any(|f| a == f || a.starts_with(&format!("{f}=")))
    })
}

fn free_hugepages() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The EAL arguments: the command line's, then the config's, then the devices of the ports,
/// then defaults for what neither said: `--no-pci` when every port is a vdev, an `-l` list of
/// the main lcore plus the workers, `--no-huge -m 512` when no hugepage is free, and a file
/// prefix so the runtime directory is predictable (`/var/run/dpdk/mrouter`).
pub fn eal_args(program: &str, cli: &[String], cfg: &Config) -> Vec<String> {
    let mut args = vec![program.to_string()];
    args.extend_from_slice(cli);
    args.extend_from_slice(&cfg.eal);
    let specs = port_specs(cfg);
    let given = args.clone();
    for spec in &specs {
        args.extend(spec.eal_args());
    }
    if specs.iter().all(PortSpec::is_vdev)
        && !has_any(&given, &["--no-pci", "-a", "--allow", "-b", "--block"])
    {
        args.push("--no-pci".into());
    }
    if !has_any(&given, &["-l", "--lcores", "-c"]) {
        let main = (0..).find(|l| !cfg.workers.contains(l)).unwrap_or(0);
        let mut cores = vec![main];
        cores.extend(&cfg.workers);
        let list: Vec<String> = cores.iter().map(u32::to_string).collect();
        args.extend(["-l".into(), list.join(",")]);
    }
    if !has_any(&given, &["--no-huge", "-m", "--socket-mem", "--in-memory"])
        && free_hugepages() == 0
    {
        args.extend(["--no-huge".into(), "-m".into(), "512".into()]);
    }
    if !has_any(&given, &["--file-prefix", "--no-shconf", "--in-memory"]) {
        args.extend(["--file-prefix".into(), "mrouter".into()]);
    }
    args
}

/// The data plane's view of the config's ports.
pub fn port_specs(cfg: &Config) -> Vec<PortSpec> {
    cfg.ports
        .iter()
        .map(|p| PortSpec {
            device: p.device.clone(),
            rx_queues: p.rx_queues,
            tx_queues: p.tx_queues,
            mtu: p.mtu,
            interface_mtu: cfg
                .interfaces
                .iter()
                .find(|i| {
                    i.vlan.is_none() && cfg.ports.get(i.port).is_some_and(|q| q.name == p.name)
                })
                .and_then(|i| i.mtu),
            vlans: cfg
                .vlans_of_port(&p.name)
                .into_iter()
                .map(|(vid, mtu)| dataplane::worker::vlan::VlanSpec { vid, mtu })
                .collect(),
        })
        .collect()
}

/// How long the idle control loop parks at most (workers unpark it for misses and control
/// packets): the latency of timers and of the admin socket while nothing else happens. At
/// 200 us the idle loop woke 5,000 times a second and took 12% of its CPU (each turn and each
/// non-blocking accept on the admin socket cost a few microseconds), which the worker on the
/// other vCPU paid for: 2 ms keeps the admin socket's extra latency below what a person or a
/// script notices and wakes 500 times a second.
const IDLE_PARK: Duration = Duration::from_millis(2);

/// The table the data plane starts with: empty (the control core fills it), knowing the
/// router's own addresses, whose packets the workers drop (`own_source`).
pub fn initial_table(cfg: &Config) -> ForwardingTable {
    let mut table = ForwardingTable::new();
    table.set_own_sources(cfg.interfaces.iter().map(|i| i.address));
    table
}

/// Which lane-wise classifier the workers run (the start log's line): eight frames at once in
/// AVX2 when the config allows it (`dataplane.avx2`) and the CPU has it, four in SSE
/// otherwise, and why.
pub fn classifier_note(allowed: bool, cpu_has_avx2: bool) -> &'static str {
    match (allowed, cpu_has_avx2) {
        (true, true) => "workers classify eight frames at a time (AVX2)",
        (false, _) => "workers classify four frames at a time (SSE: dataplane.avx2 is false)",
        (true, false) => "workers classify four frames at a time (SSE: this CPU has no AVX2)",
    }
}

/// The config's pending-queue bounds for the data plane.
pub fn dataplane_limits(cfg: &Config) -> DataplaneLimits {
    DataplaneLimits {
        pending_flows: cfg.limits.pending_flows as usize,
        pending_per_flow: cfg.limits.pending_packets_per_flow as usize,
        pending_shared: cfg.limits.pending_packets_shared as usize,
        mbuf_data_room: cfg.dataplane.mbuf_data_room,
        avx2: cfg.dataplane.avx2,
        ..DataplaneLimits::default()
    }
}

/// A data-plane start error, naming the config field it is about where there is one.
fn start_error(path: &std::path::Path, cfg: &Config, e: StartError) -> String {
    let located = |field: String, message: String| config::error_at(path, &field, message);
    match e {
        StartError::PortMtu { port, mtu, source } => located(
            format!("ports[{port}].mtu"),
            format!("the device cannot take MTU {mtu}: {source}"),
        )
        .to_string(),
        StartError::MbufTooSmall { port, .. } => {
            located(format!("ports[{port}].mtu"), e.to_string()).to_string()
        }
        StartError::InterfaceMtu {
            port,
            mtu,
            port_mtu,
        } => {
            // The first interface of the port whose MTU is too large (untagged or VLAN).
            let i = cfg
                .interfaces
                .iter()
                .position(|i| i.port == port && i.mtu == Some(mtu));
            located(
                format!("interfaces[{}].mtu", i.unwrap_or(0)),
                format!(
                    "{mtu} is larger than the MTU of port {} ({port_mtu}); set the port's `mtu:` \
                     (or, for af_packet, its kernel interface's MTU and `framesz=`)",
                    cfg.ports.get(port).map_or("?", |p| p.name.as_str())
                ),
            )
            .to_string()
        }
        other => other.to_string(),
    }
}

/// Runs mrouter with `argv` (including the program name); returns the exit code.
pub fn main_with_args(argv: Vec<String>) -> i32 {
    let program = argv.first().cloned().unwrap_or_else(|| "mrouter".into());
    let (cli_eal, own) = split_args(argv.get(1..).unwrap_or_default());
    let opts = match Options::try_parse_from(std::iter::once(program.clone()).chain(own)) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let cfg = match config::load(&opts.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mrouter: {e}");
            return 1;
        }
    };
    let args = eal_args(&program, &cli_eal, &cfg);
    if opts.check {
        println!("{}: configuration OK", opts.config.display());
        println!("EAL arguments: {}", args[1..].join(" "));
        return 0;
    }
    match run(&opts, &cfg, &args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mrouter: {e}");
            1
        }
    }
}

/// Reloads the config file: the whole new file is validated first; a bad file, or a change
/// that needs a restart, changes nothing and says why.
fn reload(
    opts: &Options,
    cfg: &mut Config,
    core: &mut ControlCore,
    dp: &mut Dataplane,
    clock: &Clock,
) -> Result<String, String> {
    let new = match config::load(&opts.config) {
        Ok(new) => new,
        Err(e) => {
            core.reload_refused();
            return Err(format!("reload refused: {e}"));
        }
    };
    let msg = core
        .reload(clock.now(), cfg, &new, &mut DpdkPlane::new(dp, clock))
        .map_err(|e| format!("reload refused: {e}"))?;
    *cfg = new;
    Ok(msg)
}

fn run(opts: &Options, cfg: &Config, args: &[String]) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| format!("signal handler: {e}"))?;
    let mut cfg = cfg.clone();
    let cfg = &mut cfg;
    // Linux rounds sleeps up by the timer slack (50 us by default): make the control loop's
    // short idle sleeps short.
    if let Err(e) = nix::sys::prctl::set_timerslack(1_000) {
        eprintln!("mrouter: warning: cannot set timer slack: {e}");
    }
    // The control plane's only clock: every call into the core gets its time.
    let clock = Clock::start();
    let mut core = ControlCore::new(cfg, clock.now())?;
    let eal = Eal::init(args).map_err(|e| e.to_string())?;
    let mut dp = Dataplane::start_with(
        eal,
        &port_specs(cfg),
        initial_table(cfg),
        &cfg.workers,
        DataplaneLimits {
            stage_cycles: opts.stage_cycles,
            ..dataplane_limits(cfg)
        },
    )
    .map_err(|e| start_error(&opts.config, cfg, e))?;
    println!(
        "mrouter: {}",
        classifier_note(cfg.dataplane.avx2, has_avx2())
    );
    // The kernel twins exist from here on (see `crate::twin`).
    crate::twin::start_with_core(
        cfg,
        clock.now(),
        &mut core,
        &mut DpdkPlane::new(&mut dp, &clock),
    );
    if let Some(nice) = cfg.control.nice {
        // This thread is the control core (the EAL's main lcore); the workers keep theirs.
        match dataplane::dpdk::set_current_thread_nice(i32::from(nice)) {
            Ok(()) => println!("mrouter: control core at nice {nice}"),
            Err(e) => {
                eprintln!("mrouter: warning: cannot set the control core's nice to {nice}: {e}")
            }
        }
    }
    let mut admin = AdminServer::bind(&opts.socket)
        .map_err(|e| format!("admin socket {}: {e}", opts.socket.display()))?;
    print_startup(cfg, &dp);
    println!("mrouter: admin socket {}", opts.socket.display());
    for (cmd, help) in [
        (
            "/mrouter/stats",
            "Port, drop and control-core counters. No parameters.",
        ),
        (
            "/mrouter/mroute",
            "Multicast forwarding entries. No parameters.",
        ),
        ("/mrouter/interfaces", "Interfaces. No parameters."),
    ] {
        if let Err(e) = telemetry::register(cmd, help) {
            eprintln!("mrouter: warning: {e}");
        }
    }
    if let Err(e) = telemetry::pdump_init() {
        eprintln!("mrouter: warning: {e}; dpdk-dumpcap will not work");
    }
    let mut next_telemetry = Instant::now();

    let started = Instant::now();
    let deadline = opts
        .duration
        .map(|d| started + Duration::from_secs_f64(d.max(0.0)));
    let interval = opts
        .stats_interval
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64);
    let mut next_stats = interval.map(|i| started + i);
    let inline = dp.worker_lcores().contains(&None);
    // Relaxed: the flag is set by a signal handler and carries no data.
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        if inline {
            dp.poll_inline(64);
            core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
        } else if !core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock)) {
            // Idle: the control core shares its CPU with everything else on the machine, so it
            // parks rather than spins, until its next timer at the latest. A worker unparks it
            // as soon as it queues a miss or a control packet, so a new flow does not wait for
            // the end of a sleep; IDLE_PARK bounds how late the admin socket is served.
            let until_timer = core
                .poll_timeout()
                .map_or(IDLE_PARK, |t| t.saturating_sub(clock.now()));
            std::thread::park_timeout(until_timer.min(IDLE_PARK));
        }
        while let Some(event) = core.poll_event() {
            println!("mrouter: {event}");
        }
        let admin_counters = admin.counters();
        admin.poll(&mut |req| match req {
            Request::ShowMroute => Response::Mroute(views::mroutes(cfg, &core)),
            Request::ShowInterfaces => Response::Interfaces(views::interfaces(cfg, &core, &dp)),
            Request::ShowStats => {
                let mut stats = views::stats(cfg, &core, &dp);
                stats.control.extend([
                    ("admin_connections".to_string(), admin_counters.accepted),
                    ("admin_evicted".to_string(), admin_counters.evicted),
                    ("admin_timed_out".to_string(), admin_counters.timed_out),
                ]);
                Response::Stats(stats)
            }
            Request::ShowRpf { source } => Response::Rpf(views::rpf(cfg, &core, source)),
            Request::ShowIgmpInterfaces => {
                Response::IgmpInterfaces(views::igmp_interfaces(cfg, &core))
            }
            Request::ShowIgmpGroups => Response::IgmpGroups(views::igmp_groups(cfg, &core)),
            Request::ShowIgmpProxy => Response::IgmpProxy(views::igmp_proxy(cfg, &core)),
            Request::ShowPimInterface => Response::PimInterfaces(views::pim_interfaces(cfg, &core)),
            Request::ShowPimNeighbor => Response::PimNeighbors(views::pim_neighbors(cfg, &core)),
            Request::ShowPimJoin => Response::PimJoins(views::pim_joins(cfg, &core)),
            Request::ShowPimRp => Response::PimRp(views::pim_rp(&core)),
            Request::ShowPimAssert => Response::PimAsserts(views::pim_asserts(cfg, &core)),
            Request::ShowPimRegister => Response::PimRegister(views::pim_register(cfg, &core)),
            Request::Reload => match reload(opts, cfg, &mut core, &mut dp, &clock) {
                Ok(message) => {
                    println!("mrouter: {message}");
                    Response::Reloaded { message }
                }
                Err(message) => {
                    eprintln!("mrouter: {message}");
                    Response::error(message)
                }
            },
        });
        if Instant::now() >= next_telemetry {
            for (cmd, reply) in views::telemetry(cfg, &core, &dp) {
                telemetry::publish(cmd, reply);
            }
            next_telemetry = Instant::now() + Duration::from_secs(1);
        }
        // Relaxed: the flag carries no data.
        if hup.swap(false, Ordering::Relaxed) {
            match reload(opts, cfg, &mut core, &mut dp, &clock) {
                Ok(msg) => println!("mrouter: {msg}"),
                Err(msg) => eprintln!("mrouter: {msg}"),
            }
        }
        if let (Some(at), Some(i)) = (next_stats, interval) {
            if Instant::now() >= at {
                print_stats(
                    cfg,
                    &dp.port_stats(),
                    &dp.worker_counters(),
                    started.elapsed(),
                );
                next_stats = Some(at + i);
            }
        }
    }
    // Goodbyes (PIM's Hellos with holdtime 0) leave while the ports still run.
    core.shutdown(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let elapsed = started.elapsed();
    let stopped = dp.stop_and_count();
    println!("mrouter: stopping");
    report(opts, cfg, &stopped.ports, &stopped.workers, elapsed);
    if opts.stage_cycles {
        print_stage_cycles(&stopped.stage_cycles);
    }
    // Counted once the workers have stopped and everything they, the control core and the
    // ports held was freed: anything but 0 is a leaked mbuf.
    println!("mbufs_in_use_at_exit {}", stopped.mbufs_in_use);
    Ok(())
}

/// The per-stage cycle budget, per received packet, of each worker (`--stage-cycles`): one
/// line `STAGES {json}` per worker for scripts, e.g. mrbench. Turns the thread was interrupted
/// in are left out (counted as `interrupted_turns`).
fn print_stage_cycles(stages: &[StageBudget]) {
    for (w, s) in stages.iter().enumerate() {
        let per = |v: u64| v as f64 / s.packets.max(1) as f64;
        let fields: Vec<String> = Stage::ALL
            .iter()
            .map(|st| format!(r#""{}":{:.1}"#, st.name(), per(s.cycles[*st as usize])))
            .collect();
        println!(
            r#"STAGES {{"worker":{w},"packets":{},"interrupted_turns":{},"total":{:.1},{}}}"#,
            s.packets,
            s.interrupted,
            per(s.cycles.iter().sum()),
            fields.join(",")
        );
    }
}

fn report(
    opts: &Options,
    cfg: &Config,
    ports: &[PortStats],
    workers: &[Counters],
    elapsed: Duration,
) {
    if opts.stats_json {
        println!("STATS {}", stats_json(ports, workers, elapsed));
    } else {
        print_stats(cfg, ports, workers, elapsed);
    }
}

/// One line of JSON: elapsed seconds, per-port counters, per-worker counters, drops summed.
pub fn stats_json(ports: &[PortStats], workers: &[Counters], elapsed: Duration) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|s| {
            format!(
                r#"{{"ipackets":{},"opackets":{},"ibytes":{},"obytes":{},"imissed":{},"ierrors":{},"oerrors":{},"rx_nombuf":{}}}"#,
                s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf
            )
        })
        .collect();
    let mut total = Counters::default();
    let workers: Vec<String> = workers
        .iter()
        .map(|c| {
            total.add(c);
            format!(
                r#"{{"rx_packets":{},"tx_packets":{}}}"#,
                c.rx_packets, c.tx_packets
            )
        })
        .collect();
    let drops: Vec<String> = DropReason::ALL
        .iter()
        .map(|r| format!(r#""{}":{}"#, r.name(), total.dropped(*r)))
        .collect();
    format!(
        r#"{{"elapsed":{:.3},"ports":[{}],"workers":[{}],"drops":{{{}}}}}"#,
        elapsed.as_secs_f64(),
        ports.join(","),
        workers.join(","),
        drops.join(",")
    )
}

fn print_startup(cfg: &Config, dp: &Dataplane) {
    let mut out = std::io::stdout().lock();
    let info = dp.port_info();
    let _ = writeln!(
        out,
        "mrouter: {} ports, {} routes",
        cfg.ports.len(),
        cfg.routes.len()
    );
    for (i, p) in cfg.ports.iter().enumerate() {
        let ifaces: Vec<String> = cfg
            .interfaces
            .iter()
            .filter(|f| f.port == i)
            .map(|f| match f.vlan {
                Some(v) => format!("{} {}/{} vlan {v}", f.name, f.address, f.prefix_len),
                None => format!("{} {}/{}", f.name, f.address, f.prefix_len),
            })
            .collect();
        let iface = if ifaces.is_empty() {
            "(no interface)".to_string()
        } else {
            ifaces.join(", ")
        };
        let (driver, mac) = &info[i];
        let status = &dp.port_status()[i];
        let mut ctl = format!(" control tx {}", status.control_tx);
        if !status.running {
            ctl.push_str(" (not started: retried every second)");
        }
        let _ = writeln!(
            out,
            "  port {i} {:<8} {driver:<14} {mac}  {iface}  [{}]{ctl}",
            p.name, p.device
        );
    }
    for r in &cfg.routes {
        let src = r.source.map_or("*".to_string(), |s| s.to_string());
        let oifs: Vec<String> = r
            .oifs
            .iter()
            .map(|o| {
                let name = &cfg.interfaces[o.interface].name;
                if o.ttl_threshold > 1 {
                    format!("{name}(ttl>{})", o.ttl_threshold)
                } else {
                    name.clone()
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  route ({src}, {}) iif {} -> {}",
            r.group,
            cfg.interfaces[r.iif].name,
            if oifs.is_empty() {
                "(drop)".into()
            } else {
                oifs.join(" ")
            }
        );
    }
    let workers: Vec<String> = dp
        .worker_lcores()
        .iter()
        .map(|l| l.map_or("main lcore".into(), |l| format!("lcore {l}")))
        .collect();
    let _ = writeln!(
        out,
        "mrouter: forwarding on {}; Ctrl-C to stop",
        workers.join(", ")
    );
    let _ = out.flush();
}

fn print_stats(cfg: &Config, ports: &[PortStats], workers: &[Counters], elapsed: Duration) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "statistics after {:.1} s:", elapsed.as_secs_f64());
    let _ = writeln!(
        out,
        "  {:<4} {:<8} {:>12} {:>12} {:>10} {:>10} {:>10}",
        "port", "name", "rx-packets", "tx-packets", "rx-missed", "rx-nombuf", "tx-errors"
    );
    for (i, s) in ports.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:<4} {:<8} {:>12} {:>12} {:>10} {:>10} {:>10}",
            i, cfg.ports[i].name, s.ipackets, s.opackets, s.imissed, s.rx_nombuf, s.oerrors
        );
    }
    let mut total = Counters::default();
    for (w, c) in workers.iter().enumerate() {
        let _ = writeln!(
            out,
            "  worker {w}: rx {} forwarded-copies {}",
            c.rx_packets, c.tx_packets
        );
        total.add(c);
    }
    let _ = writeln!(out, "  drops:");
    for r in DropReason::ALL {
        let _ = writeln!(out, "    {:<16} {}", r.name(), total.dropped(r));
    }
    let _ = out.flush();
}
