//! mcgen's command line and YAML stream file.

use clap::Parser;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// mcgen options (after `--`; EAL arguments come before it).
#[derive(Debug, Parser)]
#[command(
    name = "mcgen",
    about = "DPDK multicast traffic generator: stamped streams out, loss/duplicates/reordering/latency in"
)]
pub struct Opts {
    /// YAML stream file (see bench/README.md); replaces the stream, port and rate flags.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// EAL device name of the transmit port (`net_memif0`, `0000:3b:00.0`).
    #[arg(long)]
    pub tx: Option<String>,
    /// EAL device names of the receive ports (the router's outputs), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub rx: Vec<String>,
    /// First source address.
    #[arg(long, default_value = "10.0.1.2")]
    pub source: Ipv4Addr,
    /// Number of sources (consecutive addresses).
    #[arg(long, default_value_t = 1)]
    pub sources: u32,
    /// First group.
    #[arg(long, default_value = "239.1.1.1")]
    pub group: Ipv4Addr,
    /// Number of groups (consecutive addresses); streams = sources x groups.
    #[arg(long, default_value_t = 1)]
    pub groups: u32,
    /// Frame size including FCS, 64..=1518.
    #[arg(long, default_value_t = 64)]
    pub size: u16,
    /// IPv4 TTL.
    #[arg(long, default_value_t = 64)]
    pub ttl: u8,
    /// 802.1Q VLAN id (untagged when absent).
    #[arg(long)]
    pub vlan: Option<u16>,
    /// Packets per second over all streams (default: line rate, as fast as the tx queue takes).
    #[arg(long)]
    pub pps: Option<f64>,
    /// Seconds of transmission.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds to keep receiving after the last transmit (packets still in flight).
    #[arg(long, default_value_t = 0.5)]
    pub drain: f64,
    /// Seconds to wait for every port's link before transmitting.
    #[arg(long, default_value_t = 5.0)]
    pub link_wait: f64,
    /// EAL lcore of the tx/rx loop (not the main lcore, which prints the live table).
    #[arg(long, default_value_t = 1)]
    pub lcore: u32,
    /// Seconds between live table lines.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No live table (the final report is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Rx and tx queues per port (only tx queue 0 is used; every rx queue is polled). A memif
    /// server accepts no more rings than it has queues: mrouter connects to a memif port with
    /// one queue pair per worker (plus one tx queue if its config asks for more `tx_queues`),
    /// so 1 serves a one-worker mrouter.
    #[arg(long, default_value_t = 1)]
    pub queues: u16,
    /// New sources per second (a miss storm): each new source sends one packet to
    /// `--new-group`, from `--new-source` upwards; its first arrival gives the miss-to-first-
    /// forwarded latency. Established streams run alongside, unchanged.
    #[arg(long)]
    pub new_sources_rate: Option<f64>,
    /// First new source address.
    #[arg(long, default_value = "10.64.0.1")]
    pub new_source: Ipv4Addr,
    /// Group the new sources send to.
    #[arg(long, default_value = "239.2.2.2")]
    pub new_group: Ipv4Addr,
    /// Seconds after the start of transmission when new sources begin.
    #[arg(long, default_value_t = 1.0)]
    pub new_start: f64,
    /// Seconds of new sources (default: until the end of transmission).
    #[arg(long)]
    pub new_duration: Option<f64>,
    /// Groups the new sources take turns on: new source i sends to `--new-group` + (i mod N).
    #[arg(long, default_value_t = 1)]
    pub new_groups: u32,
    /// Seconds to wait after every link is up before transmitting (lets a harness read the
    /// router idle first).
    #[arg(long, default_value_t = 0.0)]
    pub start_delay: f64,
    /// Seconds to keep the ports open (idle) after writing the results, or until a signal: a
    /// memif peer still polling its rings when this side closes them can crash (DPDK 22.11
    /// memif unmaps the regions under it), so a harness stops the peer first.
    #[arg(long, default_value_t = 0.0)]
    pub linger: f64,
    /// IGMP membership churn: send IGMPv2 reports and leaves on this port (one of `--rx`, the
    /// router's interface that runs IGMP), as a host would.
    #[arg(long)]
    pub igmp_port: Option<String>,
    /// Host address the IGMP messages come from (on the router interface's subnet).
    #[arg(long, default_value = "10.0.2.2")]
    pub igmp_host: Ipv4Addr,
    /// First group joined and left.
    #[arg(long, default_value = "239.3.0.1")]
    pub igmp_group: Ipv4Addr,
    /// Groups in the cycle: reports for groups 0..N in turn, then leaves for 0..N, again.
    #[arg(long, default_value_t = 64)]
    pub igmp_groups: u32,
    /// IGMP messages per second (each group stays joined, then left, for N / rate seconds).
    /// At the end of transmission every group still joined is left.
    #[arg(long, default_value_t = 20.0)]
    pub igmp_rate: f64,
}

/// The YAML stream file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Transmit port.
    pub tx: String,
    /// Receive ports.
    #[serde(default)]
    pub rx: Vec<String>,
    /// Packets per second over all streams; absent = line rate.
    pub pps: Option<f64>,
    /// Seconds of transmission.
    pub duration: Option<f64>,
    /// Stream sets.
    pub streams: Vec<StreamSet>,
}

/// A set of streams: sources x groups with the same size, TTL and VLAN.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSet {
    pub source: Ipv4Addr,
    #[serde(default = "one")]
    pub sources: u32,
    pub group: Ipv4Addr,
    #[serde(default = "one")]
    pub groups: u32,
    #[serde(default = "size64")]
    pub size: u16,
    #[serde(default = "ttl64")]
    pub ttl: u8,
    pub vlan: Option<u16>,
}

fn one() -> u32 {
    1
}
fn size64() -> u16 {
    64
}
fn ttl64() -> u8 {
    64
}

/// What to run, from the flags or the file.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tx: String,
    pub rx: Vec<String>,
    pub pps: Option<f64>,
    pub duration: f64,
    pub sets: Vec<StreamSet>,
}

/// Streams above this count are refused (the stamp's stream id is 16 bits; the last id,
/// [`bench::stamp::NEW_FLOW`], marks new-source packets).
pub const MAX_STREAMS: u64 = 65_535;

pub fn plan(o: &Opts) -> Result<Plan, String> {
    let p = match &o.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let f: File =
                serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Plan {
                tx: f.tx,
                rx: f.rx,
                pps: f.pps,
                duration: f.duration.unwrap_or(o.duration),
                sets: f.streams,
            }
        }
        None => Plan {
            tx: o
                .tx
                .clone()
                .ok_or("--tx PORT (or --config FILE) is required")?,
            rx: o.rx.clone(),
            pps: o.pps,
            duration: o.duration,
            sets: vec![StreamSet {
                source: o.source,
                sources: o.sources,
                group: o.group,
                groups: o.groups,
                size: o.size,
                ttl: o.ttl,
                vlan: o.vlan,
            }],
        },
    };
    let n: u64 = p
        .sets
        .iter()
        .map(|s| u64::from(s.sources) * u64::from(s.groups))
        .sum();
    if n == 0 || n > MAX_STREAMS {
        return Err(format!("{n} streams: need 1 to {MAX_STREAMS}"));
    }
    for s in &p.sets {
        if !(64..=1518).contains(&s.size) {
            return Err(format!(
                "size {}: must be 64..=1518 (frame with FCS)",
                s.size
            ));
        }
        if !s.group.is_multicast() {
            return Err(format!("{} is not a multicast group", s.group));
        }
        if s.vlan.is_some_and(|v| v == 0 || v > 4094) {
            return Err("vlan must be 1..=4094".into());
        }
    }
    if p.pps.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("pps must be positive".into());
    }
    if p.duration.is_nan() || p.duration <= 0.0 {
        return Err("duration must be positive".into());
    }
    Ok(p)
}
