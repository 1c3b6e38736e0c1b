//! Kernel twins: a Linux interface beside every mrouter interface (the exception path of VPP's
//! linux-cp and grout), so the kernel answers ARP and ping for the router's addresses and
//! unmodified routing daemons (FRR) run on the twins.
//!
//! Each twin is a `net_tap` port (see `dataplane::tap` for why tap and not virtio-user) that
//! the daemon creates at start ([`start`]) in the namespace mrouter runs in, named from the
//! interface (`kernel_twin_name`), with the port's MAC address and the interface's MTU and
//! IPv4 address (set over rtnetlink: `crate::rtnl`). This file is the side that talks to the
//! kernel; the control core runs the twins from then on (`control_core/twins.rs`: frames to
//! and from the kernel, bounded and counted, and the twin's link following its port's).
//!
//! A twin that cannot be made (no `/dev/net/tun`, a name taken) is reported once and left
//! out: the interface then works as without one.

pub mod raw;

use crate::config::{Config, InterfaceConfig};
use crate::control_core::{ControlCore, DataPlane, KernelRoutes, TwinPlan};
use crate::interface::interface_id;
use crate::rib_kernel::KernelRib;
use crate::rtnl::Rtnl;
use std::time::Duration;

/// Makes the twins ([`start`]) and, when the config reads RPF routes from the kernel
/// (`rpf.kernel`), subscribes to the kernel's routes; hands both to the control core at `now`.
pub fn start_with_core(
    cfg: &Config,
    now: Duration,
    core: &mut ControlCore,
    dp: &mut dyn DataPlane,
) {
    let plans = start(cfg, dp);
    let kernel = cfg.rpf_kernel_table.and_then(|table| {
        let interfaces = plans
            .iter()
            .map(|p| (p.ifindex, interface_id(p.iface)))
            .collect();
        match KernelRib::start(table, interfaces) {
            Ok(k) => Some(Box::new(k) as Box<dyn KernelRoutes>),
            Err(e) => {
                eprintln!("mrouter: warning: kernel routes for RPF: {e}");
                None
            }
        }
    });
    let twins = !plans.is_empty();
    core.start_twins(now, plans, kernel, dp);
    // Unicast PIM (Register, Register-Stop) through the kernel, which routes it over the
    // twins: only where there are twins.
    if twins {
        match raw::RawPim::open() {
            Ok(raw) => core.set_unicast_out(Box::new(raw)),
            Err(e) => eprintln!("mrouter: warning: no raw PIM socket (no Register path): {e}"),
        }
    }
}

/// Creates the twin of every interface that has one (`kernel_twin`) and gives it its
/// address. A twin that fails is reported on stderr and left out.
pub fn start(cfg: &Config, dp: &mut dyn DataPlane) -> Vec<TwinPlan> {
    let mut plans = Vec::new();
    let mut rtnl = None;
    for (idx, iface) in cfg.interfaces.iter().enumerate() {
        let Some(name) = &iface.kernel_twin else {
            continue;
        };
        let device = &cfg.ports[iface.port].device;
        match create(dp, &mut rtnl, iface, name, device) {
            Ok((tap, ifindex)) => {
                plans.push(TwinPlan {
                    iface: idx,
                    port: iface.port as u16,
                    name: name.clone(),
                    tap,
                    ifindex,
                });
                println!(
                    "mrouter: kernel twin {name} for {} ({}/{})",
                    iface.name, iface.address, iface.prefix_len
                );
            }
            Err(e) => eprintln!(
                "mrouter: warning: no kernel twin for {}: {e} (ARP and ping go unanswered there; kernel_twin: false silences this)",
                iface.name
            ),
        }
    }
    plans
}

/// Makes one twin: its tap, IPv6 off (mrouter routes IPv4 only; the kernel would otherwise
/// send router solicitations and MLD out of the port), its address.
fn create(
    dp: &mut dyn DataPlane,
    rtnl: &mut Option<Rtnl>,
    iface: &InterfaceConfig,
    name: &str,
    device: &str,
) -> Result<(usize, u32), String> {
    let (mac, mtu) = dp
        .port_mac_mtu(iface.port as u16)
        .ok_or_else(|| format!("port {} not found", iface.port))?;
    let tap = dp.add_tap(name, mac, mtu)?;
    let ifindex =
        nix::net::if_::if_nametoindex(name).map_err(|e| format!("kernel interface {name}: {e}"))?;
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    // An af_packet port's kernel interface is in this namespace too, with the same MAC: the
    // kernel would answer ARP and ping there as well as on the twin (Linux answers for any
    // local address on any interface). It must not: the twin is the router's kernel side.
    let spec = dataplane::port_spec::PortSpec {
        device: device.to_string(),
        rx_queues: 1,
        tx_queues: 1,
        mtu: None,
        interface_mtu: None,
        vlans: Vec::new(),
    };
    if let Some(k) = spec.kernel_iface() {
        for (key, value) in [("arp_ignore", "1"), ("rp_filter", "1")] {
            let _ = std::fs::write(format!("/proc/sys/net/ipv4/conf/{k}/{key}"), value);
        }
    }
    if rtnl.is_none() {
        *rtnl = Some(Rtnl::new().map_err(|e| format!("rtnetlink: {e}"))?);
    }
    if let Some(r) = rtnl.as_mut() {
        r.add_address(ifindex, iface.address, iface.prefix_len)
            .map_err(|e| {
                format!(
                    "address {}/{} on {name}: {e}",
                    iface.address, iface.prefix_len
                )
            })?;
    }
    Ok((tap, ifindex))
}
