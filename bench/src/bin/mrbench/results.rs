//! What a benchmark run produces: the measured runs, their medians per case and program, the
//! scenarios that did not run, and the whole `results.json`.

use super::programs;
use super::publish;
use super::runner;
use bench::median;

/// One measured run (or a failed attempt).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Run {
    pub scenario: String,
    pub case: String,
    pub program: String,
    pub pair: usize,
    pub ok: bool,
    #[serde(flatten)]
    pub sample: runner::Sample,
    /// TSC cycles per received packet on the forwarding lcore (it polls 100% of the time).
    pub cycles_per_packet: Option<f64>,
    pub error: Option<String>,
    /// mrouter's `STAGES` line (`--stage-cycles`): cycles per packet per loop stage.
    #[serde(default)]
    pub stages: Option<serde_json::Value>,
}

/// Medians over the pairs of one case and program.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub case: String,
    pub program: String,
    pub runs_ok: usize,
    pub rx_mpps: Option<f64>,
    pub tx_mpps: Option<f64>,
    pub cycles_per_packet: Option<f64>,
    /// Median over pairs of mrouter rx Mpps / testpmd rx Mpps (mrouter rows only).
    pub ratio_vs_testpmd: Option<f64>,
    /// Median over pairs of mrouter rx Mpps / ipv4_multicast rx Mpps (mrouter rows only).
    pub ratio_vs_ipv4mc: Option<f64>,
    /// The same against ipv4_multicast with mempool caches of 256.
    #[serde(default)]
    pub ratio_vs_ipv4mc_c256: Option<f64>,
    /// The same against l3fwd (fan-out 1 only).
    #[serde(default)]
    pub ratio_vs_l3fwd: Option<f64>,
    /// The same against `mrfloor` (the lower bound: rewrite at fan-out 1, copies above).
    #[serde(default)]
    pub ratio_vs_floor: Option<f64>,
    /// Scenario 3: median over rounds of rx Mpps / rx Mpps with a 1-entry table.
    pub ratio_vs_first_case: Option<f64>,
}

/// A scenario that did not run, and why.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NotAvailable {
    pub scenario: String,
    pub why: String,
}

/// Everything the report is made of.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Results {
    pub started: String,
    pub quick: bool,
    pub tsc_hz: f64,
    pub pairs: usize,
    pub window_s: f64,
    pub ipv4mc: Option<programs::Ipv4mcBuild>,
    pub runs: Vec<Run>,
    pub summaries: Vec<Summary>,
    pub publish: Vec<publish::PublishCost>,
    pub latency: Vec<serde_json::Value>,
    /// Scenarios 4 and 6: one entry per storm rate (see `storm.rs`).
    pub storm: Vec<serde_json::Value>,
    /// `git rev-parse --short HEAD`, plus `-dirty` when tracked files have changes.
    pub commit: String,
    /// The mrouter binary measured and its modification time (UTC).
    pub mrouter: String,
    pub mrouter_mtime: String,
    pub not_available: Vec<NotAvailable>,
    pub wall_s: f64,
}

pub fn na(s: &str, why: &str) -> NotAvailable {
    NotAvailable {
        scenario: s.into(),
        why: why.into(),
    }
}

pub fn summarize(runs: &[Run]) -> Vec<Summary> {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for r in runs {
        let k = (r.scenario.clone(), r.case.clone(), r.program.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let find = |s: &str, c: &str, p: &str, pair: usize| {
        runs.iter()
            .find(|r| r.scenario == s && r.case == c && r.program == p && r.pair == pair && r.ok)
    };
    keys.iter()
        .map(|(s, c, p)| {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| &r.scenario == s && &r.case == c && &r.program == p && r.ok)
                .collect();
            let col = |f: &dyn Fn(&Run) -> Option<f64>| {
                median(&mine.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
            };
            let ratio = |other: &str| -> Option<f64> {
                if p != "mrouter" {
                    return None;
                }
                let v: Vec<f64> = mine
                    .iter()
                    .filter_map(|r| {
                        let o = find(s, c, other, r.pair)?;
                        (o.sample.rx_mpps > 0.0).then(|| r.sample.rx_mpps / o.sample.rx_mpps)
                    })
                    .collect();
                median(&v)
            };
            let first_case = runs
                .iter()
                .find(|r| &r.scenario == s)
                .map(|r| r.case.clone());
            let vs_first = if s == "3-table" {
                let fc = first_case.unwrap_or_default();
                let v: Vec<f64> = mine
                    .iter()
                    .filter_map(|r| {
                        let o = find(s, &fc, p, r.pair)?;
                        (o.sample.rx_mpps > 0.0).then(|| r.sample.rx_mpps / o.sample.rx_mpps)
                    })
                    .collect();
                median(&v)
            } else {
                None
            };
            Summary {
                scenario: s.clone(),
                case: c.clone(),
                program: p.clone(),
                runs_ok: mine.len(),
                rx_mpps: col(&|r| Some(r.sample.rx_mpps)),
                tx_mpps: col(&|r| Some(r.sample.tx_mpps)),
                cycles_per_packet: col(&|r| r.cycles_per_packet),
                ratio_vs_testpmd: ratio("testpmd-io"),
                ratio_vs_ipv4mc: ratio("ipv4_multicast"),
                ratio_vs_ipv4mc_c256: ratio("ipv4_multicast-c256"),
                ratio_vs_l3fwd: ratio("l3fwd"),
                ratio_vs_floor: ratio("floor"),
                ratio_vs_first_case: vs_first,
            }
        })
        .collect()
}
