//! What a soak run does: its duration, rates and limits.

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
