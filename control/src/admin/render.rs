//! Text for people: the tables `mrouterctl show ...` prints, in the spirit of
//! `smcroutectl show mroute` and FRR's `show ip mroute`.
//!
//! Columns are as wide as their widest cell, so long interface names or OIF lists never run
//! into the next column; counters are right-aligned.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::model::{
    IgmpGroupView, IgmpInterfaceView, IgmpProxyView, InterfaceView, MrouteView, OifView,
    PimAssertView, PimInterfaceView, PimJoinView, PimNeighborView, PimRegisterView, PimRpView,
    Response, RpfView, StatsView, WorkerView,
};

/// How a column's cells line up.
#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// A table of text cells with a header row.
struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, Align)]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, indent: &str, out: &mut String) {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .chain([name.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = self.columns.iter().map(|(n, _)| n.to_string()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (i, ((_, align), width)) in self.columns.iter().zip(&widths).enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        let _ = write!(line, "{cell:<width$}");
                    }
                    Align::Right => {
                        let _ = write!(line, "{cell:>width$}");
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// `HH:MM:SS`, or `NdHHhMMm` from a day up; `-` for a negative or non-finite value.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".to_string();
    }
    // Truncation toward zero is what a clock display does.
    let total = secs as u64;
    let (d, h, m, s) = (
        total / 86_400,
        total / 3_600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

fn opt_addr(a: Option<Ipv4Addr>) -> String {
    a.map_or_else(|| "-".to_string(), |a| a.to_string())
}

fn source(a: Ipv4Addr) -> String {
    if a.is_unspecified() {
        "*".to_string()
    } else {
        a.to_string()
    }
}

/// `if1:20 if2(>10):18`: each outgoing interface with the copies sent on it; the threshold is
/// shown only where it is above 1, since TTL 0 and 1 are never forwarded anyway.
fn oifs(route: &MrouteView) -> String {
    if route.negative {
        return "(negative)".to_string();
    }
    if route.oifs.is_empty() {
        return "-".to_string();
    }
    let one = |o: &OifView| {
        if o.ttl_threshold > 1 {
            format!("{}(>{}):{}", o.interface, o.ttl_threshold, o.out_packets)
        } else {
            format!("{}:{}", o.interface, o.out_packets)
        }
    };
    route.oifs.iter().map(one).collect::<Vec<_>>().join(" ")
}

fn flags(route: &MrouteView) -> String {
    let mut f = String::new();
    match route.origin.as_str() {
        "static" => f.push('S'),
        "mgm" => f.push('D'),
        _ => f.push('?'),
    }
    if route.negative {
        f.push('N');
    }
    f
}

/// `show mroute`: one line per forwarding entry.
pub fn mroutes(routes: &[MrouteView]) -> String {
    if routes.is_empty() {
        return "No multicast routes.\n".to_string();
    }
    use Align::{Left as L, Right as R};
    let mut t = Table::new(&[
        ("Source", L),
        ("Group", L),
        ("IIF", L),
        ("Upstream", L),
        ("OIFs (ttl):out", L),
        ("Uptime", R),
        ("Expires", R),
        ("Packets", R),
        ("Bytes", R),
        ("WrongIf", R),
        ("Flags", L),
    ]);
    for r in routes {
        t.row(vec![
            source(r.source),
            r.group.to_string(),
            r.iif.clone(),
            opt_addr(r.upstream),
            oifs(r),
            duration(r.uptime_secs),
            r.expires_secs.map_or_else(|| "never".to_string(), duration),
            r.packets.to_string(),
            r.bytes.to_string(),
            r.wrong_if.to_string(),
            flags(r),
        ]);
    }
    let mut out = String::from(
        "Flags: S - static (S,G) route, D - created on demand (MGM), N - negative (dropped)\n\n",
    );
    t.render("", &mut out);
    out
}

/// `show interfaces`: one line per interface with its port's counters.
pub fn interfaces(interfaces: &[InterfaceView]) -> String {
    if interfaces.is_empty() {
        return "No interfaces.\n".to_string();
    }
    use Align::{Left as L, Right as R};
    let mut t = Table::new(&[
        ("Name", L),
        ("Index", R),
        ("Port", L),
        ("VLAN", R),
        ("Driver", L),
        ("MAC", L),
        ("Address", L),
        ("Owner", L),
        ("Link", L),
        ("Twin", L),
        ("CtlTx", L),
        ("MTU", R),
        ("RxPackets", R),
        ("TxPackets", R),
        ("RxMissed", R),
        ("RxNoMbuf", R),
        ("TxErrors", R),
        ("FragsOut", R),
        ("UnknownVlan", R),
    ]);
    for i in interfaces {
        t.row(vec![
            i.name.clone(),
            i.index.to_string(),
            i.port.clone(),
            i.vlan.map_or_else(|| "-".to_string(), |v| v.to_string()),
            i.driver.clone(),
            i.mac.clone(),
            i.address.clone(),
            i.owner.clone().unwrap_or_else(|| "-".to_string()),
            if i.link_up {
                "up"
            } else if i.running {
                "down"
            } else {
                "unstarted"
            }
            .to_string(),
            i.twin.clone().unwrap_or_else(|| "-".to_string()),
            if i.control_tx.is_empty() {
                "-".to_string()
            } else {
                i.control_tx.clone()
            },
            i.mtu.to_string(),
            i.rx_packets.to_string(),
            i.tx_packets.to_string(),
            i.rx_missed.to_string(),
            i.rx_nombuf.to_string(),
            i.tx_errors.to_string(),
            i.fragments_out.to_string(),
            i.unknown_vlan.to_string(),
        ]);
    }
    let mut out = String::new();
    t.render("", &mut out);
    out
}

fn worker_name(w: &WorkerView) -> String {
    w.lcore
        .map_or_else(|| "main".to_string(), |l| l.to_string())
}

/// `show stats`: ports, workers (with their non-zero drops), every drop reason summed, and the
/// control core's counters.
pub fn stats(stats: &StatsView) -> String {
    use Align::{Left as L, Right as R};
    let mut out = format!("Uptime: {}\n\nPorts:\n", duration(stats.uptime_secs));
    let mut ports = Table::new(&[
        ("Port", L),
        ("RxPackets", R),
        ("TxPackets", R),
        ("RxBytes", R),
        ("TxBytes", R),
        ("RxMissed", R),
        ("RxErrors", R),
        ("TxErrors", R),
        ("RxNoMbuf", R),
    ]);
    for p in &stats.ports {
        ports.row(vec![
            p.name.clone(),
            p.ipackets.to_string(),
            p.opackets.to_string(),
            p.ibytes.to_string(),
            p.obytes.to_string(),
            p.imissed.to_string(),
            p.ierrors.to_string(),
            p.oerrors.to_string(),
            p.rx_nombuf.to_string(),
        ]);
    }
    ports.render("  ", &mut out);

    out.push_str("\nWorkers:\n");
    let mut workers = Table::new(&[
        ("Lcore", L),
        ("RxPackets", R),
        ("TxPackets", R),
        ("Drops", L),
    ]);
    for w in &stats.workers {
        let drops: Vec<String> = w
            .drops
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        workers.row(vec![
            worker_name(w),
            w.rx_packets.to_string(),
            w.tx_packets.to_string(),
            if drops.is_empty() {
                "-".to_string()
            } else {
                drops.join(" ")
            },
        ]);
    }
    workers.render("  ", &mut out);

    counters(&mut out, "Drops (all workers)", &stats.drops);
    counters(&mut out, "Control", &stats.control);
    out
}

fn counters<'a>(
    out: &mut String,
    title: &str,
    counters: impl IntoIterator<Item = (&'a String, &'a u64)>,
) {
    let _ = writeln!(out, "\n{title}:");
    let mut t = Table::new(&[("Counter", Align::Left), ("Value", Align::Right)]);
    for (name, value) in counters {
        t.row(vec![name.clone(), value.to_string()]);
    }
    if t.rows.is_empty() {
        out.push_str("  (none)\n");
    } else {
        t.render("  ", out);
    }
}

/// `show rpf SOURCE`: one line.
pub fn rpf(rpf: &RpfView) -> String {
    let Some(interface) = &rpf.interface else {
        return format!("RPF for {}: no route\n", rpf.source);
    };
    let prefix = rpf.prefix.as_deref().unwrap_or("?");
    let via = match (rpf.next_hop, rpf.origin.as_deref()) {
        (None, Some("connected") | None) => format!("via directly connected {prefix}"),
        (None, Some(origin)) => format!("via {origin} route {prefix}"),
        (Some(hop), origin) => {
            format!("via {hop} ({} route {prefix})", origin.unwrap_or("unicast"))
        }
    };
    format!("RPF for {}: interface {interface}, {via}\n", rpf.source)
}

/// Any response as text: the tables above, a reload's message, or `error: ...`.
fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "-".to_string(), |s| format!("{s:.1}s"))
}

/// `show igmp interfaces`.
pub fn igmp_interfaces(v: &[IgmpInterfaceView]) -> String {
    if v.is_empty() {
        return "IGMP runs on no interface (add an igmp: section to an interface)\n".into();
    }
    let mut out = format!(
        "{:<10} {:<18} {:>3} {:<15} {:<8} {:>10} {:>7} {:>7}\n",
        "Interface", "Address", "Ver", "Querier", "Role", "NextQuery", "Groups", "Sources"
    );
    for i in v {
        out += &format!(
            "{:<10} {:<18} {:>3} {:<15} {:<8} {:>10} {:>7} {:>7}\n",
            i.name,
            i.address,
            i.version,
            i.querier,
            if i.is_querier { "querier" } else { "other" },
            secs(i.next_query_secs),
            i.groups,
            i.sources
        );
    }
    // Then each interface's non-zero counters, rejections by reason (`rejected bad_ttl 2`).
    for i in v {
        let (mut parts, mut by_reason_parts) = (Vec::new(), Vec::new());
        if let Some(counters) = i.counters.as_object() {
            for (name, value) in counters {
                match value {
                    serde_json::Value::Object(by_reason) => {
                        for (reason, n) in by_reason {
                            if n.as_u64().is_some_and(|n| n > 0) {
                                by_reason_parts.push(format!("{name} {reason} {n}"));
                            }
                        }
                    }
                    n => {
                        if n.as_u64().is_some_and(|n| n > 0) {
                            parts.push(format!("{name} {n}"));
                        }
                    }
                }
            }
        }
        parts.append(&mut by_reason_parts);
        if !parts.is_empty() {
            out += &format!("{}: {}\n", i.name, parts.join(", "));
        }
    }
    out
}

/// `show igmp groups`.
pub fn igmp_groups(v: &[IgmpGroupView]) -> String {
    let mut out = format!(
        "{:<10} {:<15} {:<8} {:>8} {:>3} {:<15} {}\n",
        "Interface", "Group", "Mode", "Expires", "Ver", "LastReporter", "Sources"
    );
    for g in v {
        let sources: Vec<String> = g
            .sources
            .iter()
            .map(|(s, t, fwd)| format!("{s}({}{})", secs(*t), if *fwd { "" } else { ",blocked" }))
            .collect();
        out += &format!(
            "{:<10} {:<15} {:<8} {:>8} {:>3} {:<15} {}\n",
            g.interface,
            g.group,
            g.filter_mode,
            secs(g.expires_secs),
            g.version,
            g.last_reporter,
            if sources.is_empty() {
                "-".into()
            } else {
                sources.join(" ")
            }
        );
    }
    out
}

/// `show igmp proxy`.
pub fn igmp_proxy(v: Option<&IgmpProxyView>) -> String {
    let Some(p) = v else {
        return "no IGMP proxy runs (add an igmp_proxy: section to the config)\n".into();
    };
    let counter = |k: &str| p.counters[k].as_u64().unwrap_or(0);
    let mut out = format!(
        "upstream {} ({}), IGMPv{}, querier {}\nqueries received {}, reports sent {}, leaves sent {}, messages sent {}, ignored {}\n",
        p.upstream,
        p.address,
        p.version,
        p.querier.map_or_else(|| "-".to_string(), |q| q.to_string()),
        counter("queries_received"),
        counter("reports_sent"),
        counter("leaves_sent"),
        counter("messages_sent"),
        counter("ignored"),
    );
    out += &format!("{:<15} {:<8} {}\n", "Group", "Mode", "Sources");
    for (group, mode, sources) in &p.groups {
        let sources: Vec<String> = sources.iter().map(ToString::to_string).collect();
        out += &format!(
            "{:<15} {:<8} {}\n",
            group,
            mode,
            if sources.is_empty() {
                "-".into()
            } else {
                sources.join(" ")
            }
        );
    }
    out
}

/// Seconds as FRR shows uptimes and timers: `HH:MM:SS`.
fn hms(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `show pim interface` (FRR's `show ip pim interface`, with the DR priority, Hello timing and
/// Generation ID), then each interface's non-zero counters.
pub fn pim_interfaces(v: &[PimInterfaceView]) -> String {
    if v.is_empty() {
        return "PIM runs on no interface (add pim: { enable: true } to an interface)\n".into();
    }
    let mut out = format!(
        "{:<10} {:<18} {:<15} {:>6} {:>4} {:>5} {:>9} {:<10}\n",
        "Interface", "Address", "DR", "DRPrio", "Nbrs", "Hello", "NextHello", "GenID"
    );
    for i in v {
        let dr = if i.is_dr {
            format!("{} (us)", i.dr)
        } else {
            i.dr.to_string()
        };
        out += &format!(
            "{:<10} {:<18} {:<15} {:>6} {:>4} {:>5} {:>9} {:#010x}\n",
            i.name,
            i.address,
            dr,
            i.dr_priority,
            i.neighbors,
            format!("{}s", i.hello_interval_secs),
            hms(i.next_hello_secs),
            i.generation_id
        );
    }
    for i in v {
        let mut parts = Vec::new();
        if let Some(counters) = i.counters.as_object() {
            for (name, value) in counters {
                match value {
                    serde_json::Value::Object(inner) => {
                        for (kind, n) in inner {
                            if n.as_u64().is_some_and(|n| n > 0) {
                                parts.push(format!("{name} {kind} {n}"));
                            }
                        }
                    }
                    n if n.as_u64().is_some_and(|n| n > 0) => parts.push(format!("{name} {n}")),
                    _ => {}
                }
            }
        }
        if !parts.is_empty() {
            out += &format!("{}: {}\n", i.name, parts.join(", "));
        }
    }
    out
}

/// `show pim neighbor` (FRR's `show ip pim neighbor`, with the expiry and Generation ID).
pub fn pim_neighbors(v: &[PimNeighborView]) -> String {
    let mut out = format!(
        "{:<10} {:<15} {:>8} {:>8} {:>8} {:>6} {:<10} {}\n",
        "Interface", "Neighbor", "Uptime", "Expires", "Holdtime", "DRPrio", "GenID", "DR"
    );
    let opt = |v: Option<u32>, hex: bool| match (v, hex) {
        (None, _) => "-".to_string(),
        (Some(v), true) => format!("{v:#010x}"),
        (Some(v), false) => v.to_string(),
    };
    for n in v {
        out += &format!(
            "{:<10} {:<15} {:>8} {:>8} {:>8} {:>6} {:<10} {}\n",
            n.interface,
            n.address,
            hms(n.uptime_secs),
            n.expires_secs.map_or_else(|| "never".into(), hms),
            n.holdtime,
            opt(n.dr_priority, false),
            opt(n.generation_id, true),
            if n.is_dr { "yes" } else { "" }
        );
    }
    out
}

/// `show pim join` (FRR's `show ip pim join` and `upstream` in one table).
pub fn pim_joins(v: &[PimJoinView]) -> String {
    let mut out = format!(
        "{:<15} {:<15} {:<8} {:<15} {:<6} {:>8} {:<3} {:>8} {:<20} {}\n",
        "Source",
        "Group",
        "RPF",
        "Upstream",
        "Joined",
        "NextJoin",
        "SPT",
        "KAT",
        "Downstream",
        "OIFs"
    );
    let list = |l: &[String]| {
        if l.is_empty() {
            "-".into()
        } else {
            l.join(",")
        }
    };
    for j in v {
        let mut down = j.downstream.clone();
        down.extend(j.local.iter().map(|i| format!("{i}:igmp")));
        out += &format!(
            "{:<15} {:<15} {:<8} {:<15} {:<6} {:>8} {:<3} {:>8} {:<20} {}\n",
            j.source,
            j.group,
            j.rpf_interface,
            j.upstream.map_or_else(|| "-".into(), |a| a.to_string()),
            if j.joined { "yes" } else { "no" },
            j.next_join_secs.map_or_else(|| "-".into(), hms),
            if j.spt_bit { "yes" } else { "-" },
            j.keepalive_secs.map_or_else(|| "-".into(), hms),
            list(&down),
            list(&j.oifs)
        );
    }
    out
}

/// `show pim rp` (FRR's `show ip pim rp-info` and `show ip pim bsr` in one).
pub fn pim_rp(v: &PimRpView) -> String {
    let mut out = match &v.bsr {
        Some(b) => format!(
            "BSR {} priority {} hash mask /{}, up {}, expires {}\n",
            b.address,
            b.priority,
            b.hash_mask_len,
            hms(b.uptime_secs),
            hms(b.expires_secs)
        ),
        None => "BSR none (any Bootstrap router is accepted)\n".to_string(),
    };
    let counts: Vec<String> = v
        .bootstrap
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    out += &format!("bootstraps: {}\n", counts.join(", "));
    out += &format!(
        "{:<18} {:<15} {:<7} {:>8} {:>8}\n",
        "Groups", "RP", "Origin", "Priority", "Expires"
    );
    for m in &v.mappings {
        out += &format!(
            "{:<18} {:<15} {:<7} {:>8} {:>8}\n",
            m.groups,
            m.rp,
            m.origin,
            m.priority.map_or_else(|| "-".into(), |p| p.to_string()),
            m.expires_secs.map_or_else(|| "-".into(), hms)
        );
    }
    out
}

/// `show pim assert` (FRR's `show ip pim assert`).
pub fn pim_asserts(v: &[PimAssertView]) -> String {
    let mut out = format!(
        "{:<10} {:<15} {:<15} {:<7} {:<15} {:<3} {:>10} {:>10} {:>8}\n",
        "Interface", "Source", "Group", "State", "Winner", "RPT", "Preference", "Metric", "Timer"
    );
    for a in v {
        out += &format!(
            "{:<10} {:<15} {:<15} {:<7} {:<15} {:<3} {:>10} {:>10} {:>8}\n",
            a.interface,
            a.source,
            a.group,
            a.state,
            a.winner,
            if a.rpt { "yes" } else { "no" },
            a.metric_preference,
            a.metric,
            hms(a.timer_secs)
        );
    }
    out
}

/// `show pim register`: the DR's register state (FRR's `show ip pim upstream` register
/// column), what was registered to us as the RP, and the counters.
pub fn pim_register(v: &PimRegisterView) -> String {
    let mut out = format!(
        "{:<15} {:<15} {:<8} {:<15} {:<11} {:>9} {:>9}\n",
        "Source", "Group", "Iface", "RP", "State", "StopTimer", "Keepalive"
    );
    for r in &v.dr {
        out += &format!(
            "{:<15} {:<15} {:<8} {:<15} {:<11} {:>9} {:>9}\n",
            r.source,
            r.group,
            r.interface,
            r.rp,
            r.state,
            r.stop_timer_secs.map_or_else(|| "-".into(), hms),
            hms(r.keepalive_secs)
        );
    }
    if !v.rp.is_empty() {
        out += &format!(
            "\nRegistered to us as the RP:\n{:<15} {:<15} {:<4} {:>8} {}\n",
            "Source", "Group", "SPT", "Last", "From"
        );
        for r in &v.rp {
            let from: Vec<String> = r.from.iter().map(|a| a.to_string()).collect();
            out += &format!(
                "{:<15} {:<15} {:<4} {:>8} {}\n",
                r.source,
                r.group,
                if r.spt { "yes" } else { "no" },
                hms(r.last_secs),
                from.join(",")
            );
        }
    }
    if let Some(c) = v.counters.as_object() {
        out += "\n";
        for (k, n) in c {
            out += &format!("{k:<26} {n}\n");
        }
    }
    out
}

pub fn response(response: &Response) -> String {
    match response {
        Response::Mroute(r) => mroutes(r),
        Response::Interfaces(i) => interfaces(i),
        Response::Stats(s) => stats(s),
        Response::Rpf(r) => rpf(r),
        Response::IgmpInterfaces(v) => igmp_interfaces(v),
        Response::IgmpGroups(v) => igmp_groups(v),
        Response::IgmpProxy(v) => igmp_proxy(v.as_ref()),
        Response::PimInterfaces(v) => pim_interfaces(v),
        Response::PimNeighbors(v) => pim_neighbors(v),
        Response::PimJoins(v) => pim_joins(v),
        Response::PimRp(v) => pim_rp(v),
        Response::PimAsserts(v) => pim_asserts(v),
        Response::PimRegister(v) => pim_register(v),
        Response::Reloaded { message } => format!("{message}\n"),
        Response::Error { message } => format!("error: {message}\n"),
    }
}
