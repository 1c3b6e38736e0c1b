//! Whole copies of a packet (`Mbuf::copy_source` and `CopySource`, what replication sends to
//! every port but the last) on real DPDK mbufs: every frame size from an Ethernet header to
//! 1500 bytes is copied byte for byte, with and without a source MAC written into the copy,
//! from a filled stash and from the pool, and into pools whose buffers are smaller than the
//! headroom plus the copy's block (the cold path: an exact copy when the packet fits, a deep
//! copy when it does not); a one-line source (`Mbuf::line_source`, frames of 12-64 bytes)
//! copies the same bytes as the general one.

mod common;

use dataplane::dpdk::{CopyWithMac, Mbuf, MbufStash, Mempool, MBUF_HEADROOM};

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn whole_copies_are_byte_exact_for_every_size_and_buffer() {
    let (_eal, _runtime) = common::eal("copies", "0", &[]);
    let source = Mempool::new("copies-src", 511, 0, 0).expect("source pool");
    // Buffers with room for 100 bytes after the headroom: a 65-128 byte packet's block (128
    // bytes) does not fit, the packet itself does; 101 bytes and more do not fit at all.
    let small = Mempool::with_data_room("copies-small", 511, 0, 0, MBUF_HEADROOM + 100)
        .expect("small pool");
    let mac = [2, 0, 0, 0, 0, 0x42];
    let (mut exact, mut lines) = (0, 0);
    for (pool, sizes) in [
        (&source, (14..=1500).collect::<Vec<usize>>()),
        (&small, (14..=300).collect()),
    ] {
        for len in sizes {
            let f = frame(len, len as u8);
            let m = Mbuf::from_bytes(&source, &f).expect("source mbuf");
            let src = m.copy_source().expect("one segment");
            let line = m.line_source();
            assert_eq!(
                line.is_some(),
                len <= 64,
                "len {len}: one line up to 64 bytes"
            );
            if let Some(line) = line {
                for stashed in [true, false] {
                    let mut stash = MbufStash::with_capacity(4);
                    if stashed {
                        stash.fill(pool, 1);
                    }
                    let copy = line
                        .copy_with_source_mac(pool, &mut stash, mac)
                        .expect("the pool has mbufs");
                    let mut want = f.clone();
                    want[6..12].copy_from_slice(&mac);
                    assert_eq!(copy.to_vec(), want, "line, len {len}, stashed {stashed}");
                    assert_eq!(copy.pkt_len() as usize, len);
                    lines += 1;
                    if !stash.is_empty() {
                        stash.release();
                    }
                }
            }
            for (stashed, with_mac) in [(true, false), (true, true), (false, false), (false, true)]
            {
                let mut stash = MbufStash::with_capacity(4);
                if stashed {
                    stash.fill(pool, 1);
                }
                let copy = if with_mac {
                    src.copy_with_source_mac(pool, &mut stash, mac)
                } else {
                    src.copy(pool, &mut stash)
                }
                .expect("the pool has mbufs");
                let mut want = f.clone();
                if with_mac && len >= 12 {
                    want[6..12].copy_from_slice(&mac);
                }
                assert_eq!(
                    copy.to_vec(),
                    want,
                    "len {len}, small pool {}, stashed {stashed}, mac {with_mac}",
                    std::ptr::eq(pool, &small)
                );
                assert_eq!(copy.pkt_len() as usize, len);
                if copy.nb_segs() == 1 {
                    exact += 1;
                }
                if !stash.is_empty() {
                    stash.release();
                }
            }
            // The source is untouched by its copies.
            assert_eq!(m.to_vec(), f, "source of len {len}");
        }
    }
    // Every copy into the usual pool, and into the small one up to 100 bytes, is one segment.
    assert_eq!(exact, (1500 - 14 + 1) * 4 + (100 - 14 + 1) * 4);
    // Every 14-64 byte frame went the one-line way too, in both pools and with both stashes.
    assert_eq!(lines, (64 - 14 + 1) * 2 * 2);
}
