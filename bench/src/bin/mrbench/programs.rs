//! The programs under test, their command lines and inputs: mrouter, `dpdk-testpmd
//! --forward-mode=io` (the limit: rx to tx with no work), DPDK's `l3fwd` router sample (LPM,
//! RFC 1812 checks, TTL - 1, checksum update, MAC rewrite: what a unicast router does per packet)
//! and DPDK's ipv4_multicast sample, stock and with its mempool caches raised to 256 (all built at
//! bench time into a temporary directory, never copied into this repository).

use super::runner::Measure;
use bench::frames;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Program {
    /// This project's router.
    Mrouter,
    /// The same with `--stage-cycles` (the per-stage budget; the TSC reads cost a little).
    MrouterStages,
    /// `dpdk-testpmd --forward-mode=io`.
    Testpmd,
    /// DPDK's ipv4_multicast example.
    Ipv4Multicast,
    /// DPDK's ipv4_multicast example with its three mempools' per-lcore caches raised from 32
    /// to 256 (the one-line tuning a user tries first).
    Ipv4MulticastCache256,
    /// DPDK's l3fwd example (LPM mode, `--parse-ptype`), forwarding unicast frames.
    L3fwd,
    /// `mrfloor`: only what a byte-exact copying multicast router cannot avoid on these ports
    /// (`--work rewrite` at fan-out 1, `--work copy` above), the lower bound for mrouter.
    Floor,
    /// `mrfloor --work chain`: the same with the payload shared (K - 1 header mbufs chained
    /// to indirect mbufs over the received packet, and the received mbuf), the lower bound
    /// of the scheme ipv4_multicast and mrouter above its `COPY_LIMIT` use.
    FloorChain,
}

impl Program {
    pub fn name(self) -> &'static str {
        match self {
            Program::Mrouter => "mrouter",
            Program::MrouterStages => "mrouter-stages",
            Program::Testpmd => "testpmd-io",
            Program::Ipv4Multicast => "ipv4_multicast",
            Program::Ipv4MulticastCache256 => "ipv4_multicast-c256",
            Program::L3fwd => "l3fwd",
            Program::Floor => "floor",
            Program::FloorChain => "floor-chain",
        }
    }
}

/// Paths and options shared by every run.
#[derive(Debug, Clone)]
pub struct Env {
    pub mrouter: PathBuf,
    pub testpmd: PathBuf,
    /// The patched ipv4_multicast build, if it built.
    pub ipv4mc: Option<PathBuf>,
    /// The patched ipv4_multicast build with mempool caches of 256, if it built.
    pub ipv4mc_c256: Option<PathBuf>,
    /// The patched l3fwd build, if it built.
    pub l3fwd: Option<PathBuf>,
    /// The `mrfloor` binary, if it exists.
    pub floor: Option<PathBuf>,
    pub work: PathBuf,
    pub logs: PathBuf,
}

/// Frames in a pcap source for the throughput scenarios (the pcap PMD preloads them into the
/// program's own mbuf pool, so this stays well below every pool size).
pub const SOURCE_FRAMES: usize = 512;
/// Sources per pcap (16 senders, as in the project's feasibility measurements).
pub const SOURCES: u32 = 16;
/// First sender address (on the source port's subnet 10.0.1.0/24).
pub const FIRST_SOURCE: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);

/// ipv4_multicast maps 224.0.0.101 + (mask - 1) to port mask `mask` (0x1..0xF): sinks are its
/// ports 0.. and the source comes last, so fan-out k uses mask (1 << k) - 1.
pub fn ipv4mc_group(fanout: usize) -> Option<Ipv4Addr> {
    match fanout {
        1..=4 => Some(Ipv4Addr::new(224, 0, 0, 100 + ((1u8 << fanout) - 1))),
        _ => None,
    }
}

/// Writes (once) a pcap of `SOURCE_FRAMES` frames of `size` bytes to `group`.
pub fn source_pcap(env: &Env, group: Ipv4Addr, size: u16) -> std::io::Result<PathBuf> {
    let path = env.work.join(format!("src-{group}-{size}.pcap"));
    if !path.exists() {
        let f = frames::pcap_frames(FIRST_SOURCE, SOURCES, group, 1, size, SOURCE_FRAMES);
        dataplane::pcap::write_file(&path, &f)?;
    }
    Ok(path)
}

/// l3fwd's built-in LPM table routes 198.18.1.0/24 to its port 1 (RFC 2544's benchmarking
/// range); l3fwd gets the same frames as mrouter (size, senders, count) sent there, unicast.
pub const L3FWD_DEST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);

/// Writes (once) a pcap spreading `frames` frames evenly over a table of `entries` (S,G)
/// entries made by [`table_entry`].
pub fn table_pcap(env: &Env, entries: usize, n: usize, size: u16) -> std::io::Result<PathBuf> {
    let path = env.work.join(format!("table-{entries}-{n}-{size}.pcap"));
    if !path.exists() {
        let f: Vec<Vec<u8>> = (0..n)
            .map(|k| {
                let (s, g) = table_entry(k * entries / n);
                frames::template(&frames::FrameSpec {
                    source: s,
                    group: g,
                    ttl: 64,
                    size,
                    vlan: None,
                })
            })
            .collect();
        dataplane::pcap::write_file(&path, &f)?;
    }
    Ok(path)
}

/// The i-th (S,G) entry of a generated table: 16 senders, groups 239.1.0.0 upwards.
pub fn table_entry(i: usize) -> (Ipv4Addr, Ipv4Addr) {
    (
        frames::add(FIRST_SOURCE, (i % 16) as u32),
        frames::add(Ipv4Addr::new(239, 1, 0, 0), i as u32),
    )
}

/// An mrouter config: port 0 = the pcap source, ports 1..=fanout = null sinks. `routes` is
/// either one (*,G) route for `group` or `Some(n)` generated (S,G) routes to sink 1.
pub fn mrouter_config(
    env: &Env,
    name: &str,
    source_device: &str,
    fanout: usize,
    group: Ipv4Addr,
    sg_routes: Option<usize>,
) -> std::io::Result<PathBuf> {
    let path = env.work.join(format!("{name}.yaml"));
    if path.exists() {
        return Ok(path);
    }
    let mut y = String::from("# generated by mrbench\nports:\n");
    let _ = writeln!(y, "  - {{ name: p0, device: \"{source_device}\" }}");
    for i in 1..=fanout {
        let _ = writeln!(y, "  - {{ name: p{i}, device: \"net_null{i},no-rx=1\" }}");
    }
    y.push_str("interfaces:\n");
    for i in 0..=fanout {
        let _ = writeln!(
            y,
            "  - {{ name: if{i}, port: p{i}, address: 10.0.{}.1/24, kernel_twin: false }}",
            i + 1
        );
    }
    y.push_str("workers: [1]\nroutes:\n");
    match sg_routes {
        None => {
            let oifs: Vec<String> = (1..=fanout)
                .map(|i| format!("{{interface: if{i}}}"))
                .collect();
            let _ = writeln!(
                y,
                "  - {{ group: {group}, iif: if0, oifs: [{}] }}",
                oifs.join(", ")
            );
        }
        Some(n) => {
            y.reserve(n * 80);
            for i in 0..n {
                let (s, g) = table_entry(i);
                let _ = writeln!(
                    y,
                    "  - {{group: {g}, source: {s}, iif: if0, oifs: [{{interface: if1}}]}}"
                );
            }
        }
    }
    std::fs::write(&path, y)?;
    Ok(path)
}

/// mrouter: main lcore 0 (sleeps), worker on lcore 1.
pub fn mrouter_argv(env: &Env, prefix: &str, config: &Path, duration: f64) -> Vec<String> {
    vec![
        env.mrouter.display().to_string(),
        "-l".into(),
        "0,1".into(),
        "--file-prefix".into(),
        prefix.into(),
        "--no-pci".into(),
        "--".into(),
        "--config".into(),
        config.display().to_string(),
        "--duration".into(),
        format!("{duration:.0}"),
    ]
}

/// The floor's work at `fanout`: the rewrite alone at fan-out 1, whole copies above.
pub fn floor_work(fanout: usize) -> bench::floor::Work {
    if fanout == 1 {
        bench::floor::Work::Rewrite
    } else {
        bench::floor::Work::Copy
    }
}

/// `mrfloor` on mrouter's ports (the pcap source `source_device` as port 0, null sinks
/// `net_null1..=fanout` as ports 1..=fanout, as in [`mrouter_config`]), lcores 0 (main) and 1
/// (forwarding), doing `work` ([`floor_work`] for the floor, `chain` for the chain floor) for
/// `duration` seconds.
pub fn floor_argv(
    exe: &Path,
    prefix: &str,
    source_device: &str,
    fanout: usize,
    work: bench::floor::Work,
    duration: f64,
) -> (Vec<String>, Measure) {
    let mut argv: Vec<String> = vec![
        exe.display().to_string(),
        "-l".into(),
        "0,1".into(),
        "--no-pci".into(),
        "--file-prefix".into(),
        prefix.into(),
        "--vdev".into(),
        source_device.into(),
    ];
    for i in 1..=fanout {
        argv.push("--vdev".into());
        argv.push(format!("net_null{i},no-rx=1"));
    }
    argv.extend([
        "--".into(),
        "--fanout".into(),
        fanout.to_string(),
        "--work".into(),
        work.name().into(),
        "--duration".into(),
        format!("{duration:.0}"),
    ]);
    (
        argv,
        measure(fanout as u16 + 1, 0, (1..=fanout as u16).collect()),
    )
}

/// A reference program's command line on the two-port setup: `exe` on `lcores`, the pcap
/// source as port 0 and one null sink as port 1, then the program's own `args`.
fn pcap_to_null_argv(
    exe: &Path,
    lcores: &str,
    prefix: &str,
    pcap: &Path,
    args: &[&str],
) -> (Vec<String>, Measure) {
    let mut argv: Vec<String> = vec![
        exe.display().to_string(),
        "-l".into(),
        lcores.into(),
        "--no-pci".into(),
        "--file-prefix".into(),
        prefix.into(),
        "--vdev".into(),
        format!("net_pcap0,rx_pcap={},infinite_rx=1", pcap.display()),
        "--vdev".into(),
        "net_null1,no-rx=1".into(),
        "--".into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    (argv, measure(2, 0, vec![1]))
}

/// testpmd io forwarding from the pcap source (port 0) to one null sink (port 1); the
/// forwarding lcore is 1, as for mrouter.
pub fn testpmd_argv(env: &Env, prefix: &str, pcap: &Path) -> (Vec<String>, Measure) {
    pcap_to_null_argv(
        &env.testpmd,
        "0,1",
        prefix,
        pcap,
        &[
            "--forward-mode=io",
            "--auto-start",
            "--stats-period",
            "1",
            "--total-num-mbufs=32768",
        ],
    )
}

/// l3fwd on lcore 1 polling both ports: the pcap source is port 0, the null sink port 1 (its
/// LPM route for [`L3FWD_DEST`]), as for mrouter and testpmd.
pub fn l3fwd_argv(exe: &Path, prefix: &str, pcap: &Path) -> (Vec<String>, Measure) {
    pcap_to_null_argv(
        exe,
        "1",
        prefix,
        pcap,
        &["-p", "0x3", "--config", "(0,0,1),(1,0,1)", "--parse-ptype"],
    )
}

/// ipv4_multicast on lcore 1 polling every port: sinks `net_null0..k-1`, the pcap source last.
pub fn ipv4mc_argv(exe: &Path, prefix: &str, pcap: &Path, fanout: usize) -> (Vec<String>, Measure) {
    let mut argv = vec![
        exe.display().to_string(),
        "-l".into(),
        "1".into(),
        "--no-pci".into(),
        "--file-prefix".into(),
        prefix.into(),
    ];
    for i in 0..fanout {
        argv.push("--vdev".into());
        argv.push(format!("net_null{i},no-rx=1"));
    }
    argv.push("--vdev".into());
    argv.push(format!(
        "net_pcap{fanout},rx_pcap={},infinite_rx=1",
        pcap.display()
    ));
    let nports = fanout + 1;
    argv.extend([
        "--".into(),
        "-p".into(),
        format!("{:#x}", (1u32 << nports) - 1),
        "-q".into(),
        nports.to_string(),
    ]);
    (
        argv,
        measure(nports as u16, fanout as u16, (0..fanout as u16).collect()),
    )
}

fn measure(ports: u16, source: u16, sinks: Vec<u16>) -> Measure {
    Measure {
        ports,
        source,
        sinks,
        warmup: Default::default(),
        window: Default::default(),
        start_timeout: Default::default(),
    }
}

/// Outcome of building the reference samples: the stock ipv4_multicast's fate on these ports and
/// the patched binaries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ipv4mcBuild {
    pub stock_result: String,
    pub patched: Option<PathBuf>,
    pub label: String,
    /// ipv4_multicast with the offload mask and mempool caches of 256.
    #[serde(default)]
    pub cache256: Option<PathBuf>,
    /// l3fwd with its offloads masked by the ports' capabilities.
    #[serde(default)]
    pub l3fwd: Option<PathBuf>,
    /// Why a reference could not be built (empty when all built).
    #[serde(default)]
    pub build_errors: Vec<String>,
}

/// Replaces `anchor` (which must occur exactly once in `text`) by `with`.
fn patch_once(text: &str, anchor: &str, with: &str) -> Result<String, String> {
    match text.matches(anchor).count() {
        1 => Ok(text.replace(anchor, with)),
        n => Err(format!("patch anchor found {n} times: {anchor:?}")),
    }
}

/// Copies the sample `name` (and the examples' shared `common/` headers, which l3fwd's
/// Makefile includes as `../common`) into `work/<dir>/`, applies `patch` to its main.c and runs
/// make. Returns the binary.
fn build_sample(
    work: &Path,
    name: &str,
    dir: &str,
    patch: &dyn Fn(&str) -> Result<String, String>,
) -> Result<PathBuf, String> {
    let examples = Path::new("/usr/share/dpdk/examples");
    let root = work.join(dir);
    let _ = std::fs::remove_dir_all(&root);
    let sample = root.join(name);
    for (from, to) in [
        (examples.join(name), &sample),
        (examples.join("common"), &root.join("common")),
    ] {
        copy_dir(&from, to).map_err(|e| format!("{}: {e} (install dpdk-doc)", from.display()))?;
    }
    let main = sample.join("main.c");
    let text = std::fs::read_to_string(&main).map_err(|e| e.to_string())?;
    std::fs::write(&main, patch(&text)?).map_err(|e| e.to_string())?;
    let out = Command::new("make")
        .arg("-C")
        .arg(&sample)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "make failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(sample.join("build").join(name))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// ipv4_multicast: the one line that masks its tx offloads by what the port offers.
fn ipv4mc_offload_mask(c: &str) -> Result<String, String> {
    let anchor = "local_port_conf.rxmode.mtu);";
    patch_once(
        c,
        anchor,
        &format!("{anchor}\n\t\tlocal_port_conf.txmode.offloads &= dev_info.tx_offload_capa;"),
    )
}

/// ipv4_multicast's three mempools with per-lcore caches of 256 instead of 32.
fn ipv4mc_cache256(c: &str) -> Result<String, String> {
    let mut c = ipv4mc_offload_mask(c)?;
    for pool in ["NB_PKT_MBUF", "NB_HDR_MBUF", "NB_CLONE_MBUF"] {
        c = patch_once(&c, &format!("{pool}, 32,"), &format!("{pool}, 256,"))?;
    }
    Ok(c)
}

/// l3fwd on net_pcap/net_null: its rx checksum offload request and its tx offloads masked by
/// the port's capabilities, in the port config and the rx queue config (it asks for
/// `RTE_ETH_RX_OFFLOAD_CHECKSUM`, which these ports do not offer).
fn l3fwd_offload_mask(c: &str) -> Result<String, String> {
    let rss = "\t\tlocal_port_conf.rx_adv_conf.rss_conf.rss_hf &=\n\t\t\tdev_info.flow_type_rss_offloads;\n";
    let c = patch_once(
        c,
        rss,
        &format!(
            "{rss}\t\tlocal_port_conf.rxmode.offloads &= dev_info.rx_offload_capa;\n\t\tlocal_port_conf.txmode.offloads &= dev_info.tx_offload_capa;\n"
        ),
    )?;
    patch_once(
        &c,
        "rxq_conf.offloads = port_conf.rxmode.offloads;",
        "rxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa;",
    )
}

/// Builds the reference samples in temporary directories under `work`: ipv4_multicast stock
/// (run briefly to record why it cannot be used on these ports), with its tx offloads masked by
/// what the port offers (the one-line patch net_null/net_pcap need: stock requests
/// RTE_ETH_TX_OFFLOAD_MULTI_SEGS, which they do not advertise), the same with mempool caches of
/// 256, and l3fwd with its offloads masked.
pub fn build_ipv4mc(work: &Path, logs: &Path, pcap: &Path) -> Ipv4mcBuild {
    let label = "ipv4_multicast (offload mask patched in a temp copy)".to_string();
    let mut b = Ipv4mcBuild {
        stock_result: String::new(),
        patched: None,
        label,
        cache256: None,
        l3fwd: None,
        build_errors: Vec::new(),
    };
    match build_sample(work, "ipv4_multicast", "ipv4_multicast-stock", &|c| {
        Ok(c.to_string())
    }) {
        Ok(exe) => {
            // Run it on the benchmark's ports for a few seconds and keep its complaint.
            let log = logs.join("ipv4_multicast-stock.log");
            let (argv, _) = ipv4mc_argv(&exe, "mrb-mc-stock", pcap, 1);
            match super::runner::start(
                &argv,
                "mrb-mc-stock",
                std::time::Duration::from_secs(4),
                &log,
            ) {
                Ok(r) => {
                    std::thread::sleep(std::time::Duration::from_millis(2500));
                    let out = r.stop(std::time::Duration::from_secs(2));
                    b.stock_result = out
                        .lines()
                        .filter(|l| {
                            l.contains("offloads") || l.contains("Cannot") || l.contains("Cause")
                        })
                        .collect::<Vec<_>>()
                        .join(" / ");
                    if b.stock_result.is_empty() {
                        b.stock_result = "started (no offload error seen)".into();
                    }
                }
                Err(e) => b.stock_result = format!("cannot start: {e}"),
            }
        }
        Err(e) => b.stock_result = format!("build failed: {e}"),
    }
    match build_sample(
        work,
        "ipv4_multicast",
        "ipv4_multicast-patched",
        &ipv4mc_offload_mask,
    ) {
        Ok(exe) => b.patched = Some(exe),
        Err(e) => b
            .stock_result
            .push_str(&format!("; patched build failed: {e}")),
    }
    match build_sample(
        work,
        "ipv4_multicast",
        "ipv4_multicast-c256",
        &ipv4mc_cache256,
    ) {
        Ok(exe) => b.cache256 = Some(exe),
        Err(e) => b
            .build_errors
            .push(format!("ipv4_multicast with caches of 256: {e}")),
    }
    match build_sample(work, "l3fwd", "l3fwd", &l3fwd_offload_mask) {
        Ok(exe) => b.l3fwd = Some(exe),
        Err(e) => b.build_errors.push(format!("l3fwd: {e}")),
    }
    b
}

/// The command line of mcgen on the memif loop (scenarios 4, 6, latency and soak): memif
/// servers 0..=2 on the sockets `sock(i)`, sending from port 0 and receiving on 1 and 2, 4
/// established sources 10.0.1.2.. to 239.1.1.1, 64 B, TTL 16, quiet. `link_wait` is seconds to
/// wait for the router to connect; callers add their own rates, durations and churn options.
pub fn mcgen_memif_argv(
    mcgen: &Path,
    prefix: &str,
    sock: &dyn Fn(usize) -> PathBuf,
    link_wait: u32,
) -> Vec<String> {
    let mut argv: Vec<String> = [
        &mcgen.display().to_string() as &str,
        "--lcores",
        "0@0,1@0",
        "--no-pci",
        "--file-prefix",
        prefix,
    ]
    .map(String::from)
    .to_vec();
    for i in 0..3 {
        argv.push("--vdev".into());
        argv.push(format!(
            "net_memif{i},role=server,socket={},id=0",
            sock(i).display()
        ));
    }
    argv.extend(
        [
            "--",
            "--tx",
            "net_memif0",
            "--rx",
            "net_memif1,net_memif2",
            "--source",
            "10.0.1.2",
            "--sources",
            "4",
            "--group",
            "239.1.1.1",
            "--size",
            "64",
            "--ttl",
            "16",
            "--quiet",
            // One queue pair per port, as pktgen-dpdk offers by default: mrouter (one worker)
            // connects with one, its control core's frames going through the worker.
            "--queues",
            "1",
        ]
        .map(String::from),
    );
    argv.extend(["--link-wait".into(), link_wait.to_string()]);
    argv
}
