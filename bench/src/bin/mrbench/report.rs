//! Writing the results: `results.json` (everything), `runs.csv`, `summary.csv`, SVG plots and
//! `report.md` (the tables the README's Benchmarks section quotes).

use super::results::{Results, Summary};
use super::targets::{stage_median, targets};
use bench::plot::{bar_chart, Series};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

fn f(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.digits$}"))
}

/// One line about a latency run from mcgen's JSON.
pub fn latency_line(v: &serde_json::Value) -> String {
    let t = &v["total"];
    let l = &v["latency_ns"];
    let us = |k: &str| {
        l[k].as_f64()
            .map_or("n/a".into(), |x| format!("{:.1}", x / 1e3))
    };
    format!(
        "sent {} expected {} received {} lost {} dup {} reordered {}; latency us p50 {} p99 {} p99.9 {} max {}",
        t["sent"], t["expected"], t["received"], t["lost"], t["duplicates"], t["reordered"],
        us("p50"), us("p99"), us("p999"), us("max")
    )
}

/// Writes every output file under `out`.
pub fn write(out: &Path, r: &Results) -> io::Result<()> {
    std::fs::write(out.join("results.json"), serde_json::to_string_pretty(r)?)?;
    let mut csv = String::from("scenario,case,program,pair,ok,secs,rx_packets,tx_packets,rx_mpps,tx_mpps,rx_dropped,tx_errors,cycles_per_packet,error\n");
    for x in &r.runs {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.4},{},{},{:.4},{:.4},{},{},{},\"{}\"",
            x.scenario,
            x.case,
            x.program,
            x.pair,
            x.ok,
            x.sample.secs,
            x.sample.rx_packets,
            x.sample.tx_packets,
            x.sample.rx_mpps,
            x.sample.tx_mpps,
            x.sample.rx_dropped,
            x.sample.tx_errors,
            f(x.cycles_per_packet, 1),
            x.error.as_deref().unwrap_or("").replace('"', "'")
        );
    }
    std::fs::write(out.join("runs.csv"), csv)?;
    let mut csv = String::from("scenario,case,program,runs_ok,rx_mpps,tx_mpps,cycles_per_packet,ratio_vs_testpmd,ratio_vs_ipv4mc,ratio_vs_ipv4mc_c256,ratio_vs_l3fwd,ratio_vs_first_case,ratio_vs_floor\n");
    for s in &r.summaries {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            s.scenario,
            s.case,
            s.program,
            s.runs_ok,
            f(s.rx_mpps, 3),
            f(s.tx_mpps, 3),
            f(s.cycles_per_packet, 1),
            f(s.ratio_vs_testpmd, 3),
            f(s.ratio_vs_ipv4mc, 3),
            f(s.ratio_vs_ipv4mc_c256, 3),
            f(s.ratio_vs_l3fwd, 3),
            f(s.ratio_vs_first_case, 3),
            f(s.ratio_vs_floor, 3)
        );
    }
    std::fs::write(out.join("summary.csv"), csv)?;
    let plots = plots(r);
    std::fs::create_dir_all(out.join("plots"))?;
    for (name, svg) in &plots {
        std::fs::write(out.join("plots").join(name), svg)?;
    }
    std::fs::write(out.join("report.md"), markdown(r, &plots))
}

fn scenario_rows<'a>(r: &'a Results, scenario: &str) -> Vec<&'a Summary> {
    r.summaries
        .iter()
        .filter(|s| s.scenario == scenario)
        .collect()
}

fn cases(rows: &[&Summary]) -> Vec<String> {
    let mut c: Vec<String> = Vec::new();
    for s in rows {
        if !c.contains(&s.case) {
            c.push(s.case.clone());
        }
    }
    c
}

fn plots(r: &Results) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (scenario, file, title) in [
        (
            "1-fanout",
            "fanout.svg",
            "Input rate vs fan-out (64 B, 1 forwarding core)",
        ),
        (
            "2-sizes",
            "sizes.svg",
            "Input rate vs packet size (fan-out 2; testpmd 1:1)",
        ),
        (
            "3-table",
            "table.svg",
            "mrouter input rate vs (S,G) table size (64 B, fan-out 1)",
        ),
    ] {
        let rows = scenario_rows(r, scenario);
        if rows.is_empty() {
            continue;
        }
        let cats = cases(&rows);
        let mut progs: Vec<String> = Vec::new();
        for s in &rows {
            if !progs.contains(&s.program) {
                progs.push(s.program.clone());
            }
        }
        let series: Vec<Series> = progs
            .iter()
            .map(|p| Series {
                name: if p == "ipv4_multicast" {
                    "ipv4_multicast (patched offload mask)".into()
                } else {
                    p.clone()
                },
                values: cats
                    .iter()
                    .map(|c| {
                        rows.iter()
                            .find(|s| &s.case == c && &s.program == p)
                            .and_then(|s| s.rx_mpps)
                    })
                    .collect(),
            })
            .collect();
        out.push((
            file.to_string(),
            bar_chart(title, "Mpps received (median)", &cats, &series),
        ));
        if scenario != "3-table" {
            let mr: Vec<&&Summary> = rows.iter().filter(|s| s.program == "mrouter").collect();
            let mut ratio_series = vec![
                Series {
                    name: "mrouter / testpmd-io".into(),
                    values: mr.iter().map(|s| s.ratio_vs_testpmd).collect(),
                },
                Series {
                    name: "mrouter / ipv4_multicast".into(),
                    values: mr.iter().map(|s| s.ratio_vs_ipv4mc).collect(),
                },
            ];
            if mr.iter().any(|s| s.ratio_vs_floor.is_some()) {
                ratio_series.push(Series {
                    name: "mrouter / floor".into(),
                    values: mr.iter().map(|s| s.ratio_vs_floor).collect(),
                });
            }
            let cats: Vec<String> = mr.iter().map(|s| s.case.clone()).collect();
            out.push((
                file.replace(".svg", "-ratio.svg"),
                bar_chart(
                    &format!("{title}: median per-pair ratio"),
                    "ratio of input rates",
                    &cats,
                    &ratio_series,
                ),
            ));
        }
    }
    if !r.publish.is_empty() {
        let cats: Vec<String> = r.publish.iter().map(|p| p.entries.to_string()).collect();
        let series = vec![
            Series {
                name: "insert+publish p50 (us)".into(),
                values: r.publish.iter().map(|p| Some(p.publish_us_p50)).collect(),
            },
            Series {
                name: "visible to readers p50 (us)".into(),
                values: r.publish.iter().map(|p| Some(p.visible_us_p50)).collect(),
            },
            Series {
                name: "visible p99 (us)".into(),
                values: r.publish.iter().map(|p| Some(p.visible_us_p99)).collect(),
            },
        ];
        out.push((
            "publish.svg".into(),
            bar_chart(
                "Publish cost of one change vs table size",
                "microseconds",
                &cats,
                &series,
            ),
        ));
    }
    out
}

/// What the `floor` rows are, above every table that has one.
const FLOOR_NOTE: &str = "`floor` is `mrfloor` on mrouter's ports and frames: at fan-out 1 \
     the rewrite every forwarded multicast packet needs (group MAC, port MAC, TTL - 1, \
     incremental checksum), above it K - 1 whole copies of the frame and the received mbuf, \
     each rewritten, to ports 1..=K; mrouter's mbuf pool, cache, copy and tx buffering, and \
     no classification, lookup or counters: the least a byte-exact copying multicast router \
     does on these ports.";

/// What the `floor-chain` rows are, above every table that has one.
const FLOOR_CHAIN_NOTE: &str = "`floor-chain` is `mrfloor --work chain` on the same ports and \
     frames: the floor with the payload shared instead of copied (the scheme ipv4_multicast \
     uses, and mrouter above its COPY_LIMIT): the rewrite once, K - 1 fresh header mbufs \
     (Ethernet and IPv4 header, each with its port's MAC) chained to indirect mbufs over the \
     rest of the received packet, and the received mbuf itself to port K. A missed size target \
     is held against the lower of the two floors.";

fn markdown(r: &Results, plots: &[(String, String)]) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# mrouter benchmark report\n");
    let _ = writeln!(
        m,
        "Run {} ({}), TSC {:.3} GHz, {} A/B pairs per case, {:.1} s measured per run, wall time {:.0} s.\n",
        r.started,
        if r.quick { "--quick" } else { "default" },
        r.tsc_hz / 1e9,
        r.pairs,
        r.window_s,
        r.wall_s
    );
    let _ = writeln!(
        m,
        "Commit `{}`; mrouter binary `{}` modified {}.\n",
        r.commit, r.mrouter, r.mrouter_mtime
    );
    let _ = writeln!(m, "Source: `net_pcap` with `infinite_rx=1` (512 frames, 16 senders); sinks: `net_null,no-rx=1`; one forwarding lcore (1) for every program. Rates are packets received on the source port per second (input), counted through DPDK telemetry for every program. Ratios are medians of per-pair ratios (runs interleaved mrouter, testpmd, ipv4_multicast, ...). mrouter forwards 239.1.1.1; ipv4_multicast gets the same frames sent to its fixed groups 224.0.0.101/.103/.115 (port masks 0x1/0x3/0xF; it has no fan-out 8).\n");
    if let Some(b) = &r.ipv4mc {
        let _ = writeln!(
            m,
            "Reference `{}`. Stock ipv4_multicast on these ports: {}\n",
            b.label, b.stock_result
        );
    }
    targets(&mut m, r);
    for (scenario, title) in [
        ("1-fanout", "1. Fan-out (64 B)"),
        ("2-sizes", "2. Packet size (fan-out 2)"),
    ] {
        let rows = scenario_rows(r, scenario);
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(m, "## {title}\n");
        if rows.iter().any(|s| s.program == "floor") {
            let _ = writeln!(m, "{FLOOR_NOTE}\n");
        }
        if rows.iter().any(|s| s.program == "floor-chain") {
            let _ = writeln!(m, "{FLOOR_CHAIN_NOTE}\n");
        }
        let _ = writeln!(m, "| case | program | runs | input Mpps | output Mpps | cycles/packet | mrouter/testpmd | mrouter/l3fwd | mrouter/ipv4_multicast | mrouter/ipv4_multicast-c256 | mrouter/floor |");
        let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|---|---|");
        for s in rows {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.case,
                s.program,
                s.runs_ok,
                f(s.rx_mpps, 2),
                f(s.tx_mpps, 2),
                f(s.cycles_per_packet, 0),
                f(s.ratio_vs_testpmd, 2),
                f(s.ratio_vs_l3fwd, 2),
                f(s.ratio_vs_ipv4mc, 2),
                f(s.ratio_vs_ipv4mc_c256, 2),
                f(s.ratio_vs_floor, 2)
            );
        }
        m.push('\n');
    }
    stage_section(&mut m, r);
    let rows = scenario_rows(r, "3-table");
    if !rows.is_empty() {
        let _ = writeln!(
            m,
            "## 3. Table size (64 B, fan-out 1, static (S,G) routes)\n"
        );
        let _ = writeln!(
            m,
            "4096 distinct entries are hit per run, spread evenly over the table.\n"
        );
        let _ = writeln!(
            m,
            "| active (S,G) | runs | input Mpps | cycles/packet | vs 1 entry (median per round) |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|");
        for s in rows {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} |",
                s.case,
                s.runs_ok,
                f(s.rx_mpps, 2),
                f(s.cycles_per_packet, 0),
                f(s.ratio_vs_first_case, 2)
            );
        }
        m.push('\n');
    }
    if !r.storm.is_empty() {
        storm_sections(&mut m, r);
    }
    if !r.publish.is_empty() {
        let _ = writeln!(
            m,
            "## 5. Publish cost of one change vs table size (`dataplane::fib::rcu`)\n"
        );
        let _ = writeln!(m, "One writer, one reader thread reporting quiescence in a loop; each change rewrites one entry's OIF list, publishes and waits until the reader acknowledged it. Three rounds each build every table size in turn and change it; a size's figures pool its changes over the rounds (the build time is the median round's).\n");
        let _ = writeln!(m, "| entries | changes | insert+publish p50 / p99 (us) | until visible p50 / p99 (us) | build whole table (s) |");
        let _ = writeln!(m, "|---|---|---|---|---|");
        for p in &r.publish {
            let _ = writeln!(
                m,
                "| {} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} |",
                p.entries,
                p.changes,
                p.publish_us_p50,
                p.publish_us_p99,
                p.visible_us_p50,
                p.visible_us_p99,
                p.build_secs
            );
        }
        m.push('\n');
    }
    if !r.latency.is_empty() {
        let _ = writeln!(m, "## Latency and loss through mrouter (mcgen -> memif -> mrouter fan-out 2 -> memif -> mcgen)\n");
        let _ = writeln!(m, "Generator and router are two processes on the two cores; memif is a shared-memory link, so latency includes the generator's own rx polling and is an upper bound on mrouter's.\n");
        let _ = writeln!(m, "| offered pps | sent | expected | received | lost | duplicates | reordered | p50 us | p99 us | p99.9 us | max us |");
        let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|---|---|");
        for v in &r.latency {
            let t = &v["total"];
            let l = &v["latency_ns"];
            let us = |k: &str| {
                l[k].as_f64()
                    .map_or("n/a".into(), |x| format!("{:.1}", x / 1e3))
            };
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                v["offered_pps"],
                t["sent"],
                t["expected"],
                t["received"],
                t["lost"],
                t["duplicates"],
                t["reordered"],
                us("p50"),
                us("p99"),
                us("p999"),
                us("max")
            );
        }
        m.push('\n');
    }
    if !r.not_available.is_empty() {
        let _ = writeln!(m, "## Not available / notes\n");
        for n in &r.not_available {
            let _ = writeln!(m, "- **{}**: {}", n.scenario, n.why);
        }
        m.push('\n');
    }
    let failed: Vec<_> = r.runs.iter().filter(|x| !x.ok).collect();
    if !failed.is_empty() {
        let _ = writeln!(m, "## Failed runs\n");
        for x in failed {
            let _ = writeln!(
                m,
                "- {} {} {} #{}: {}",
                x.scenario,
                x.case,
                x.program,
                x.pair,
                x.error.as_deref().unwrap_or("")
            );
        }
        m.push('\n');
    }
    if !plots.is_empty() {
        let _ = writeln!(m, "## Plots\n");
        for (name, _) in plots {
            let _ = writeln!(m, "![{name}](plots/{name})");
        }
    }
    m
}

/// Scenario 7: where the cycles go, stage by stage, against the references' whole cost.
fn stage_section(m: &mut String, r: &Results) {
    let cases: Vec<String> = cases(&scenario_rows(r, "7-stages"));
    if cases.is_empty() {
        return;
    }
    let _ = writeln!(
        m,
        "## 7. Cycle budget per stage (64 B, mrouter `--stage-cycles`)\n"
    );
    let _ = writeln!(
        m,
        "Cycles per received packet in each stage of the worker loop, medians over the runs \
         (turns longer than 1M cycles, i.e. preempted, are left out). rx and tx are the PMDs' \
         own work (the pcap source copies each frame into a fresh mbuf; the null sink frees \
         each mbuf); classify, lookup, counters and replicate are mrouter's; turn is the \
         per-turn work (TSC, quiescent state, counters, empty polls). The TSC reads themselves \
         cost a few cycles per packet: compare the stage total with mrouter's plain \
         cycles/packet in the same case. testpmd io{} are measured in the same \
         interleaved rounds.\n",
        if scenario_rows(r, "7-stages")
            .iter()
            .any(|s| s.program == "floor")
        {
            ", l3fwd and the floor (`mrfloor`: the rewrite at fan-out 1, one copy and the \
             rewrite at fan-out 2)"
        } else {
            " and l3fwd"
        }
    );
    let _ = writeln!(m, "| case | rx | classify | lookup | counters | replicate | tx | turn | stage total | mrouter plain | testpmd io | l3fwd | floor | mrouter's own (classify..replicate) |");
    let _ = writeln!(
        m,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for case in &cases {
        let s = |f: &str| stage_median(r, case, f);
        let prog = |p: &str| {
            r.summaries
                .iter()
                .find(|x| x.scenario == "7-stages" && &x.case == case && x.program == p)
                .and_then(|x| x.cycles_per_packet)
        };
        let own = ["classify", "lookup", "counters", "replicate"]
            .iter()
            .map(|f| s(f))
            .sum::<Option<f64>>();
        let _ = writeln!(
            m,
            "| {case} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f(s("rx"), 1),
            f(s("classify"), 1),
            f(s("lookup"), 1),
            f(s("counters"), 1),
            f(s("replicate"), 1),
            f(s("tx"), 1),
            f(s("turn"), 1),
            f(s("total"), 1),
            f(prog("mrouter"), 0),
            f(prog("testpmd-io"), 0),
            f(prog("l3fwd"), 0),
            f(prog("floor"), 0),
            f(own, 1),
        );
    }
    m.push('\n');
}

fn storm_sections(m: &mut String, r: &Results) {
    let us = |x: &serde_json::Value| {
        x.as_f64()
            .map_or("n/a".into(), |n| format!("{:.0}", n / 1e3))
    };
    let n = |x: &serde_json::Value| match x {
        serde_json::Value::Null => "n/a".to_string(),
        v => v.to_string(),
    };
    let first = &r.storm[0];
    let _ = writeln!(
        m,
        "## 4. Miss storm (new sources while established flows run)\n"
    );
    let _ = writeln!(
        m,
        "memif loop: mcgen -> p0 -> mrouter (worker on CPU 1, control core on CPU 0 at nice -20, `control.nice`) -> p1, p2 -> mcgen \
         (at nice 19 on CPU 0, so the control core runs as soon as it wakes). Established: 4 sources \
         to 239.1.1.1 ((*,G) route; their (S,G) entries exist before the storm) at {} pps, fan-out 2, \
         counted per sequence number by mcgen. Storm: after 1 s, one packet from each new source \
         10.64.0.1, 10.64.0.2, ... (covered by `rpf_routes: 10.64.0.0/10 -> if0`) to 239.2.2.2, a \
         **routed** (*,G) group (oifs if1, if2), for {} s. Counters are mrouter's own (`show_stats` \
         over the admin socket, deltas from the last poll before the storm to the end). The harness asks \
         `show_stats` every 50 ms; its round-trip time is the control loop's responsiveness. \
         mrouter's miss limit: 20,000/s, burst 2,000; pending queue: 64 flows per worker, 100 ms.\n",
        first["established_pps"], first["storm_s"]
    );
    let _ = writeln!(m, "| new sources/s | established lost (from storm start) | established lost (whole run, incl. start-up) | new sources sent | first packet forwarded | MFEs installed | installed/s | misses rate-limited | pending_overflow | no_route | tx_full (copies) | installs settled after storm end (ms) | show_stats RTT p50 / max (us) idle p50 |");
    let _ = writeln!(m, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for v in &r.storm {
        let e = &v["established"];
        let _ = writeln!(
            m,
            "| {} | {} of {} | {} of {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} ({}) |",
            v["rate"],
            n(&e["lost_from_storm_start"]),
            n(&e["expected_from_storm_start"]),
            n(&e["lost"]),
            n(&e["expected"]),
            n(&v["new_sources"]["sent"]),
            n(&v["new_sources"]["arrived"]),
            n(&v["installed"]),
            f(v["installed_per_s"].as_f64(), 0),
            n(&v["misses_rate_limited"]),
            n(&v["drop_pending_overflow"]),
            n(&v["drop_no_route"]),
            n(&v["drop_tx_full"]),
            f(v["settled_after_storm_ms"].as_f64(), 0),
            f(v["ctl_rtt_us_storm_p50"].as_f64(), 0),
            f(v["ctl_rtt_us_storm_max"].as_f64(), 0),
            f(v["ctl_rtt_us_idle_p50"].as_f64(), 0),
        );
    }
    m.push('\n');
    let _ = writeln!(m, "## 6. Miss-to-first-forwarded latency\n");
    let _ = writeln!(
        m,
        "Same runs: for each new source, the time from mcgen stamping its (only) packet to the first \
         copy arriving back at mcgen (hdrhistogram; sources whose packet never arrived are not in it, \
         see the table above). It includes memif both ways and mcgen's polling (an upper bound on \
         mrouter's part). Target (issue 4): p99 under 100 us at 10k new flows/s. The last column \
         is mrouter's own part, as its `show stats` reports it at the end of the run \
         (`miss_to_install_us_*`): from the worker's loop turn that received a new source's \
         packet to the publication of its entry (signal ring, control core wake-up, MGM, \
         publish), whatever the links and mcgen add.\n"
    );
    let _ = writeln!(m, "| new sources/s | sources measured | p50 us | p90 us | p99 us | max us | p99 vs 100 us target | mrouter miss-to-install p50 / p99 / max us |");
    let _ = writeln!(m, "|---|---|---|---|---|---|---|---|");
    for v in &r.storm {
        let l = &v["new_sources"]["first_latency_ns"];
        let verdict = l["p99"].as_f64().map_or("n/a".into(), |p| {
            if p <= 100_000.0 {
                "met".to_string()
            } else {
                format!(
                    "missed by {:.0} us ({:.1}x)",
                    p / 1e3 - 100.0,
                    p / 100_000.0
                )
            }
        });
        let c = &v["control_final"];
        let own = format!(
            "{} / {} / {}",
            n(&c["miss_to_install_us_p50"]),
            n(&c["miss_to_install_us_p99"]),
            n(&c["miss_to_install_us_max"])
        );
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            v["rate"],
            n(&l["count"]),
            us(&l["p50"]),
            us(&l["p90"]),
            us(&l["p99"]),
            us(&l["max"]),
            verdict,
            own
        );
    }
    m.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{summarize, Run};
    use crate::runner::Sample;

    fn run(case: &str, program: &str, pair: usize, mpps: f64, cycles: f64) -> Run {
        run_in("1-fanout", case, program, pair, mpps, cycles)
    }

    fn run_in(
        scenario: &str,
        case: &str,
        program: &str,
        pair: usize,
        mpps: f64,
        cycles: f64,
    ) -> Run {
        Run {
            scenario: scenario.into(),
            case: case.into(),
            program: program.into(),
            pair,
            ok: true,
            sample: Sample {
                secs: 1.0,
                rx_packets: (mpps * 1e6) as u64,
                tx_packets: (mpps * 2e6) as u64,
                rx_mpps: mpps,
                tx_mpps: mpps * 2.0,
                ..Default::default()
            },
            cycles_per_packet: Some(cycles),
            error: None,
            stages: None,
        }
    }

    /// Fan-out 2 with mrouter at 10 Mpps (250 cycles), the floor at 20 (125), ipv4_multicast
    /// with caches of 256 at 12 (210) and as shipped at 9 (280).
    /// Three pairs of `runs` at 2.5 GHz, summarised as mrbench does.
    fn results_of(runs: Vec<Run>) -> Results {
        Results {
            tsc_hz: 2.5e9,
            pairs: 3,
            summaries: summarize(&runs),
            runs,
            ..Default::default()
        }
    }

    fn fanout2() -> Results {
        let mut runs = Vec::new();
        for pair in 0..3 {
            runs.push(run("fan-out 2", "mrouter", pair, 10.0, 250.0));
            runs.push(run("fan-out 2", "testpmd-io", pair, 45.0, 55.0));
            runs.push(run("fan-out 2", "ipv4_multicast", pair, 9.0, 280.0));
            runs.push(run("fan-out 2", "ipv4_multicast-c256", pair, 12.0, 210.0));
            runs.push(run("fan-out 2", "floor", pair, 20.0, 125.0));
        }
        results_of(runs)
    }

    #[test]
    fn fanout_table_has_the_floor_row_and_mrouter_over_floor() {
        let r = fanout2();
        let mrouter = r
            .summaries
            .iter()
            .find(|s| s.program == "mrouter")
            .expect("mrouter summary");
        assert_eq!(mrouter.ratio_vs_floor, Some(0.5));
        let floor = r
            .summaries
            .iter()
            .find(|s| s.program == "floor")
            .expect("floor summary");
        assert_eq!(floor.ratio_vs_floor, None, "ratios are mrouter's only");
        let md = markdown(&r, &[]);
        assert!(md.contains(FLOOR_NOTE), "{md}");
        assert!(
            md.contains("| mrouter/ipv4_multicast-c256 | mrouter/floor |"),
            "{md}"
        );
        assert!(
            md.contains("| fan-out 2 | mrouter | 3 | 10.00 | 20.00 | 250 | 0.22 | n/a | 1.11 | 0.83 | 0.50 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| fan-out 2 | floor | 3 | 20.00 | 40.00 | 125 | n/a | n/a | n/a | n/a | n/a |"
            ),
            "{md}"
        );
    }

    #[test]
    fn missed_target_says_what_the_floor_leaves_mrouter() {
        let md = markdown(&fanout2(), &[]);
        // 1.5x of the tuned sample: 210 / 1.5 = 140 cycles, 15 above the floor's 125; 2x of
        // the stock sample: 280 / 2 = 140 as well.
        assert!(
            md.contains(
                "The floor (rx, one copy, the rewrite, two transmits, no classification, lookup \
                 or counters) takes 125 cycles (mrouter 125 above it); 1.5x of the tuned sample \
                 allows 140, which leaves mrouter's own classify/lookup/counters 15; 2x of the \
                 stock sample allows 140, which leaves mrouter's own classify/lookup/counters 15."
            ),
            "{md}"
        );
        let csv_header = "ratio_vs_first_case,ratio_vs_floor";
        let dir = std::env::temp_dir().join(format!("mrbench-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        write(&dir, &fanout2()).expect("write");
        let summary = std::fs::read_to_string(dir.join("summary.csv")).expect("summary.csv");
        assert!(summary
            .lines()
            .next()
            .is_some_and(|l| l.ends_with(csv_header)));
        assert!(
            summary.contains(
                "1-fanout,fan-out 2,mrouter,3,10.000,20.000,250.0,0.222,1.111,0.833,n/a,n/a,0.500"
            ),
            "{summary}"
        );
        let ratio = std::fs::read_to_string(dir.join("plots").join("fanout-ratio.svg"))
            .expect("fanout-ratio.svg");
        assert!(ratio.contains("mrouter / floor"));
        let runs = std::fs::read_to_string(dir.join("runs.csv")).expect("runs.csv");
        assert_eq!(runs.lines().filter(|l| l.contains(",floor,")).count(), 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_goal_below_the_floor_is_called_unreachable() {
        let t = crate::targets::floor_room(
            "fan-out 4",
            300.0,
            400.0,
            &[("1.5x of the tuned sample", 250.0)],
        );
        assert!(t.contains("rx, 3 copies, the rewrite, 4 transmits"), "{t}");
        assert!(t.contains("(mrouter 100 above it)"), "{t}");
        assert!(
            t.contains("allows 250, 50 below the floor: out of reach"),
            "{t}"
        );
        let t = crate::targets::floor_room("fan-out 1", 90.0, 110.0, &[("0.9x of l3fwd", 80.0)]);
        assert!(t.contains("(rx, the rewrite, one transmit,"), "{t}");
    }

    /// 1500 B at fan-out 2: mrouter at 5 Mpps (500 cycles), ipv4_multicast with caches of
    /// 256 at 5.6 (445), the copy floor at 5.9 (427) and the chain floor at `chain` cycles.
    fn sizes1500(chain: Option<f64>) -> Results {
        let mut runs = Vec::new();
        for pair in 0..3 {
            let mut add = |p: &str, mpps: f64, cyc: f64| {
                runs.push(run_in("2-sizes", "1500 B", p, pair, mpps, cyc));
            };
            add("mrouter", 5.0, 500.0);
            add("ipv4_multicast-c256", 5.6, 445.0);
            add("floor", 5.9, 427.0);
            if let Some(c) = chain {
                add("floor-chain", 2500.0 / c, c);
            }
        }
        results_of(runs)
    }

    #[test]
    fn missed_size_target_names_both_floors_and_the_lower() {
        let md = markdown(&sizes1500(Some(460.0)), &[]);
        assert!(md.contains(FLOOR_CHAIN_NOTE), "{md}");
        assert!(
            md.contains(
                "| 1500 B | floor-chain | 3 | 5.43 | 10.87 | 460 | n/a | n/a | n/a | n/a | n/a |"
            ),
            "{md}"
        );
        // 1.3x of the tuned sample: 445 / 1.3 = 342 cycles, 85 below the copy floor (427),
        // itself below the chain floor (460).
        assert!(
            md.contains(
                "The two floors (rx, the rewrite, two transmits, no classification, lookup or \
                 counters): with whole copies (one copy of the frame) 427 cycles, with header \
                 chains (a header mbuf chained to an indirect mbuf over the shared payload) 460; \
                 the lower is the one with whole copies (mrouter 73 above it); 1.3x of the tuned \
                 sample allows 342, 85 below the lower floor (whole copies): below both, out of \
                 reach on these ports for a router that does this much, whether it copies or \
                 chains, even with no classification, lookup or counters at all."
            ),
            "{md}"
        );
        // A chain floor below the copy floor is the lower one.
        let md = markdown(&sizes1500(Some(400.0)), &[]);
        assert!(
            md.contains("the lower is the one with header chains (mrouter 100 above it)"),
            "{md}"
        );
        assert!(
            md.contains("allows 342, 58 below the lower floor (header chains): below both"),
            "{md}"
        );
        // Without a chain floor (a run before it existed) the copy floor's sentence stays.
        let md = markdown(&sizes1500(None), &[]);
        assert!(!md.contains("The two floors"), "{md}");
        assert!(!md.contains(FLOOR_CHAIN_NOTE), "{md}");
        assert!(
            md.contains("The floor (rx, one copy, the rewrite, two transmits,"),
            "{md}"
        );
    }

    #[test]
    fn a_goal_between_the_floors_is_in_reach_only_with_the_lower() {
        let t = crate::targets::floors_room(
            427.0,
            330.0,
            500.0,
            &[("1.3x of the tuned sample", 342.0)],
        );
        assert!(
            t.contains(
                "allows 342, 85 below the floor with whole copies and 12 above the one with \
                 header chains: within reach only with header chains, which leave mrouter's own \
                 classify/lookup/counters 12."
            ),
            "{t}"
        );
        let t = crate::targets::floors_room(300.0, 330.0, 500.0, &[("goal", 342.0)]);
        assert!(
            t.contains(
                "goal allows 342, above both floors: it leaves mrouter's own \
                 classify/lookup/counters 42 with whole copies, 12 with header chains."
            ),
            "{t}"
        );
        assert!(t.contains("(mrouter 200 above it)"), "{t}");
    }

    #[test]
    fn results_from_before_the_floor_still_render() {
        // The checked-in results.json of the last full run (written before the floor existed,
        // or after: either must parse and render).
        let old: Results =
            serde_json::from_str(include_str!("../../../results/results.json")).expect("parse");
        let md = markdown(&old, &[]);
        assert!(md.contains("## 1. Fan-out (64 B)"));
        assert!(md.contains("| mrouter/floor |"));
        // A summary written before the field existed has none.
        let json = r#"{"scenario":"1-fanout","case":"fan-out 1","program":"mrouter","runs_ok":1,
            "rx_mpps":1.0,"tx_mpps":1.0,"cycles_per_packet":100.0,"ratio_vs_testpmd":0.5,
            "ratio_vs_ipv4mc":1.0,"ratio_vs_first_case":null}"#;
        let s: Summary = serde_json::from_str(json).expect("old summary");
        assert_eq!(s.ratio_vs_floor, None);
    }
}
