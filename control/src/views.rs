//! Builds the admin views (`mrouterctl show ...`) from the control core, the data plane and
//! the running config.

use crate::admin::{
    IgmpGroupView, IgmpInterfaceView, IgmpProxyView, InterfaceView, MrouteView, OifView,
    PimAssertView, PimInterfaceView, PimJoinView, PimNeighborView, PimRegisterRow, PimRegisterView,
    PimRpRegisterRow, PortStatsView, RpfView, StatsView, WorkerView,
};
use crate::config::Config;
use crate::control_core::ControlCore;
use crate::interface::{config_index, interface_id};
use crate::protocols::pim::Pim;
use crate::protocols::static_routing::STATIC_PROTOCOL;
use dataplane::dpdk::telemetry::{self, Reply};
use dataplane::router::Dataplane;
use dataplane::worker::{Counters, DropReason};
use mgm::{InterfaceId, StatsLayout};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

fn iface_name(cfg: &Config, iface: InterfaceId) -> String {
    config_index(iface)
        .and_then(|i| cfg.interfaces.get(i))
        .map_or_else(|| "-".to_string(), |i| i.name.clone())
}

/// Every MFE, in (group, source) order.
pub fn mroutes(cfg: &Config, core: &ControlCore) -> Vec<MrouteView> {
    mroutes_first(cfg, core, usize::MAX)
}

/// The first `limit` MFEs, in (group, source) order (the work is proportional to `limit`, not
/// to the table).
pub fn mroutes_first(cfg: &Config, core: &ControlCore, limit: usize) -> Vec<MrouteView> {
    let now = core.uptime();
    let routing = core.static_routing();
    core.mgm()
        .mfes(now)
        .take(limit)
        .map(|m| {
            let stats = core
                .mgm()
                .get_mfe_stats(now, m.source, m.group, StatsLayout::Extended, usize::MAX)
                .ok();
            let (counters, oif_counters) = stats.map(|s| (s.counters, s.oifs)).unwrap_or_default();
            MrouteView {
                source: m.source,
                group: m.group,
                iif: iface_name(cfg, m.iif),
                upstream: (!m.upstream.is_unspecified()).then_some(m.upstream),
                oifs: m
                    .oifs
                    .iter()
                    .map(|&o| OifView {
                        interface: iface_name(cfg, o),
                        ttl_threshold: routing.ttl_threshold(m.source, m.group, o),
                        out_packets: oif_counters
                            .iter()
                            .find(|(i, _)| *i == o)
                            .map_or(0, |(_, c)| c.out_packets),
                    })
                    .collect(),
                uptime_secs: f64::from(m.up_time_s),
                expires_secs: (m.expiry_s > 0).then_some(f64::from(m.expiry_s)),
                packets: counters.in_packets,
                bytes: counters.in_octets,
                wrong_if: counters.pkts_different_if,
                negative: m.oifs.is_empty(),
                origin: if routing.routes().contains_key(&(m.source, m.group)) {
                    "static".into()
                } else {
                    "mgm".into()
                },
            }
        })
        .collect()
}

/// Every interface with its port's counters.
pub fn interfaces(cfg: &Config, core: &ControlCore, dp: &Dataplane) -> Vec<InterfaceView> {
    let stats = dp.port_stats();
    let info = dp.port_info();
    let status = dp.port_status();
    let fragments = dp.port_fragments();
    let mtus = dp.port_mtus();
    let unknown_vlan = dp.port_unknown_vlan();
    cfg.interfaces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = stats.get(f.port).copied().unwrap_or_default();
            let (driver, mac) = info.get(f.port).cloned().unwrap_or_default();
            let st = status.get(f.port);
            // MTU and fragments are the interface's (its data-plane slot), the rest the port's.
            let slot = usize::from(cfg.slot_of_interface(i).unwrap_or(u16::MAX));
            let twin = core.twins().of_interface(i);
            let tc = twin.map(|t| t.1).unwrap_or_default();
            InterfaceView {
                twin: twin.map(|t| t.0.to_string()),
                twin_to_kernel: tc.to_kernel,
                twin_rate_limited: tc.rate_limited,
                twin_refused: tc.refused,
                twin_from_kernel: tc.from_kernel,
                twin_from_kernel_failed: tc.from_kernel_failed,
                name: f.name.clone(),
                index: interface_id(i).index,
                port: cfg.ports[f.port].name.clone(),
                vlan: f.vlan,
                unknown_vlan: unknown_vlan.get(f.port).copied().unwrap_or(0),
                device: cfg.ports[f.port].device.clone(),
                driver,
                mac,
                address: format!("{}/{}", f.address, f.prefix_len),
                owner: core
                    .mgm()
                    .get_protocol_on_interface(interface_id(i))
                    .ok()
                    .map(|c| {
                        if c == STATIC_PROTOCOL {
                            "static".into()
                        } else {
                            format!("{:#x}/{}", c.protocol, c.component)
                        }
                    }),
                rx_packets: s.ipackets,
                tx_packets: s.opackets,
                rx_missed: s.imissed,
                rx_nombuf: s.rx_nombuf,
                tx_errors: s.oerrors,
                mtu: mtus.get(slot).copied().unwrap_or(0),
                fragments_out: fragments.get(slot).copied().unwrap_or(0),
                link_up: core.port_link_up(f.port),
                running: st.is_some_and(|s| s.running),
                control_tx: st.map(|s| s.control_tx.to_string()).unwrap_or_default(),
                start_failures: st.map_or(0, |s| s.start_failures),
                start_error: st.and_then(|s| s.last_error.clone()),
                restarts: st.map_or(0, |s| s.restarts),
                control_frames: st.map_or(0, |s| s.control_frames),
                control_refused: st.map_or(0, |s| s.control_refused),
            }
        })
        .collect()
}

fn drops(c: &Counters) -> BTreeMap<String, u64> {
    DropReason::ALL
        .iter()
        .map(|r| (r.name().to_string(), c.dropped(*r)))
        .collect()
}

/// Port, worker, drop and control-core counters.
pub fn stats(cfg: &Config, core: &ControlCore, dp: &Dataplane) -> StatsView {
    let workers = dp.worker_counters();
    let mut total = Counters::default();
    for w in &workers {
        total.add(w);
    }
    let cc = core.counters();
    let m = core.mgm().counters();
    let (lat_n, lat_p50, lat_p99, lat_max) = core.miss_latency();
    let (via_worker_sent, via_worker_tx_full, via_worker_port_down) = dp.control_link_totals();
    let twins = core.twins().totals();
    let kr = core.kernel_rib().unwrap_or_default();
    let control: BTreeMap<String, u64> = [
        ("misses_received", cc.misses_received),
        ("misses_duplicate", cc.misses_duplicate),
        ("misses_rate_limited", cc.misses_rate_limited),
        ("misses_worker_limited", cc.misses_worker_limited),
        ("misses_source_limited", cc.misses_source_limited),
        ("misses_mfe_limit", cc.misses_mfe_limit),
        ("misses_own_source", cc.misses_own_source),
        ("misses_rejected", cc.misses_rejected),
        ("misses_signalled", total.misses_signalled),
        ("signals_dropped_ring_full", total.signals_dropped),
        ("wrong_if_received", cc.wrong_if_received),
        ("protocol_revalidations", cc.protocol_revalidations),
        ("hits_signalled", total.hits_signalled),
        ("hits_received", cc.hits_received),
        ("entry_copies_to_control", total.copied_to_control),
        ("entry_copies_dropped", total.copies_dropped),
        ("entry_copies_received", cc.entry_copies_received),
        ("entry_flag_refreshes", cc.entry_flag_refreshes),
        ("mfes_installed", cc.mfes_installed),
        ("mfes_updated", cc.mfes_updated),
        ("mfes_deleted", cc.mfes_deleted),
        ("publishes", cc.publishes),
        ("punted_igmp", cc.punted_igmp),
        ("punted_pim", cc.punted_pim),
        ("punted_link_local", cc.punted_link_local),
        ("punted_exception", cc.punted_exception),
        ("kernel_rib_routes_added", kr.routes_added),
        ("kernel_rib_routes_removed", kr.routes_removed),
        ("kernel_rib_ignored", kr.ignored),
        ("kernel_rib_unparsed", kr.unparsed),
        ("kernel_rib_receive_errors", kr.receive_errors),
        ("kernel_rib_resyncs", kr.resyncs),
        (
            "kernel_rib_entries_revalidated",
            cc.kernel_rib_entries_revalidated,
        ),
        ("twin_to_kernel", twins.to_kernel),
        ("twin_rate_limited", twins.rate_limited),
        ("twin_refused", twins.refused),
        ("twin_from_kernel", twins.from_kernel),
        ("twin_from_kernel_failed", twins.from_kernel_failed),
        ("igmp_joins", cc.igmp_joins),
        ("igmp_leaves", cc.igmp_leaves),
        ("igmp_membership_errors", cc.igmp_membership_errors),
        ("routing_joins", cc.routing_joins),
        ("routing_leaves", cc.routing_leaves),
        ("routing_membership_errors", cc.routing_membership_errors),
        ("igmp_sent", cc.igmp_sent),
        ("igmp_send_failed", cc.igmp_send_failed),
        ("protocol_datagrams_sent", cc.datagrams_sent),
        ("protocol_datagrams_refused", cc.datagrams_refused),
        ("protocol_unicast_sent", cc.unicast_sent),
        ("protocol_unicast_refused", cc.unicast_refused),
        ("protocol_forwards_sent", cc.forwards_sent),
        ("protocol_forwards_refused", cc.forwards_refused),
        ("link_changes", cc.link_changes),
        ("control_frames_via_worker", via_worker_sent),
        ("control_frames_via_worker_tx_full", via_worker_tx_full),
        ("control_frames_via_worker_port_down", via_worker_port_down),
        ("reloads", cc.reloads),
        ("reloads_failed", cc.reloads_failed),
        ("mgm_misses_without_rpf_route", m.no_route_misses),
        ("mgm_expirations", m.expirations),
        ("mgm_revalidations", m.revalidations),
        ("miss_to_install_count", lat_n),
        ("miss_to_install_us_p50", lat_p50),
        ("miss_to_install_us_p99", lat_p99),
        ("miss_to_install_us_max", lat_max),
        // A gauge, not a counter: packet-pool mbufs in use now (rings, held, in flight), so a
        // soak can see them return to their idle level.
        ("mbufs_in_use", u64::from(dp.mbufs_in_use())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    StatsView {
        uptime_secs: core.uptime().as_secs_f64(),
        ports: dp
            .port_stats()
            .iter()
            .zip(&cfg.ports)
            .map(|(s, p)| PortStatsView {
                name: p.name.clone(),
                ipackets: s.ipackets,
                opackets: s.opackets,
                ibytes: s.ibytes,
                obytes: s.obytes,
                imissed: s.imissed,
                ierrors: s.ierrors,
                oerrors: s.oerrors,
                rx_nombuf: s.rx_nombuf,
            })
            .collect(),
        workers: workers
            .iter()
            .zip(dp.worker_lcores())
            .map(|(c, lcore)| WorkerView {
                lcore,
                rx_packets: c.rx_packets,
                tx_packets: c.tx_packets,
                drops: drops(c),
            })
            .collect(),
        drops: drops(&total),
        control,
    }
}

/// The RPF route toward `source`.
pub fn rpf(cfg: &Config, core: &ControlCore, source: Ipv4Addr) -> RpfView {
    let Some((r, kernel)) = core.rpf_with_origin(source) else {
        return RpfView {
            source,
            interface: None,
            next_hop: None,
            prefix: None,
            origin: None,
        };
    };
    let connected = cfg.interfaces.iter().any(|i| {
        i.network() == r.route.network && u32::from(i.netmask()) == u32::from(r.route.mask)
    });
    let origin = match (kernel, connected) {
        (true, _) => "kernel",
        (false, true) => "connected",
        (false, false) => "static",
    };
    RpfView {
        source,
        interface: Some(iface_name(cfg, r.iif)),
        next_hop: (!r.upstream.is_unspecified()).then_some(r.upstream),
        prefix: Some(format!(
            "{}/{}",
            r.route.network,
            u32::from(r.route.mask).count_ones()
        )),
        origin: Some(origin.into()),
    }
}

/// The telemetry replies (`/mrouter/stats`, `/mrouter/mroute`, `/mrouter/interfaces`).
pub fn telemetry(cfg: &Config, core: &ControlCore, dp: &Dataplane) -> Vec<(&'static str, Reply)> {
    let st = stats(cfg, core, dp);
    let mut counters = vec![("uptime_secs".to_string(), st.uptime_secs as u64)];
    for p in &st.ports {
        for (k, v) in [
            ("rx_packets", p.ipackets),
            ("tx_packets", p.opackets),
            ("rx_missed", p.imissed),
            ("rx_nombuf", p.rx_nombuf),
            ("tx_errors", p.oerrors),
        ] {
            counters.push((format!("{}_{k}", p.name), v));
        }
    }
    counters.extend(st.drops.iter().map(|(k, v)| (format!("drop_{k}"), *v)));
    counters.extend(st.control.iter().map(|(k, v)| (format!("control_{k}"), *v)));
    let mroute = mroutes_first(cfg, core, telemetry::MAX_ENTRIES + 1)
        .iter()
        .map(|m| {
            let oifs: Vec<&str> = m.oifs.iter().map(|o| o.interface.as_str()).collect();
            format!(
                "({}, {}) iif {} oifs {} {}",
                m.source,
                m.group,
                m.iif,
                if oifs.is_empty() {
                    "-".into()
                } else {
                    oifs.join(",")
                },
                m.origin
            )
        })
        .collect();
    let ifaces = interfaces(cfg, core, dp)
        .iter()
        .map(|i| {
            let vlan = i.vlan.map(|v| format!(" vlan {v}")).unwrap_or_default();
            format!(
                "{} {} {}{vlan} {} {} mtu {} fragments_out {}",
                i.name, i.address, i.port, i.driver, i.mac, i.mtu, i.fragments_out
            )
        })
        .collect();
    vec![
        ("/mrouter/stats", Reply::Counters(counters)),
        ("/mrouter/mroute", Reply::Lines(mroute)),
        ("/mrouter/interfaces", Reply::Lines(ifaces)),
    ]
}

/// `show igmp interfaces`.
pub fn igmp_interfaces(cfg: &Config, core: &ControlCore) -> Vec<IgmpInterfaceView> {
    let Some(igmp) = core.igmp() else {
        return Vec::new();
    };
    igmp.interfaces(core.uptime())
        .into_iter()
        .map(|i| IgmpInterfaceView {
            name: iface_name(cfg, i.iface.id()),
            address: format!("{}/{}", i.address, i.prefix_len),
            version: i.version,
            querier: i.querier,
            is_querier: i.is_querier,
            next_query_secs: i.next_general_query.map(|d| d.as_secs_f64()),
            other_querier_expires_secs: i.other_querier_expires.map(|d| d.as_secs_f64()),
            query_interval_secs: i.query_interval.as_secs_f64(),
            query_response_interval_secs: i.query_response_interval.as_secs_f64(),
            robustness: i.robustness,
            groups: i.groups,
            sources: i.sources,
            counters: serde_json::to_value(&i.counters).unwrap_or_default(),
        })
        .collect()
}

/// `show igmp proxy`: `None` when no proxy runs.
pub fn igmp_proxy(cfg: &Config, core: &ControlCore) -> Option<IgmpProxyView> {
    let info = core.proxy()?.info(core.uptime());
    Some(IgmpProxyView {
        upstream: iface_name(cfg, info.upstream.id()),
        address: info.address,
        version: info.version,
        querier: info.querier,
        groups: info
            .groups
            .into_iter()
            .map(|g| (g.group, g.filter_mode.to_string(), g.sources))
            .collect(),
        counters: serde_json::to_value(info.counters).unwrap_or_default(),
    })
}

/// `show igmp groups`.
pub fn igmp_groups(cfg: &Config, core: &ControlCore) -> Vec<IgmpGroupView> {
    let Some(igmp) = core.igmp() else {
        return Vec::new();
    };
    let now = core.uptime();
    let mut out = Vec::new();
    for i in igmp.interfaces(now) {
        let name = iface_name(cfg, i.iface.id());
        for g in igmp.groups(i.iface, now) {
            out.push(IgmpGroupView {
                interface: name.clone(),
                group: g.group,
                filter_mode: format!("{:?}", g.filter_mode).to_lowercase(),
                expires_secs: g.group_timer.map(|d| d.as_secs_f64()),
                sources: g
                    .sources
                    .iter()
                    .map(|s| (s.source, s.timer.map(|d| d.as_secs_f64()), s.forwarding))
                    .collect(),
                version: g.compat_mode,
                last_reporter: g.last_reporter,
            });
        }
    }
    out
}

/// `show pim interface`.
pub fn pim_interfaces(cfg: &Config, core: &ControlCore) -> Vec<PimInterfaceView> {
    let Some(pim) = core.protocols().get::<Pim>() else {
        return Vec::new();
    };
    pim.interface_infos(core.uptime())
        .into_iter()
        .map(|i| PimInterfaceView {
            name: iface_name(cfg, i.iface.id()),
            address: format!(
                "{}/{}",
                i.address,
                cfg.interfaces
                    .get(i.iface.config_index())
                    .map_or(32, |c| c.prefix_len)
            ),
            dr: i.dr,
            is_dr: i.is_dr,
            dr_priority: i.dr_priority,
            neighbors: i.neighbors,
            hello_interval_secs: i.hello_interval.as_secs_f64(),
            holdtime_secs: i.holdtime.as_secs_f64(),
            next_hello_secs: i.next_hello.as_secs_f64(),
            generation_id: i.generation_id,
            override_interval_secs: i.effective_override_interval.as_secs_f64(),
            propagation_delay_secs: i.effective_propagation_delay.as_secs_f64(),
            counters: serde_json::to_value(&i.counters).unwrap_or_default(),
        })
        .collect()
}

/// `show pim neighbor`.
pub fn pim_neighbors(cfg: &Config, core: &ControlCore) -> Vec<PimNeighborView> {
    let Some(pim) = core.protocols().get::<Pim>() else {
        return Vec::new();
    };
    pim.neighbor_infos(core.uptime())
        .into_iter()
        .map(|n| PimNeighborView {
            interface: iface_name(cfg, n.iface.id()),
            address: n.address,
            uptime_secs: n.uptime.as_secs_f64(),
            expires_secs: n.expires.map(|d| d.as_secs_f64()),
            holdtime: n.holdtime,
            dr_priority: n.dr_priority,
            generation_id: n.generation_id,
            is_dr: n.is_dr,
        })
        .collect()
}

/// `show pim register`.
pub fn pim_register(cfg: &Config, core: &ControlCore) -> PimRegisterView {
    let Some(pim) = core.protocols().get::<Pim>() else {
        return PimRegisterView {
            dr: Vec::new(),
            rp: Vec::new(),
            counters: serde_json::Value::Null,
        };
    };
    let v = pim.register_view(core.uptime());
    PimRegisterView {
        dr: v
            .dr
            .iter()
            .map(|r| PimRegisterRow {
                source: r.source,
                group: r.group,
                interface: iface_name(cfg, r.iface.id()),
                rp: r.rp,
                state: r.state.to_string(),
                stop_timer_secs: r.stop_timer.map(|d| d.as_secs_f64()),
                keepalive_secs: r.keepalive.as_secs_f64(),
            })
            .collect(),
        rp: v
            .rp
            .iter()
            .map(|r| PimRpRegisterRow {
                source: r.source,
                group: r.group,
                from: r.from.clone(),
                last_secs: r.last.as_secs_f64(),
                spt: r.spt,
            })
            .collect(),
        counters: serde_json::to_value(v.counters).unwrap_or_default(),
    }
}

/// `show pim join`.
pub fn pim_joins(cfg: &Config, core: &ControlCore) -> Vec<PimJoinView> {
    let Some(pim) = core.protocols().get::<Pim>() else {
        return Vec::new();
    };
    let name = |i: crate::interface::Interface| iface_name(cfg, i.id());
    pim.join_infos(core.uptime())
        .into_iter()
        .map(|j| PimJoinView {
            source: j.source.map_or_else(|| "*".to_string(), |s| s.to_string()),
            group: j.group,
            rp: j.rp,
            rpf_interface: j.rpf_iface.map_or_else(|| "-".to_string(), name),
            upstream: j.upstream_neighbor,
            joined: j.joined,
            next_join_secs: j.next_join.map(|d| d.as_secs_f64()),
            downstream: j
                .downstream
                .iter()
                .map(|(i, state, _)| format!("{}:{state}", name(*i)))
                .collect(),
            local: j.local.into_iter().map(name).collect(),
            oifs: j.oifs.into_iter().map(name).collect(),
            spt_bit: j.spt_bit,
            keepalive_secs: j.keepalive.map(|d| d.as_secs_f64()),
        })
        .collect()
}

/// `show pim rp` (empty without PIM).
pub fn pim_rp(core: &ControlCore) -> crate::admin::PimRpView {
    use crate::admin::{PimBsrView, PimRpMappingView, PimRpView};
    let Some(pim) = core.protocols().get::<Pim>() else {
        return PimRpView {
            bsr: None,
            mappings: Vec::new(),
            bootstrap: Default::default(),
        };
    };
    let info = pim.rp_info(core.uptime());
    let bootstrap = match serde_json::to_value(info.bootstrap) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_u64()?)))
            .collect(),
        _ => Default::default(),
    };
    PimRpView {
        bsr: info.bsr.map(|b| PimBsrView {
            address: b.address,
            priority: b.priority,
            hash_mask_len: b.hash_mask_len,
            uptime_secs: b.uptime_secs,
            expires_secs: b.expires_secs,
        }),
        mappings: info
            .mappings
            .into_iter()
            .map(|m| PimRpMappingView {
                groups: m.groups,
                rp: m.rp,
                origin: m.origin.to_string(),
                priority: m.priority,
                expires_secs: m.expires_secs,
            })
            .collect(),
        bootstrap,
    }
}

/// `show pim assert`.
pub fn pim_asserts(cfg: &Config, core: &ControlCore) -> Vec<PimAssertView> {
    let Some(pim) = core.protocols().get::<Pim>() else {
        return Vec::new();
    };
    pim.assert_infos(core.uptime())
        .into_iter()
        .map(|a| PimAssertView {
            interface: iface_name(cfg, a.iface.id()),
            source: a.source.map_or_else(|| "*".to_string(), |s| s.to_string()),
            group: a.group,
            state: a.state.to_string(),
            winner: a.winner,
            rpt: a.rpt,
            metric_preference: a.preference,
            metric: a.metric,
            timer_secs: a.timer.as_secs_f64(),
        })
        .collect()
}
