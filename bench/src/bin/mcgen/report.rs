//! mcgen's live table and final report.

use super::config::Plan;
use super::Outcome;
use dataplane::dpdk::PortStats;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

fn l1_mbits(pkts: u64, bytes: u64, secs: f64) -> f64 {
    bench::l1_bits(pkts, bytes) as f64 / secs / 1e6
}

/// One live table: per port rates over the last interval, then a progress line.
#[allow(clippy::too_many_arguments)]
pub fn live(
    names: &[String],
    before: &[PortStats],
    now: &[PortStats],
    secs: f64,
    elapsed: f64,
    duration: f64,
    sent: &AtomicU64,
    received: &AtomicU64,
) {
    println!(
        "{:>6}  {:<20} {:>9} {:>11} {:>9} {:>11} {:>9} {:>9} {:>8} {:>8}",
        "time",
        "port",
        "rx Mpps",
        "rx Mbit/s",
        "tx Mpps",
        "tx Mbit/s",
        "imissed",
        "rx_nombuf",
        "ierrors",
        "oerrors"
    );
    for (i, name) in names.iter().enumerate() {
        let (a, b) = (before[i], now[i]);
        let (ip, ib, op, ob) = (
            b.ipackets - a.ipackets,
            b.ibytes - a.ibytes,
            b.opackets - a.opackets,
            b.obytes - a.obytes,
        );
        println!(
            "{:>5.1}s  {:<20} {:>9.3} {:>11.1} {:>9.3} {:>11.1} {:>9} {:>9} {:>8} {:>8}",
            elapsed,
            name,
            ip as f64 / secs / 1e6,
            l1_mbits(ip, ib, secs),
            op as f64 / secs / 1e6,
            l1_mbits(op, ob, secs),
            b.imissed - a.imissed,
            b.rx_nombuf - a.rx_nombuf,
            b.ierrors - a.ierrors,
            b.oerrors - a.oerrors
        );
    }
    println!(
        "progress: {:.1}/{:.1} s  sent {}  received {}",
        elapsed.min(duration),
        duration,
        sent.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed)
    );
}

fn percentiles(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "min": h.min(),
        "mean": h.mean(),
        "p50": h.value_at_quantile(0.5),
        "p90": h.value_at_quantile(0.9),
        "p99": h.value_at_quantile(0.99),
        "p999": h.value_at_quantile(0.999),
        "max": h.max(),
    })
}

/// Prints the per-stream table and totals and returns them as JSON.
pub fn final_report(
    plan: &Plan,
    names: &[String],
    n_rx: usize,
    o: &Outcome,
    base: &[PortStats],
    end: &[PortStats],
    hz: u64,
) -> Value {
    let mut streams = Vec::new();
    let mut tot = [0u64; 6]; // sent, expected, received, lost, duplicates, reordered
    let show = o.sent.len() <= 32;
    if show {
        println!(
            "{:>5} {:<15} {:<15} {:>10} {:<16} {:>10} {:>8} {:>6} {:>6} {:>9} {:>9}",
            "id",
            "source",
            "group",
            "sent",
            "rx port",
            "received",
            "lost",
            "dup",
            "reord",
            "p50 us",
            "p99 us"
        );
    }
    for (s, &sent) in o.sent.iter().enumerate() {
        let mut per_port = Vec::new();
        for p in 0..n_rx {
            let ps = &o.rx.ports[p][s];
            tot[1] += sent;
            tot[2] += ps.received;
            tot[3] += ps.lost(sent);
            tot[4] += ps.duplicates;
            tot[5] += ps.reordered;
            per_port.push(json!({
                "port": plan.rx[p],
                "received": ps.received,
                "unique": ps.unique,
                "lost": ps.lost(sent),
                "duplicates": ps.duplicates,
                "reordered": ps.reordered,
            }));
        }
        tot[0] += sent;
        let lat = o.rx.stream_latency.get(s).map(percentiles);
        let spec = stream_spec(plan, s);
        if show {
            for (p, pp) in per_port.iter().enumerate() {
                let us = |k: &str| {
                    lat.as_ref()
                        .and_then(|l| l[k].as_u64())
                        .map_or("-".into(), |v| format!("{:.1}", v as f64 / 1e3))
                };
                println!(
                    "{:>5} {:<15} {:<15} {:>10} {:<16} {:>10} {:>8} {:>6} {:>6} {:>9} {:>9}",
                    if p == 0 { s.to_string() } else { String::new() },
                    if p == 0 {
                        spec.0.clone()
                    } else {
                        String::new()
                    },
                    if p == 0 {
                        spec.1.clone()
                    } else {
                        String::new()
                    },
                    if p == 0 {
                        sent.to_string()
                    } else {
                        String::new()
                    },
                    plan.rx[p],
                    pp["received"].as_u64().unwrap_or(0),
                    pp["lost"].as_u64().unwrap_or(0),
                    pp["duplicates"].as_u64().unwrap_or(0),
                    pp["reordered"].as_u64().unwrap_or(0),
                    us("p50"),
                    us("p99")
                );
            }
        }
        streams.push(json!({
            "id": s, "source": spec.0, "group": spec.1, "sent": sent,
            "ports": per_port, "latency_ns": lat,
        }));
    }
    let lat = percentiles(&o.rx.latency);
    let us = |k: &str| {
        lat[k]
            .as_f64()
            .map_or("-".into(), |v| format!("{:.1}", v / 1e3))
    };
    println!(
        "total: {} streams, sent {} ({:.3} Mpps), expected {} on {} rx ports, received {}, lost {}, duplicates {}, reordered {}, foreign {}, tx_full {}, no_mbuf {}",
        o.sent.len(), tot[0], tot[0] as f64 / o.tx_secs / 1e6, tot[1], n_rx, tot[2], tot[3], tot[4], tot[5], o.rx.foreign, o.tx_full, o.no_mbuf
    );
    println!(
        "latency (us): min {} p50 {} p90 {} p99 {} p99.9 {} max {}",
        us("min"),
        us("p50"),
        us("p90"),
        us("p99"),
        us("p999"),
        us("max")
    );
    let ports: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (a, b) = (base[i], end[i]);
            json!({
                "name": n,
                "ipackets": b.ipackets - a.ipackets, "opackets": b.opackets - a.opackets,
                "ibytes": b.ibytes - a.ibytes, "obytes": b.obytes - a.obytes,
                "imissed": b.imissed - a.imissed, "rx_nombuf": b.rx_nombuf - a.rx_nombuf,
                "ierrors": b.ierrors - a.ierrors, "oerrors": b.oerrors - a.oerrors,
            })
        })
        .collect();
    // Established streams' loss from the first new source on (start-up loss excluded).
    let lost_in_storm = o.sent_at_storm.as_ref().map(|at| {
        let mut lost = 0u64;
        for (s, &sent) in o.sent.iter().enumerate() {
            let lo = at.get(s).copied().unwrap_or(0);
            for p in 0..n_rx {
                let ps = &o.rx.ports[p][s];
                lost += (sent - lo) - ps.unique_in(lo as u32, sent as u32);
            }
        }
        (lost, at.iter().sum::<u64>())
    });
    let new_sources = (o.new_sent > 0).then(|| {
        let l = percentiles(&o.new_rx.first_latency);
        println!(
            "new sources: sent {}, arrived {} ({} later copies); first-arrival latency (us): p50 {} p99 {} max {}",
            o.new_sent,
            o.new_rx.arrived,
            o.new_rx.later,
            l["p50"].as_f64().map_or("-".into(), |v| format!("{:.1}", v / 1e3)),
            l["p99"].as_f64().map_or("-".into(), |v| format!("{:.1}", v / 1e3)),
            l["max"].as_f64().map_or("-".into(), |v| format!("{:.1}", v / 1e3)),
        );
        json!({
            "sent": o.new_sent, "arrived": o.new_rx.arrived, "later_copies": o.new_rx.later,
            "first_latency_ns": l,
            "first_sent_at": o.new_first_at, "last_sent_at": o.new_last_at,
            "established_lost_from_storm_start": lost_in_storm.map(|l| l.0),
            "established_expected_from_storm_start": lost_in_storm
                .map(|l| (tot[0] - l.1) * n_rx as u64),
        })
    });
    let igmp = o.igmp.map(|g| {
        println!(
            "igmp: {} reports, {} leaves ({} at the end), {} refused by the tx queue (sent again)",
            g.reports, g.leaves, g.final_leaves, g.refused
        );
        json!({
            "reports": g.reports, "leaves": g.leaves, "final_leaves": g.final_leaves,
            "refused": g.refused,
        })
    });
    json!({
        "igmp": igmp,
        "new_sources": new_sources,
        "duration_s": o.tx_secs,
        "tsc_hz": hz,
        "offered": plan.pps,
        "total": {
            "streams": o.sent.len(), "sent": tot[0], "expected": tot[1], "received": tot[2],
            "lost": tot[3], "duplicates": tot[4], "reordered": tot[5],
            "foreign": o.rx.foreign, "tx_full": o.tx_full, "no_mbuf": o.no_mbuf,
        },
        "latency_ns": lat,
        "streams": if o.sent.len() <= 4096 { Value::Array(streams) } else { Value::Null },
        "ports": ports,
    })
}

fn stream_spec(plan: &Plan, mut s: usize) -> (String, String) {
    for set in &plan.sets {
        let n = (set.sources * set.groups) as usize;
        if s < n {
            let (i, j) = (s / set.groups as usize, s % set.groups as usize);
            return (
                bench::frames::add(set.source, i as u32).to_string(),
                bench::frames::add(set.group, j as u32).to_string(),
            );
        }
        s -= n;
    }
    (String::new(), String::new())
}
