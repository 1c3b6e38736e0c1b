//! The soak's markdown report (`soak.md`).

use super::evaluate::nonzero;
use serde_json::Value;

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
