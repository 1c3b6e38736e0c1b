//! 802.1Q VLAN interfaces: which interface a tagged frame arrived on, and the tag a copy
//! leaves with. Everything here is off the fast path: an untagged frame never reaches it
//! (the fast classifier requires EtherType IPv4, so a tagged frame goes to the full one,
//! which hands it here), and a copy reaches it only through an outgoing interface that is a
//! VLAN interface.
//!
//! The data plane names interfaces by *slot*: slot `p` (below the number of ports) is port
//! `p`'s untagged interface, the slots from the number of ports on are the VLAN interfaces,
//! ports in order, each port's in the order given (see [`VlanMap::new`]). The forwarding
//! table's incoming and outgoing interfaces, the per-entry counters and what the workers
//! report (misses, wrong-interface signals, punted frames) all use slots; a port without
//! VLAN interfaces has only its own slot, so nothing changes for it.
//!
//! Received: a tag whose VLAN ID belongs to an interface of the port is removed (the frame is
//! then classified and forwarded as an untagged one of that interface, punted frames
//! included); priority-tagged frames (VLAN ID 0) belong to the port's untagged interface; a
//! tag for no interface, an 802.1ad (0x88a8) outer tag and a second tag (QinQ) are dropped
//! and counted as `unknown_vlan`, per port. The priority bits of a received tag are not
//! kept: copies leave with priority 0 (software tag insert; see the README's known limits).

use super::DropReason;
use crate::dpdk::Mbuf;
use crate::wire::ether;
use std::sync::atomic::{AtomicU64, Ordering};

/// 802.1ad service tag (QinQ outer tag): not supported, counted as an unknown VLAN.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Where the tag goes: behind the two MAC addresses.
pub const TAG_AT: usize = 12;
/// Bytes of one 802.1Q tag (TPID and TCI).
pub const TAG_LEN: usize = 4;

/// One port's VLAN interfaces: (VLAN ID, slot), sorted by VLAN ID.
type VlanSlots = Box<[(u16, u16)]>;

/// One VLAN interface as the data plane starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanSpec {
    /// VLAN ID, 1..=4094.
    pub vid: u16,
    /// The interface's IP MTU; `None`: the port's.
    pub mtu: Option<u16>,
}

/// Where copies for one VLAN interface go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanOut {
    /// The port (index) the tagged copies leave on.
    pub port: u16,
    /// The tag as it goes on the wire: TPID 0x8100, priority 0, the VLAN ID.
    pub tag: [u8; TAG_LEN],
    /// The largest untagged frame a copy may be before its tag goes in: the interface's MTU
    /// plus the Ethernet header (the tag's 4 bytes are not part of the MTU).
    pub max_frame: u32,
}

/// A worker's VLAN interfaces: by port for receiving, by slot for sending, and the frames
/// that named no interface, by port (this worker writes them, anyone reads).
#[derive(Debug)]
pub struct VlanMap {
    ports: usize,
    /// Per port: (VLAN ID, slot), sorted by VLAN ID.
    rx: Box<[VlanSlots]>,
    /// By slot less the number of ports.
    tx: Box<[VlanOut]>,
    unknown: Box<[AtomicU64]>,
}

impl VlanMap {
    /// The map for ports whose VLAN interfaces are `vlans[p]` and whose MTU is `mtus[p]`; slots
    /// are given as the module doc says.
    pub fn new(vlans: &[&[VlanSpec]], mtus: &[u16]) -> VlanMap {
        let ports = vlans.len();
        let mut rx = Vec::with_capacity(ports);
        let mut tx = Vec::new();
        for (port, list) in vlans.iter().enumerate() {
            let mut by_vid = Vec::with_capacity(list.len());
            for v in list.iter() {
                let slot = (ports + tx.len()) as u16;
                by_vid.push((v.vid, slot));
                let tci = v.vid & 0x0fff;
                let [a, b] = ether::ETHERTYPE_VLAN.to_be_bytes();
                let [c, d] = tci.to_be_bytes();
                let mtu = v.mtu.unwrap_or(mtus.get(port).copied().unwrap_or(1500));
                tx.push(VlanOut {
                    port: port as u16,
                    tag: [a, b, c, d],
                    max_frame: u32::from(mtu) + ether::HEADER_LEN as u32,
                });
            }
            by_vid.sort_unstable();
            rx.push(by_vid.into_boxed_slice());
        }
        VlanMap {
            ports,
            rx: rx.into(),
            tx: tx.into(),
            unknown: (0..ports).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// No VLAN interfaces on `ports` ports.
    pub fn untagged(ports: usize) -> VlanMap {
        let none: Vec<&[VlanSpec]> = vec![&[]; ports];
        VlanMap::new(&none, &vec![1500; ports])
    }

    /// Number of slots: ports plus VLAN interfaces.
    pub fn slots(&self) -> usize {
        self.ports + self.tx.len()
    }

    /// Where copies for `slot` go, if it is a VLAN interface's.
    #[inline]
    pub fn out(&self, slot: u16) -> Option<&VlanOut> {
        usize::from(slot)
            .checked_sub(self.ports)
            .and_then(|i| self.tx.get(i))
    }

    /// The slot of VLAN `vid` on `port`; VLAN 0 (priority tag) is the port's own.
    pub fn slot(&self, port: u16, vid: u16) -> Option<u16> {
        if vid == 0 {
            return Some(port);
        }
        let list = self.rx.get(usize::from(port))?;
        list.binary_search_by_key(&vid, |&(v, _)| v)
            .ok()
            .map(|i| list[i].1)
    }

    /// Frames with a tag for no interface of each port, by port (this worker's).
    pub fn unknown(&self) -> Vec<u64> {
        self.unknown
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect()
    }

    fn count_unknown(&self, port: u16) {
        if let Some(a) = self.unknown.get(usize::from(port)) {
            // Written by this worker only: a load and a store, no read-modify-write.
            a.store(a.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    /// A received frame that carries a tag (its EtherType is 0x8100 or 0x88a8): the slot of
    /// the interface it belongs to, with the tag removed from `m`, or the reason it is dropped
    /// (`UnknownVlan`, counted here per port, or `BadHeader` for a frame cut inside its tag).
    pub fn receive(&self, m: &mut Mbuf, port: u16) -> Result<u16, DropReason> {
        let slot = match tagged_vid(m.data()) {
            Tag::Vid(vid) => self.slot(port, vid),
            Tag::Unsupported => None,
            Tag::Short => return Err(DropReason::BadHeader),
        };
        let Some(slot) = slot else {
            self.count_unknown(port);
            return Err(DropReason::UnknownVlan);
        };
        if !m.remove_front(TAG_AT, TAG_LEN) {
            return Err(DropReason::BadHeader);
        }
        Ok(slot)
    }
}

/// The MTU of every VLAN interface, in slot order (its own, else its port's), or the first
/// that is larger than its port's: (port, MTU, port's MTU).
pub fn slot_mtus(vlans: &[&[VlanSpec]], port_mtus: &[u16]) -> Result<Vec<u16>, (usize, u16, u16)> {
    let mut out = Vec::new();
    for (port, list) in vlans.iter().enumerate() {
        let port_mtu = port_mtus.get(port).copied().unwrap_or(1500);
        for v in list.iter() {
            match v.mtu {
                Some(mtu) if mtu > port_mtu => return Err((port, mtu, port_mtu)),
                Some(mtu) => out.push(mtu),
                None => out.push(port_mtu),
            }
        }
    }
    Ok(out)
}

/// What the tag of a frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// One 802.1Q tag with this VLAN ID.
    Vid(u16),
    /// An 802.1ad outer tag, or a second tag inside the first (QinQ).
    Unsupported,
    /// Shorter than an Ethernet header and a tag.
    Short,
}

/// Whether `frame`'s EtherType says it carries a tag (802.1Q or 802.1ad).
#[inline]
pub fn is_tagged(frame: &[u8]) -> bool {
    matches!(frame.get(12..14), Some(&[0x81, 0x00]) | Some(&[0x88, 0xa8]))
}

/// The tag of a tagged frame (see [`is_tagged`]).
pub fn tagged_vid(frame: &[u8]) -> Tag {
    let Some(h) = frame.get(..ether::HEADER_LEN + TAG_LEN) else {
        return Tag::Short;
    };
    let tpid = u16::from_be_bytes([h[12], h[13]]);
    let inner = u16::from_be_bytes([h[16], h[17]]);
    if tpid != ether::ETHERTYPE_VLAN || inner == ether::ETHERTYPE_VLAN || inner == ETHERTYPE_QINQ {
        return Tag::Unsupported;
    }
    Tag::Vid(u16::from_be_bytes([h[14], h[15]]) & 0x0fff)
}

/// `frame` with `tag` put in behind its MAC addresses (for frames the control core sends).
pub fn with_tag(frame: &[u8], tag: [u8; TAG_LEN]) -> Vec<u8> {
    let at = TAG_AT.min(frame.len());
    let mut out = Vec::with_capacity(frame.len() + TAG_LEN);
    out.extend_from_slice(&frame[..at]);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&frame[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(tpid: u16, tci: u16, inner: u16) -> Vec<u8> {
        let mut f = vec![0xffu8; 12];
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
        f.extend_from_slice(&inner.to_be_bytes());
        f.extend_from_slice(&[0x45; 30]);
        f
    }

    #[test]
    fn tags_are_read_with_priority_bits_ignored() {
        assert!(is_tagged(&tagged(0x8100, 10, 0x0800)));
        assert!(is_tagged(&tagged(0x88a8, 10, 0x0800)));
        assert!(!is_tagged(&tagged(0x0800, 10, 0x0800)));
        assert_eq!(tagged_vid(&tagged(0x8100, 0xe00a, 0x0800)), Tag::Vid(10));
        assert_eq!(tagged_vid(&tagged(0x8100, 0, 0x0800)), Tag::Vid(0));
        assert_eq!(tagged_vid(&tagged(0x88a8, 10, 0x0800)), Tag::Unsupported);
        assert_eq!(tagged_vid(&tagged(0x8100, 10, 0x8100)), Tag::Unsupported);
        assert_eq!(tagged_vid(&tagged(0x8100, 10, 0x0800)[..17]), Tag::Short);
    }

    #[test]
    fn slots_follow_the_ports_then_the_vlans_in_order() {
        let a = [
            VlanSpec { vid: 30, mtu: None },
            VlanSpec {
                vid: 20,
                mtu: Some(1400),
            },
        ];
        let b = [VlanSpec { vid: 20, mtu: None }];
        let map = VlanMap::new(&[&a, &[], &b], &[1500, 1500, 9000]);
        assert_eq!(map.slots(), 6);
        assert_eq!(map.slot(0, 30), Some(3));
        assert_eq!(map.slot(0, 20), Some(4));
        assert_eq!(map.slot(2, 20), Some(5));
        assert_eq!(map.slot(1, 20), None);
        assert_eq!(map.slot(1, 0), Some(1));
        assert_eq!(map.slot(9, 20), None);
        assert_eq!(map.out(2), None);
        let out = map.out(4).unwrap();
        assert_eq!(
            (out.port, out.tag, out.max_frame),
            (0, [0x81, 0, 0, 20], 1414)
        );
        assert_eq!(map.out(5).unwrap().max_frame, 9014);
        assert_eq!(map.out(6), None);
    }

    #[test]
    fn vlan_mtus_default_to_their_ports_and_may_not_exceed_them() {
        let a = [
            VlanSpec { vid: 2, mtu: None },
            VlanSpec {
                vid: 3,
                mtu: Some(1400),
            },
        ];
        let b = [VlanSpec { vid: 2, mtu: None }];
        assert_eq!(
            slot_mtus(&[&a, &b], &[1500, 9000]),
            Ok(vec![1500, 1400, 9000])
        );
        let too_big = [VlanSpec {
            vid: 2,
            mtu: Some(1600),
        }];
        assert_eq!(
            slot_mtus(&[&[], &too_big], &[1500, 1500]),
            Err((1, 1600, 1500))
        );
    }

    #[test]
    fn a_tag_goes_in_behind_the_macs() {
        let f: Vec<u8> = (0..20).collect();
        let t = with_tag(&f, [0x81, 0, 0, 7]);
        assert_eq!(&t[..12], &f[..12]);
        assert_eq!(&t[12..16], &[0x81, 0, 0, 7]);
        assert_eq!(&t[16..], &f[12..]);
    }
}
