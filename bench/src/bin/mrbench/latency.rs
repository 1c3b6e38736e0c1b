//! The latency scenario (L): mcgen sends through mrouter over memif and measures latency and
//! loss.

use super::programs::{self, Env};
use super::report;
use super::results::{na, Results};
use super::runner;
use std::time::{Duration, Instant};

/// Latency and loss through mrouter: mcgen (memif server ports) -> mrouter (memif client
/// ports, fan-out 2) -> mcgen. Two processes, so the worker's TSC stamps are comparable.
pub fn latency(env: &Env, mcgen: &std::path::Path, quick: bool, res: &mut Results) {
    if !mcgen.exists() {
        res.not_available
            .push(na("L-latency", &format!("{} not found", mcgen.display())));
        return;
    }
    let secs = if quick { 2 } else { 4 };
    for pps in [100_000u64, 1_000_000] {
        let tag = format!("lat{pps}");
        let sock = |i: usize| {
            env.work
                .join(format!("{tag}-{}-m{i}.sock", std::process::id()))
        };
        let cfg = env.work.join(format!("{tag}.yaml"));
        let mut y = String::new();
        crate::memif_lab::push_ports_and_interfaces(&mut y, sock);
        y.push_str("workers: [1]\nroutes:\n  - { group: 239.1.1.1, iif: if0, oifs: [{interface: if1}, {interface: if2}] }\n");
        if let Err(e) = std::fs::write(&cfg, y) {
            res.not_available.push(na("L-latency", &e.to_string()));
            return;
        }
        let gprefix = format!("mrb{}-g{pps}", std::process::id());
        let rprefix = format!("mrb{}-r{pps}", std::process::id());
        let json = env.work.join(format!("{tag}.json"));
        let _ = std::fs::remove_file(&json);
        let mut gargv = programs::mcgen_memif_argv(mcgen, &gprefix, &sock, 10);
        gargv.extend(["--groups", "1"].map(String::from));
        gargv.extend([
            "--pps".into(),
            pps.to_string(),
            "--duration".into(),
            secs.to_string(),
            "--json".into(),
            json.display().to_string(),
        ]);
        let glog = env.logs.join(format!("{tag}-mcgen.log"));
        let rlog = env.logs.join(format!("{tag}-mrouter.log"));
        let g = runner::start(&gargv, &gprefix, Duration::from_secs(secs + 30), &glog);
        std::thread::sleep(Duration::from_millis(1500));
        let r = runner::start(
            &programs::mrouter_argv(env, &rprefix, &cfg, (secs + 20) as f64),
            &rprefix,
            Duration::from_secs(secs + 30),
            &rlog,
        );
        // Wait for the generator to finish (it exits after --duration plus its drain time).
        let deadline = Instant::now() + Duration::from_secs(secs + 25);
        while !json.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        if let Ok(r) = r {
            r.stop(Duration::from_secs(3));
        }
        let gout = g
            .map(|g| g.stop(Duration::from_secs(3)))
            .unwrap_or_default();
        match std::fs::read_to_string(&json)
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        {
            Some(mut v) => {
                v["offered_pps"] = pps.into();
                println!("latency @ {pps} pps: {}", report::latency_line(&v));
                res.latency.push(v);
            }
            None => {
                let t: Vec<&str> = gout.lines().collect();
                res.not_available.push(na(
                    &format!("L-latency @ {pps} pps"),
                    &format!(
                        "mcgen produced no result: {}",
                        t[t.len().saturating_sub(3)..].join(" | ")
                    ),
                ));
            }
        }
        for i in 0..3 {
            let _ = std::fs::remove_file(sock(i));
        }
    }
}
