//! The core's rules that span several fields (references by name, uniqueness), and the keys
//! no one declares. Turns the core's raw schema into the model, where names have become
//! indices; the protocols' sections are filled in by their own hooks afterwards.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::{
    model::{Config, ControlConfig, DataplaneConfig, InterfaceConfig, Limits, PortConfig},
    raw::{
        RawConfig, RawDataplane, RawInterface, RawLimits, RawPort, RawRpf, RawTable, CORE_KEYS,
        INTERFACE_KEYS,
    },
    section::Violation,
    store::ProtocolSections,
    values::Bounded,
};

fn violation(field: String, message: String) -> Violation {
    Violation { field, message }
}

/// The first key of the file that neither the core nor a protocol (`keys`, `interface_keys`)
/// declares, as serde's `deny_unknown_fields` words it.
pub(super) fn unowned_keys(
    raw: &RawConfig,
    keys: &[&str],
    interface_keys: &[&str],
) -> Result<(), Violation> {
    let unknown = |field: String, key: &str, core: &[&str], owned: &[&str]| {
        let expected: Vec<String> = core.iter().chain(owned).map(|k| format!("`{k}`")).collect();
        violation(
            field,
            format!(
                "unknown field `{key}`, expected one of {}",
                expected.join(", ")
            ),
        )
    };
    if let Some(key) = raw.other.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(unknown(key.clone(), key, CORE_KEYS, keys));
    }
    for (i, iface) in raw.interfaces.iter().enumerate() {
        if let Some(key) = iface
            .other
            .keys()
            .find(|k| !interface_keys.contains(&k.as_str()))
        {
            return Err(unknown(
                format!("interfaces[{i}].{key}"),
                key,
                INTERFACE_KEYS,
                interface_keys,
            ));
        }
    }
    Ok(())
}

pub(super) fn validate(raw: RawConfig) -> Result<Config, Violation> {
    if raw.ports.is_empty() {
        return Err(violation(
            "ports".into(),
            "at least one port is required".into(),
        ));
    }
    let ports = ports(&raw.ports)?;
    let ssm_range = raw
        .ssm_range
        .map_or((Ipv4Addr::new(232, 0, 0, 0), 8), |p| (p.network, p.len));
    let interfaces = interfaces(&raw.interfaces, &ports)?;
    let rpf_kernel_table = rpf_kernel(raw.rpf.as_ref())?;
    let limits = limits(raw.limits.as_ref());
    let control = match raw.control.as_ref().and_then(|c| c.nice) {
        None => ControlConfig::default(),
        Some(n) if (-20..=19).contains(&n) => ControlConfig {
            nice: Some(n as i8),
        },
        Some(n) => {
            return Err(violation(
                "control.nice".into(),
                format!("{n} is out of range (-20 to 19)"),
            ))
        }
    };

    let dataplane = dataplane(raw.dataplane.as_ref(), &ports)?;
    tagged_frames_fit(&interfaces, &ports, dataplane.mbuf_data_room)?;

    let mut seen = HashMap::new();
    for (i, lcore) in raw.workers.iter().enumerate() {
        if let Some(first) = seen.insert(*lcore, i) {
            return Err(violation(
                format!("workers[{i}]"),
                format!("lcore {lcore} is already workers[{first}]"),
            ));
        }
    }
    Ok(Config {
        eal: raw.eal,
        ports,
        interfaces,
        routes: Vec::new(),
        workers: raw.workers,
        rpf_routes: Vec::new(),
        rpf_kernel_table,
        ssm_range,
        igmp_proxy: None,
        limits,
        control,
        protocols: ProtocolSections::default(),
        dataplane,
    })
}

/// The mbuf data room, which every configured MTU (plus its Ethernet header) must fit, or its
/// port could not receive what it may send.
fn dataplane(
    raw: Option<&RawDataplane>,
    ports: &[PortConfig],
) -> Result<DataplaneConfig, Violation> {
    let room = raw
        .and_then(|d| d.mbuf_data_room)
        .map_or(DataplaneConfig::default().mbuf_data_room, |b| b.0 as u16);
    for (i, p) in ports.iter().enumerate() {
        // The af_packet driver refuses rx queues whose ring frames (less their 32-byte header)
        // do not fit one mbuf.
        if p.device.starts_with("net_af_packet") {
            let framesz = p
                .device
                .split(',')
                .find_map(|kv| kv.strip_prefix("framesz="))
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(2048);
            let needs = framesz.saturating_sub(32);
            if needs > u32::from(room) {
                let msg = format!(
                    "framesz={framesz} needs mbufs of {needs} bytes, more than the mbufs' {room} \
                     (set dataplane.mbuf_data_room to at least {needs})"
                );
                return Err(violation(format!("ports[{i}].device"), msg));
            }
        }
        if let Some(mtu) = p.mtu {
            let frame = u32::from(mtu) + 14;
            if frame > u32::from(room) {
                let msg = format!(
                    "MTU {mtu} needs frames of {frame} bytes, more than the mbufs' {room} \
                     (set dataplane.mbuf_data_room to at least {frame})"
                );
                return Err(violation(format!("ports[{i}].mtu"), msg));
            }
        }
    }
    Ok(DataplaneConfig {
        mbuf_data_room: room,
        avx2: raw
            .and_then(|d| d.avx2)
            .unwrap_or(DataplaneConfig::default().avx2),
    })
}

/// A VLAN interface's frames carry a 4-byte tag on top of the MTU and the Ethernet header:
/// where the MTU is configured, the mbufs must hold that too, or full-size tagged frames would
/// not fit.
fn tagged_frames_fit(
    interfaces: &[InterfaceConfig],
    ports: &[PortConfig],
    room: u16,
) -> Result<(), Violation> {
    for (i, f) in interfaces.iter().enumerate() {
        if f.vlan.is_none() {
            continue;
        }
        let (mtu, field) = match (f.mtu, ports[f.port].mtu) {
            (Some(m), _) => (m, format!("interfaces[{i}].mtu")),
            (None, Some(m)) => (m, format!("ports[{}].mtu", f.port)),
            (None, None) => continue,
        };
        let frame = u32::from(mtu) + 18;
        if frame > u32::from(room) {
            let msg = format!(
                "MTU {mtu} on VLAN interface {} needs tagged frames of {frame} bytes, more than \
                 the mbufs' {room} (set dataplane.mbuf_data_room to at least {frame})",
                f.name
            );
            return Err(violation(field, msg));
        }
    }
    Ok(())
}

fn limits(raw: Option<&RawLimits>) -> Limits {
    let d = Limits::default();
    let Some(raw) = raw else {
        return d;
    };
    let pick = |v: Option<Bounded<1, 10_000_000>>, default: u32| v.map_or(default, |b| b.0 as u32);
    let miss_rate = pick(raw.miss_rate, d.miss_rate);
    Limits {
        max_mfes: raw.max_mfes.map_or(d.max_mfes, |b| b.0),
        pending_flows: raw.pending_flows.map_or(d.pending_flows, |b| b.0 as u32),
        pending_packets_per_flow: raw
            .pending_packets_per_flow
            .map_or(d.pending_packets_per_flow, |b| b.0 as u32),
        pending_packets_shared: raw
            .pending_packets_shared
            .map_or(d.pending_packets_shared, |b| b.0 as u32),
        miss_rate,
        miss_burst: pick(raw.miss_burst, d.miss_burst),
        miss_rate_per_worker: pick(raw.miss_rate_per_worker, miss_rate),
        miss_rate_per_source: pick(raw.miss_rate_per_source, d.miss_rate_per_source),
        entry_lifetime: raw
            .entry_lifetime
            .map_or(d.entry_lifetime, |b| std::time::Duration::from_secs(b.0)),
    }
}

fn ports(raw: &[RawPort]) -> Result<Vec<PortConfig>, Violation> {
    let mut names = HashMap::new();
    let mut devices = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        if let Some(first) = names.insert(p.name.0.as_str(), i) {
            return Err(violation(
                format!("ports[{i}].name"),
                format!("port name {} is already used by ports[{first}]", p.name.0),
            ));
        }
        if let Some(first) = devices.insert(p.device.key.as_str(), i) {
            let msg = format!(
                "device {} is already used by port {}",
                p.device.key, raw[first].name.0
            );
            return Err(violation(format!("ports[{i}].device"), msg));
        }
        let count = |q: Option<Bounded<1, 64>>| q.map_or(1, |q| q.0 as u16);
        out.push(PortConfig {
            name: p.name.0.clone(),
            device: p.device.devargs.clone(),
            rx_queues: count(p.rx_queues),
            tx_queues: count(p.tx_queues),
            mtu: p.mtu.map(|m| m.0 as u16),
        });
    }
    Ok(out)
}

fn interfaces(
    raw: &[RawInterface],
    ports: &[PortConfig],
) -> Result<Vec<InterfaceConfig>, Violation> {
    let mut names = HashMap::new();
    let mut on_port: HashMap<(usize, Option<u16>), usize> = HashMap::new();
    let mut out: Vec<InterfaceConfig> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        if let Some(first) = names.insert(r.name.0.as_str(), i) {
            let msg = format!(
                "interface name {} is already used by interfaces[{first}]",
                r.name.0
            );
            return Err(violation(format!("interfaces[{i}].name"), msg));
        }
        let Some(port) = ports.iter().position(|p| p.name == r.port) else {
            return Err(violation(
                format!("interfaces[{i}].port"),
                format!("no port is named {}", r.port),
            ));
        };
        let vlan = r.vlan.map(|v| v.0 as u16);
        if let Some(first) = on_port.insert((port, vlan), i) {
            let (field, msg) = match vlan {
                Some(v) => (
                    "vlan",
                    format!(
                        "port {} already has interface {} on VLAN {v}",
                        r.port, raw[first].name.0
                    ),
                ),
                None => (
                    "port",
                    format!(
                        "port {} already has untagged interface {} (at most one untagged \
                         interface per port; give this one a vlan)",
                        r.port, raw[first].name.0
                    ),
                ),
            };
            return Err(violation(format!("interfaces[{i}].{field}"), msg));
        }
        let mtu = r.mtu.map(|m| m.0 as u16);
        if let (Some(mtu), Some(port_mtu)) = (mtu, ports[port].mtu) {
            if mtu > port_mtu {
                let msg = format!("{mtu} is larger than port {}'s MTU {port_mtu}", r.port);
                return Err(violation(format!("interfaces[{i}].mtu"), msg));
            }
        }
        let new = InterfaceConfig {
            name: r.name.0.clone(),
            port,
            address: r.address.address,
            prefix_len: r.address.prefix_len,
            mtu,
            vlan,
            igmp: None,
            kernel_twin: twin_name(i, r, ports, &out)?,
        };
        // Overlapping subnets would make the connected route, and so RPF, ambiguous.
        if let Some(old) = out
            .iter()
            .find(|old| old.contains(new.network()) || new.contains(old.network()))
        {
            let msg = format!(
                "{}/{} overlaps interface {} ({}/{})",
                new.address, new.prefix_len, old.name, old.address, old.prefix_len
            );
            return Err(violation(format!("interfaces[{i}].address"), msg));
        }
        out.push(new);
    }
    Ok(out)
}

/// The kernel twin's interface name (see `crate::twin`): `kernel_twin_name`, or the
/// interface's name cut to the kernel's 15 bytes; unique among the twins, and not the kernel
/// interface an af_packet port uses (the twin lives in the same namespace).
fn twin_name(
    i: usize,
    r: &RawInterface,
    ports: &[PortConfig],
    before: &[InterfaceConfig],
) -> Result<Option<String>, Violation> {
    if r.kernel_twin == Some(false) {
        return Ok(None);
    }
    // A twin would need the kernel's VLAN devices on its tap, which this router does not
    // make (and the lab's kernel may lack): a VLAN interface has none, and asking is an error.
    if r.vlan.is_some() {
        if r.kernel_twin == Some(true) || r.kernel_twin_name.is_some() {
            let key = if r.kernel_twin_name.is_some() {
                "kernel_twin_name"
            } else {
                "kernel_twin"
            };
            return Err(violation(
                format!("interfaces[{i}].{key}"),
                "a VLAN interface has no kernel twin (not supported yet): leave kernel_twin \
                 out or set it false"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let (name, field) = match &r.kernel_twin_name {
        Some(n) => (n.0.clone(), format!("interfaces[{i}].kernel_twin_name")),
        None => {
            let mut n = r.name.0.clone();
            n.truncate(15);
            (n, format!("interfaces[{i}].name"))
        }
    };
    if name.len() > 15 {
        return Err(violation(
            field,
            format!("{name} is longer than a kernel interface name (15 bytes)"),
        ));
    }
    if let Some(other) = before
        .iter()
        .find(|o| o.kernel_twin.as_deref() == Some(name.as_str()))
    {
        return Err(violation(
            field,
            format!(
                "kernel twin name {name} is already interface {}'s: set kernel_twin_name",
                other.name
            ),
        ));
    }
    let af_packet = |p: &PortConfig| {
        p.device.starts_with("net_af_packet")
            && p.device.split(',').any(|kv| kv == format!("iface={name}"))
    };
    if let Some(p) = ports.iter().find(|p| af_packet(p)) {
        return Err(violation(
            field,
            format!(
                "kernel twin name {name} is the kernel interface of port {}: set kernel_twin_name",
                p.name
            ),
        ));
    }
    Ok(Some(name))
}

/// The kernel table RPF reads, if `rpf.kernel` is on (table default `main`, 254).
fn rpf_kernel(raw: Option<&RawRpf>) -> Result<Option<u32>, Violation> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.kernel != Some(true) {
        return Ok(None);
    }
    let table = match &raw.table {
        None => 254,
        Some(RawTable::Number(n)) if *n > 0 => *n,
        Some(RawTable::Name(n)) if n == "main" => 254,
        Some(RawTable::Name(n)) if n == "default" => 253,
        Some(RawTable::Name(n)) if n == "local" => 255,
        Some(t) => {
            return Err(violation(
                "rpf.table".into(),
                format!("{t:?} is not a kernel table: main, default, local or a number from 1"),
            ))
        }
    };
    Ok(Some(table))
}
