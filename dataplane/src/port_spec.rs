//! The ports as the config gives them ([`PortSpec`]), what EAL needs to create them, and
//! the MTU their copies are sent with.

use crate::dpdk::Port;

/// One port as the router wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Device as given in the config: vdev devargs (`net_pcap0,rx_pcap=x.pcap`) or a PCI address.
    pub device: String,
    /// Rx queues (spread over the workers).
    pub rx_queues: u16,
    /// Tx queues wanted; raised to the number of workers, which each need their own. One more
    /// than the workers' gives the control core a queue of its own; where this does not ask
    /// for one, the control core gets one only if the device has a queue to spare and is not
    /// a memif port (whose peer limits the count: see [`crate::port_set`]).
    pub tx_queues: u16,
    /// MTU to set on the device, if any.
    pub mtu: Option<u16>,
    /// MTU of the interface on the port, if set (at most the port's): copies larger than
    /// this are fragmented or dropped. `None`: the port's MTU.
    pub interface_mtu: Option<u16>,
    /// The port's 802.1Q VLAN interfaces, each a slot of its own after the ports' (see
    /// [`crate::worker::vlan`]); empty: untagged only.
    pub vlans: Vec<crate::worker::vlan::VlanSpec>,
}

impl PortSpec {
    /// The name EAL gives the device: the devargs up to the first comma.
    pub fn eal_name(&self) -> &str {
        self.device.split(',').next().unwrap_or(&self.device)
    }

    /// Whether the device is a virtual device (`net_*`) rather than a bus address.
    pub fn is_vdev(&self) -> bool {
        self.device.starts_with("net_")
    }

    /// The kernel interface behind an af_packet port (`iface=` in its devargs). That driver
    /// reports its link up from the start whatever the interface does, so the kernel's
    /// operational state is read instead.
    pub fn kernel_iface(&self) -> Option<&str> {
        if !self.device.starts_with("net_af_packet") {
            return None;
        }
        self.device
            .split(',')
            .find_map(|kv| kv.strip_prefix("iface="))
            .filter(|i| !i.is_empty() && !i.contains(['/', '.']))
    }

    /// The largest frame an af_packet port can send: its ring's frame size (`framesz=`,
    /// default 2048) less the 32 bytes of the ring's frame header, whatever the kernel
    /// interface's MTU (the driver frees larger frames without counting them). `None` for
    /// other devices.
    pub fn af_packet_max_frame(&self) -> Option<u32> {
        self.kernel_iface()?;
        let framesz = self
            .device
            .split(',')
            .find_map(|kv| kv.strip_prefix("framesz="))
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(2048);
        Some(framesz.saturating_sub(32))
    }

    /// Whether the device's queue count is set by its peer (memif: a client offering more
    /// rings than the server has queues is refused), so no queue beyond what the config asks
    /// for is added for the control core.
    pub fn peer_limited(&self) -> bool {
        self.device.starts_with("net_memif")
    }

    /// A memif client (the driver's default role), which connects only when started: it is
    /// restarted while its link stays down.
    pub fn reconnects_by_restart(&self) -> bool {
        self.peer_limited() && !self.device.split(',').any(|kv| kv == "role=server")
    }

    /// The socket a memif client connects to (`socket=`, default `/run/memif.sock`), so a
    /// retry can first look whether a server listens there.
    pub fn memif_socket(&self) -> Option<&str> {
        if !self.reconnects_by_restart() {
            return None;
        }
        Some(
            self.device
                .split(',')
                .find_map(|kv| kv.strip_prefix("socket="))
                .unwrap_or("/run/memif.sock"),
        )
    }

    /// A memif port's identity in its devargs, as the driver keeps it: `id=` (default 0),
    /// whether `role=server` (the default role is client) and `socket=` (default
    /// `/run/memif.sock`), for [`crate::dpdk::Port::guard_memif_bursts`]. None for other
    /// devices.
    pub fn memif_identity(&self) -> Option<(u32, bool, &str)> {
        memif_identity(&self.device)
    }

    /// The EAL arguments that create or allow the device.
    pub fn eal_args(&self) -> [String; 2] {
        if self.is_vdev() {
            ["--vdev".into(), self.device.clone()]
        } else {
            ["-a".into(), self.device.clone()]
        }
    }
}

/// [`PortSpec::memif_identity`] of a device string (`net_memif0,role=server,...`).
pub fn memif_identity(device: &str) -> Option<(u32, bool, &str)> {
    if !device.starts_with("net_memif") {
        return None;
    }
    let arg = |key: &str| {
        device
            .split(',')
            .skip(1)
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let id = arg("id").map_or(Some(0), |v| v.parse().ok())?;
    Some((
        id,
        arg("role") == Some("server"),
        arg("socket").unwrap_or("/run/memif.sock"),
    ))
}

/// EAL arguments for a process that runs on virtual devices only, with no hugepages and no
/// shared runtime files (tests and tools): `program --no-huge -m MEMORY_MB --no-shconf
/// --no-pci -l LCORES --log-level *:warning`, then each port's device.
pub fn vdev_eal_args(
    program: &str,
    memory_mb: u32,
    lcores: &str,
    ports: &[PortSpec],
) -> Vec<String> {
    let mut args: Vec<String> = [
        program,
        "--no-huge",
        "-m",
        &memory_mb.to_string(),
        "--no-shconf",
        "--no-pci",
        "-l",
        lcores,
        "--log-level",
        "*:warning",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(ports.iter().flat_map(PortSpec::eal_args));
    args
}

/// The MTU of `port` (`spec` as configured): the device's, and for an af_packet port the
/// smaller of its kernel interface's MTU (larger frames are refused by the kernel) and what
/// its ring frames hold ([`PortSpec::af_packet_max_frame`]); the driver itself reports 1500
/// whatever the interface has.
pub fn port_mtu(spec: &PortSpec, port: &Port) -> u16 {
    let Some(max_frame) = spec.af_packet_max_frame() else {
        return port.mtu();
    };
    let ring = max_frame.saturating_sub(crate::dpdk::ETHER_HEADER_LEN as u32);
    let kernel = spec
        .kernel_iface()
        .and_then(|i| std::fs::read_to_string(format!("/sys/class/net/{i}/mtu")).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or_else(|| u32::from(port.mtu()));
    kernel.min(ring).min(u32::from(u16::MAX)) as u16
}

#[cfg(test)]
mod tests {
    use super::memif_identity;

    #[test]
    fn a_memif_devices_identity_is_its_id_role_and_socket_with_the_drivers_defaults() {
        assert_eq!(
            memif_identity("net_memif0"),
            Some((0, false, "/run/memif.sock"))
        );
        assert_eq!(
            memif_identity("net_memif3,role=server,socket=/run/m.sock,id=7,rsize=12"),
            Some((7, true, "/run/m.sock"))
        );
        assert_eq!(
            memif_identity("net_memif1,role=client,socket=/tmp/x"),
            Some((0, false, "/tmp/x"))
        );
        // An id the driver would refuse too; other devices have none.
        assert_eq!(memif_identity("net_memif0,id=x"), None);
        assert_eq!(memif_identity("net_af_packet0,iface=eth0"), None);
    }
}
