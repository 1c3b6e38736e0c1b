//! The report's targets section: each of the data-plane issue's targets with what the run
//! measured, and for a missed one the figures that show where the time goes.

use super::results::Results;
use std::fmt::Write as _;

/// Median over the runs of `program` in the stage scenario's `case` of one STAGES field.
pub fn stage_median(r: &Results, case: &str, field: &str) -> Option<f64> {
    let v: Vec<f64> = r
        .runs
        .iter()
        .filter(|x| x.scenario == "7-stages" && x.case == case && x.ok)
        .filter_map(|x| x.stages.as_ref()?.get(field)?.as_f64())
        .collect();
    bench::median(&v)
}

/// The data-plane issue's targets, each with what this run measured and whether it is met (or
/// by how much it is missed). Rows whose scenario did not run say so.
pub fn targets(m: &mut String, r: &Results) {
    let mrouter = |scenario: &str, case: &str| {
        r.summaries
            .iter()
            .find(|s| s.scenario == scenario && s.case == case && s.program == "mrouter")
    };
    // (target, measured, goal, at least (true) or at most (false))
    let mut rows: Vec<(&str, Option<f64>, f64, bool, String)> = Vec::new();
    let x = |v: Option<f64>| v.map_or("n/a".into(), |x| format!("{x:.2}x"));
    for (scenario, case, what, goal, vs) in [
        ("1-fanout", "fan-out 1", "fan-out 1 vs l3fwd", 0.9, "l3fwd"),
        (
            "1-fanout",
            "fan-out 1",
            "fan-out 1 vs ipv4_multicast as shipped",
            1.3,
            "stock",
        ),
        (
            "1-fanout",
            "fan-out 2",
            "fan-out 2 vs ipv4_multicast, caches of 256",
            1.5,
            "c256",
        ),
        (
            "1-fanout",
            "fan-out 2",
            "fan-out 2 vs ipv4_multicast as shipped",
            2.0,
            "stock",
        ),
        (
            "1-fanout",
            "fan-out 4",
            "fan-out 4 vs ipv4_multicast, caches of 256",
            1.5,
            "c256",
        ),
        (
            "1-fanout",
            "fan-out 4",
            "fan-out 4 vs ipv4_multicast as shipped",
            2.0,
            "stock",
        ),
        (
            "2-sizes",
            "1500 B",
            "1500 B, fan-out 2 vs ipv4_multicast, caches of 256",
            1.3,
            "c256",
        ),
    ] {
        let v = mrouter(scenario, case).and_then(|s| match vs {
            "l3fwd" => s.ratio_vs_l3fwd,
            "c256" => s.ratio_vs_ipv4mc_c256,
            _ => s.ratio_vs_ipv4mc,
        });
        rows.push((what, v, goal, true, x(v)));
    }
    let table = mrouter("3-table", "1M (S,G)").and_then(|s| s.ratio_vs_first_case);
    rows.push((
        "1M entries vs 1 entry",
        table,
        0.7,
        true,
        table.map_or("n/a".into(), |x| format!("{x:.2}x")),
    ));
    let p50 = |n: usize| {
        r.publish
            .iter()
            .find(|p| p.entries == n)
            .map(|p| p.publish_us_p50)
    };
    let publish = p50(1 << 20).zip(p50(1024));
    rows.push((
        "publish one change, 1M vs 1k entries (p50)",
        publish.map(|(a, b)| a / b.max(1e-3)),
        2.0,
        false,
        publish.map_or("n/a".into(), |(a, b)| {
            format!("{a:.1} us vs {b:.1} us = {:.2}x", a / b.max(1e-3))
        }),
    ));
    let storm = r.storm.iter().find(|v| v["rate"] == 10_000);
    let miss = storm.and_then(|v| v["new_sources"]["first_latency_ns"]["p99"].as_f64());
    let own = storm.and_then(|v| v["control_final"]["miss_to_install_us_p99"].as_u64());
    rows.push((
        "miss to first forwarded, p99 at 10k new flows/s (us)",
        miss.map(|ns| ns / 1e3),
        100.0,
        false,
        miss.map_or("n/a".into(), |ns| {
            format!(
                "{:.0} us end to end ({} us mrouter's own part)",
                ns / 1e3,
                own.map_or("n/a".into(), |u| u.to_string())
            )
        }),
    ));
    let _ = writeln!(
        m,
        "## Targets (data-plane issue)
"
    );
    let _ = writeln!(
        m,
        "Each target with this run's figure. More on the missed ones: the top-level README's \
         Benchmarks section and `bench/README.md`.\n"
    );
    let _ = writeln!(m, "| target | goal | this run | verdict |");
    let _ = writeln!(m, "|---|---|---|---|");
    for (what, v, goal, at_least, shown) in rows {
        let goal_text = if at_least {
            format!(">= {goal}")
        } else {
            format!("<= {goal}")
        };
        let verdict = match v {
            None => "not measured in this run".to_string(),
            Some(x) if (at_least && x >= goal) || (!at_least && x <= goal) => "met".into(),
            Some(x) if at_least => format!("missed: {:.0}% of the goal", 100.0 * x / goal),
            Some(x) => format!("missed: {:.1}x the goal", x / goal),
        };
        let _ = writeln!(m, "| {what} | {goal_text} | {shown} | {verdict} |");
    }
    m.push('\n');
    let why = missed_why(r);
    if !why.is_empty() {
        let _ = writeln!(
            m,
            "Why the missed ones are missed, from this run's own figures:\n"
        );
        for w in why {
            let _ = writeln!(m, "- {w}");
        }
        m.push('\n');
    }
}

/// For each missed target, the figures of this run that show where the time goes.
fn missed_why(r: &Results) -> Vec<String> {
    let summary = |scenario: &str, case: &str, program: &str| {
        r.summaries
            .iter()
            .find(|s| s.scenario == scenario && s.case == case && s.program == program)
    };
    let cycles = |case: &str, program: &str| {
        summary("1-fanout", case, program).and_then(|s| s.cycles_per_packet)
    };
    let mrouter = |scenario: &str, case: &str| summary(scenario, case, "mrouter");
    let stage = |case: &str, field: &str| stage_median(r, case, field);
    // The stage budget of a case as "rx A, tx B (the PMDs); classify C, lookup D, counters E,
    // replicate F (mrouter's own)".
    let budget = |case: &str| -> Option<(f64, f64, String)> {
        let pmd = stage(case, "rx")? + stage(case, "tx")?;
        let own = stage(case, "classify")?
            + stage(case, "lookup")?
            + stage(case, "counters")?
            + stage(case, "replicate")?;
        let text = format!(
            "the stage budget (scenario 7) puts {:.0} cycles in the PMDs (rx {:.0}: the pcap \
             source's copy into a fresh mbuf; tx {:.0}: the null sink's free of every mbuf) and \
             {own:.0} in mrouter's own stages (classify {:.0}, lookup {:.0}, counters {:.0}, \
             replicate {:.0}), turn {:.0}",
            pmd,
            stage(case, "rx")?,
            stage(case, "tx")?,
            stage(case, "classify")?,
            stage(case, "lookup")?,
            stage(case, "counters")?,
            stage(case, "replicate")?,
            stage(case, "turn")?,
        );
        Some((pmd, own, text))
    };
    // What the floor (`mrfloor`, measured in the same case) leaves mrouter under a goal that
    // allows `allowed` cycles per packet: "" when the floor did not run.
    let floor = |scenario: &str, case: &str, goals: &[(&str, f64)]| -> String {
        let cyc = |p: &str| summary(scenario, case, p).and_then(|s| s.cycles_per_packet);
        let (Some(f), Some(m)) = (cyc("floor"), cyc("mrouter")) else {
            return String::new();
        };
        floor_room(case, f, m, goals)
    };
    let mut why = Vec::new();
    if let (Some(x), Some(m1), Some(l1), Some(t1)) = (
        mrouter("1-fanout", "fan-out 1").and_then(|s| s.ratio_vs_l3fwd),
        cycles("fan-out 1", "mrouter"),
        cycles("fan-out 1", "l3fwd"),
        cycles("fan-out 1", "testpmd-io"),
    ) {
        if x < 0.9 {
            // Within scenario 7's own rounds (mrouter plain and l3fwd side by side): what
            // mrouter's stages may take at 0.9x of l3fwd, given what the rest takes there.
            let in_stages =
                |p: &str| summary("7-stages", "fan-out 1", p).and_then(|s| s.cycles_per_packet);
            let detail = budget("fan-out 1").map_or(String::new(), |(_, own, t)| {
                let allowed = match (in_stages("mrouter"), in_stages("l3fwd")) {
                    (Some(m7), Some(l7)) => {
                        let fit = own - (m7 - l7 / 0.9);
                        if fit > 0.0 {
                            format!(
                                " 0.9x of l3fwd means at most {:.0} cycles in those rounds (mrouter \
                                 {m7:.0}), so mrouter's own stages would have to fit in about \
                                 {fit:.0} instead of {own:.0}.",
                                l7 / 0.9
                            )
                        } else {
                            format!(
                                " 0.9x of l3fwd means at most {:.0} cycles in those rounds (mrouter \
                                 {m7:.0}): more than all of mrouter's own stages ({own:.0}) would \
                                 have to go.",
                                l7 / 0.9
                            )
                        }
                    }
                    _ => String::new(),
                };
                format!(" Per packet {t}.{allowed}")
            });
            why.push(format!(
                "fan-out 1 vs l3fwd: testpmd io takes {t1:.0} cycles per packet (rx to tx, the \
                 packet never read), l3fwd {l1:.0} ({:.0} for its own work: LPM lookup four \
                 packets at a time, TTL - 1 and checksum + 1 without verifying it, MAC rewrite, \
                 no per-flow counters), mrouter {m1:.0} ({:.0} above testpmd: the common-shape \
                 check including the header checksum in software (none of these ports checks \
                 it), the (S,G) lookup, exact per-entry packet/byte/per-OIF counters, the \
                 rewrite).{detail}{}",
                l1 - t1,
                m1 - t1,
                floor("1-fanout", "fan-out 1", &[("0.9x of l3fwd", l1 / 0.9)])
            ));
        }
    }
    if let (Some(x), Some(m1), Some(s1)) = (
        mrouter("1-fanout", "fan-out 1").and_then(|s| s.ratio_vs_ipv4mc),
        cycles("fan-out 1", "mrouter"),
        cycles("fan-out 1", "ipv4_multicast"),
    ) {
        if x < 1.3 {
            why.push(format!(
                "fan-out 1 vs ipv4_multicast as shipped: mrouter {m1:.0} cycles per packet, \
                 ipv4_multicast {s1:.0} (a hash lookup of the group, no TTL check or \
                 decrement); 1.3x of it means {:.0}.{}",
                s1 / 1.3,
                floor(
                    "1-fanout",
                    "fan-out 1",
                    &[("1.3x of the stock sample", s1 / 1.3)]
                )
            ));
        }
    }
    for (case, goal_stock, goal_c256) in [("fan-out 2", 2.0, 1.5), ("fan-out 4", 2.0, 1.5)] {
        let Some(s) = mrouter("1-fanout", case) else {
            continue;
        };
        let (stock, c256) = (s.ratio_vs_ipv4mc, s.ratio_vs_ipv4mc_c256);
        let missed = stock.is_some_and(|x| x < goal_stock) || c256.is_some_and(|x| x < goal_c256);
        if !missed {
            continue;
        }
        let (Some(m), Some(c)) = (cycles(case, "mrouter"), cycles(case, "ipv4_multicast-c256"))
        else {
            continue;
        };
        // The missed goals in cycles per packet: the reference's cycles over the ratio.
        let mut goals = Vec::new();
        if c256.is_some_and(|x| x < goal_c256) {
            goals.push(("1.5x of the tuned sample", c / goal_c256));
        }
        if let Some(st) =
            cycles(case, "ipv4_multicast").filter(|_| stock.is_some_and(|x| x < goal_stock))
        {
            goals.push(("2x of the stock sample", st / goal_stock));
        }
        let detail = budget(case).map_or(String::new(), |(pmd, own, t)| {
            format!(
                " Per packet {t}: the PMDs alone take {pmd:.0}, {:.0}% of what 1.5x of the \
                 tuned sample allows ({:.0}).",
                100.0 * pmd / (c / 1.5),
                c / 1.5
            ) + &format!(" mrouter's own stages: {own:.0}.")
        });
        why.push(format!(
            "{case}: mrouter takes {m:.0} cycles per input packet, ipv4_multicast with caches of \
             256 {c:.0} (it shares the payload: an indirect mbuf and a header mbuf per port, no \
             copy of the data and no TTL check); 1.5x of it means {:.0}. Every extra port costs \
             mrouter a fresh mbuf, a copy of the frame, its transmit and the sink's free of it.{detail}{}",
            c / 1.5,
            floor("1-fanout", case, &goals),
        ));
    }
    if let (Some(s), Some(m)) = (
        mrouter("2-sizes", "1500 B"),
        summary("2-sizes", "1500 B", "mrouter").and_then(|s| s.cycles_per_packet),
    ) {
        if s.ratio_vs_ipv4mc_c256.is_some_and(|x| x < 1.3) {
            let c = summary("2-sizes", "1500 B", "ipv4_multicast-c256")
                .and_then(|s| s.cycles_per_packet);
            why.push(format!(
                "1500 B, fan-out 2: mrouter {m:.0} cycles per packet, ipv4_multicast with caches \
                 of 256 {}: mrouter copies the frame whole for the extra port (below COPY_LIMIT), \
                 ipv4_multicast chains a header mbuf to a clone of the payload; the pcap source's \
                 copy of 1500 bytes into each fresh mbuf dominates both (the stage budget's rx).{}",
                c.map_or("n/a".into(), |c| format!("{c:.0}")),
                c.map_or(String::new(), |c| {
                    let goals = [("1.3x of the tuned sample", c / 1.3)];
                    let cyc =
                        |p: &str| summary("2-sizes", "1500 B", p).and_then(|s| s.cycles_per_packet);
                    match (cyc("floor"), cyc("floor-chain")) {
                        (Some(copy), Some(chain)) => floors_room(copy, chain, m, &goals),
                        _ => floor("2-sizes", "1500 B", &goals),
                    }
                })
            ));
        }
    }
    if let Some(v) = r.storm.iter().find(|v| v["rate"] == 10_000) {
        let l = &v["new_sources"]["first_latency_ns"];
        let c = &v["control_final"];
        if let (Some(p99), Some(p50), Some(own50), Some(own99)) = (
            l["p99"].as_f64(),
            l["p50"].as_f64(),
            c["miss_to_install_us_p50"].as_u64(),
            c["miss_to_install_us_p99"].as_u64(),
        ) {
            if p99 > 100_000.0 {
                why.push(format!(
                    "miss to first forwarded at 10k/s: end to end p50 {:.0} us, p99 {:.0} us; \
                     mrouter's own part (`miss_to_install_us` in show stats: worker turn to \
                     publication) p50 {own50} us, p99 {own99} us. Its p50 is mostly the \
                     control core's wake-up (`wake-floor` measures this machine's floor); the \
                     rest of the end-to-end figure is the memif links and mcgen, which shares \
                     CPU 0 with mrouter's control core on a 2-vCPU machine.",
                    p50 / 1e3,
                    p99 / 1e3
                ));
            }
        }
    }
    why
}

/// What the floor does per input packet in a fan-out case ("fan-out K" or a size case, which
/// runs at fan-out 2).
fn floor_does(case: &str) -> String {
    let k: usize = case
        .strip_prefix("fan-out ")
        .and_then(|k| k.parse().ok())
        .unwrap_or(2);
    match k {
        1 => "rx, the rewrite, one transmit, no classification, lookup or counters".into(),
        2 => {
            "rx, one copy, the rewrite, two transmits, no classification, lookup or counters".into()
        }
        k => format!(
            "rx, {} copies, the rewrite, {k} transmits, no classification, lookup or counters",
            k - 1
        ),
    }
}

/// The floor's sentence for a missed target in `case`: the floor takes `floor` cycles per
/// packet, mrouter `mrouter`; each goal (e.g. "1.5x of the tuned sample") allows some cycles
/// per packet, of which what is above the floor is all mrouter's classification, lookup and
/// counters may take; a goal below the floor is out of reach on these ports.
pub fn floor_room(case: &str, floor: f64, mrouter: f64, goals: &[(&str, f64)]) -> String {
    let mut t = format!(
        " The floor ({}) takes {floor:.0} cycles (mrouter {:.0} above it)",
        floor_does(case),
        mrouter - floor
    );
    for (goal, allowed) in goals {
        if *allowed >= floor {
            let _ = write!(
                t,
                "; {goal} allows {allowed:.0}, which leaves mrouter's own \
                 classify/lookup/counters {:.0}",
                allowed - floor
            );
        } else {
            let _ = write!(
                t,
                "; {goal} allows {allowed:.0}, {:.0} below the floor: out of reach on these \
                 ports for a router that does this much, even with no classification, lookup or \
                 counters at all",
                floor - allowed
            );
        }
    }
    t.push('.');
    t
}

/// The floors' sentence for a missed target at fan-out 2 where both ways of sending the extra
/// copy were measured: `copy` cycles per packet for the floor with a whole copy, `chain` for
/// the one with a header chained to the shared payload, `mrouter` for mrouter; each goal is
/// held against both, and a goal below the lower of the two is out of reach on these ports
/// whichever way a router sends its copies.
pub fn floors_room(copy: f64, chain: f64, mrouter: f64, goals: &[(&str, f64)]) -> String {
    let (copies, chains) = ("whole copies", "header chains");
    let ((lower_name, lower), (higher_name, higher)) = if copy <= chain {
        ((copies, copy), (chains, chain))
    } else {
        ((chains, chain), (copies, copy))
    };
    let mut t = format!(
        " The two floors (rx, the rewrite, two transmits, no classification, lookup or \
         counters): with whole copies (one copy of the frame) {copy:.0} cycles, with header \
         chains (a header mbuf chained to an indirect mbuf over the shared payload) \
         {chain:.0}; the lower is the one with {lower_name} (mrouter {:.0} above it)",
        mrouter - lower
    );
    for (goal, allowed) in goals {
        if *allowed >= higher {
            let _ = write!(
                t,
                "; {goal} allows {allowed:.0}, above both floors: it leaves mrouter's own \
                 classify/lookup/counters {:.0} with {lower_name}, {:.0} with {higher_name}",
                allowed - lower,
                allowed - higher
            );
        } else if *allowed >= lower {
            let _ = write!(
                t,
                "; {goal} allows {allowed:.0}, {:.0} below the floor with {higher_name} and \
                 {:.0} above the one with {lower_name}: within reach only with {lower_name}, \
                 which leave mrouter's own classify/lookup/counters {:.0}",
                higher - allowed,
                allowed - lower,
                allowed - lower
            );
        } else {
            let _ = write!(
                t,
                "; {goal} allows {allowed:.0}, {:.0} below the lower floor ({lower_name}): \
                 below both, out of reach on these ports for a router that does this much, \
                 whether it copies or chains, even with no classification, lookup or counters \
                 at all",
                lower - allowed
            );
        }
    }
    t.push('.');
    t
}
