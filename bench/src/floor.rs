//! What `mrfloor` is told to do, and the parts of it that need no DPDK: its options, which
//! EAL devices are its ports, and where a frame's group is.
//!
//! `mrfloor` is the benchmark's lower bound for a byte-exact copying multicast router on the
//! benchmark's ports: it receives from port 0 and does only what such a router cannot avoid
//! (see [`Work`]), with no classification, no lookup and no counters of its own.

use clap::{Parser, ValueEnum};

/// The work done on every received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Work {
    /// Every packet to port 1 unchanged (what `dpdk-testpmd --forward-mode=io` does: it
    /// validates the harness).
    Io,
    /// Fan-out 1 with the rewrite every forwarded multicast packet needs: destination MAC
    /// from the group, source MAC of the port, TTL - 1 with the RFC 1624 incremental
    /// checksum update.
    Rewrite,
    /// Fan-out K: the rewrite once, K - 1 whole copies of the frame (fresh mbufs taken in
    /// bulk, as mrouter takes them) each with its port's source MAC, and the received mbuf
    /// itself to the last port.
    Copy,
    /// Fan-out K with the payload shared instead of copied: the rewrite once, then for each
    /// of ports 1..K - 1 a fresh header mbuf (the rewritten Ethernet and IPv4 headers, with
    /// the port's source MAC) chained to an indirect mbuf over the rest of the received
    /// packet (`Mbuf::header_chain`, what mrouter sends above its `COPY_LIMIT`), and the
    /// received mbuf itself to port K, as mrouter and ipv4_multicast (at fan-out 2) do.
    Chain,
}

impl Work {
    /// The option's spelling (`io`, `rewrite`, `copy`, `chain`).
    pub fn name(self) -> &'static str {
        match self {
            Work::Io => "io",
            Work::Rewrite => "rewrite",
            Work::Copy => "copy",
            Work::Chain => "chain",
        }
    }

    /// Whether the work sends to more than one port (copy and chain).
    pub fn fans_out(self) -> bool {
        matches!(self, Work::Copy | Work::Chain)
    }
}

/// `mrfloor [EAL args] -- [these options]`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mrfloor",
    about = "The per-packet floor of a copying multicast router on the given ports: rx on \
             port 0, then only the unavoidable work (io, rewrite, copy or chain) to ports 1..=K"
)]
pub struct Opts {
    /// Sink ports (1..=8): ports 1..=K get the packets.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
    pub fanout: u16,
    /// What is done to every packet (io and rewrite send to port 1 only: fan-out 1).
    #[arg(long, value_enum, default_value_t = Work::Copy)]
    pub work: Work,
    /// Seconds to run; SIGINT or SIGTERM stops it earlier.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// The forwarding lcore.
    #[arg(long, default_value_t = 1)]
    pub lcore: u32,
    /// EAL device names of the ports, source first (default: the `--vdev` devices in the
    /// order of the EAL arguments).
    #[arg(long, value_delimiter = ',')]
    pub ports: Option<Vec<String>>,
}

/// Splits `argv` at the first `--` into the EAL arguments (with `argv[0]`) and mrfloor's own
/// (with `argv[0]` in front, for clap). Without `--` every argument is mrfloor's.
pub fn split_args(argv: &[String]) -> (Vec<String>, Vec<String>) {
    let prog = argv.first().cloned().unwrap_or_else(|| "mrfloor".into());
    match argv.iter().position(|a| a == "--") {
        Some(i) => {
            let mut own = vec![prog];
            own.extend_from_slice(&argv[i + 1..]);
            (argv[..i].to_vec(), own)
        }
        None => {
            let mut own = vec![prog.clone()];
            own.extend(argv.iter().skip(1).cloned());
            (vec![prog], own)
        }
    }
}

/// The names of the `--vdev` devices (`--vdev NAME,args` or `--vdev=NAME,args`) in the order
/// of `eal_args`: the ports EAL creates, in port-id order.
pub fn vdev_names(eal_args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = eal_args.iter();
    while let Some(a) = it.next() {
        let spec = if a == "--vdev" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--vdev=")
        };
        if let Some(spec) = spec {
            let name = spec.split(',').next().unwrap_or_default();
            if !name.is_empty() {
                out.push(name.to_string());
            }
        }
    }
    out
}

impl Opts {
    /// Checks the options together and gives the ports to open: the source, then the K sinks.
    pub fn ports_to_open(&self, eal_args: &[String]) -> Result<Vec<String>, String> {
        if !self.duration.is_finite() || self.duration <= 0.0 {
            return Err(format!(
                "--duration {} is not a positive number of seconds",
                self.duration
            ));
        }
        if !self.work.fans_out() && self.fanout != 1 {
            return Err(format!(
                "--work {} sends to port 1 only; --fanout {} needs --work copy or chain",
                self.work.name(),
                self.fanout
            ));
        }
        let names = self.ports.clone().unwrap_or_else(|| vdev_names(eal_args));
        let need = usize::from(self.fanout) + 1;
        if names.len() < need {
            return Err(format!(
                "fan-out {} needs {need} ports (a source and {} sinks), got {}: {:?} (give them \
                 as --vdev EAL arguments or with --ports)",
                self.fanout,
                self.fanout,
                names.len(),
                names
            ));
        }
        Ok(names[..need].to_vec())
    }
}

/// The IPv4 destination address (the group) of an untagged Ethernet frame, as a host-order
/// integer; 0 when the frame is too short to hold one.
#[inline(always)]
pub fn group_of(frame: &[u8]) -> u32 {
    match frame.get(30..34) {
        Some(g) => u32::from_be_bytes([g[0], g[1], g[2], g[3]]),
        None => 0,
    }
}
