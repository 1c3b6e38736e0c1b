//! The soak's checks: established flows lost nothing, memory and mbufs stayed flat, the
//! counters add up.

use super::params::Params;
use super::stats::{get, sum};
use serde_json::{json, Value};

/// One check: its name, whether it passed, the equation or rule, and the figures.
fn check(name: &str, pass: bool, rule: &str, figures: String) -> Value {
    json!({ "name": name, "pass": pass, "rule": rule, "figures": figures })
}

pub fn evaluate(p: &Params, gen: Value, obs: Value) -> Value {
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
pub fn nonzero(m: &Value) -> String {
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
