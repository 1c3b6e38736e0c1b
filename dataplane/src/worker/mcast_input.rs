//! Stage 1: is this frame a multicast IPv4 packet we may forward, and what is its flow?
//!
//! Pure functions over the frame's bytes (tested without DPDK). Only the first mbuf segment is
//! looked at; every header we need lives there for any frame a PMD delivers.
//!
//! Two classifiers: [`classify_fast`] accepts only the common shape of a routed multicast packet
//! (untagged IPv4, IHL 5, not a fragment, TTL above 1, a multicast group outside 224.0.0.0/24,
//! not IGMP or PIM, lengths and checksum right) with a few wide loads and compares, and says
//! nothing about anything else; [`classify`] is the full classifier that decides every other
//! frame (and names the drop reason). Every frame `classify_fast` accepts, `classify` accepts
//! with the same flow (tested on mutated frames), so the fast path changes no verdict.

use super::DropReason;
use crate::wire::{ether, ipv4};

/// The parts of a packet that routing needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flow {
    /// Source address, host order.
    pub source: u32,
    /// Group (destination) address, host order.
    pub group: u32,
    /// TTL as received.
    pub ttl: u8,
}

/// Classifies one frame: the flow to look up, or why it cannot be forwarded.
///
/// Order decides which counter a bad packet lands in: the Ethernet type first, then the IPv4
/// lengths and the header checksum (a broken header is a bad header whatever its destination
/// says, so the destination is believed only after the checksum), then the destination.
#[inline]
pub fn classify(frame: &[u8]) -> Result<Flow, DropReason> {
    let Ok(eth) = ether::Frame::new_checked(frame) else {
        return Err(DropReason::BadHeader);
    };
    if eth.ethertype() != ether::ETHERTYPE_IPV4 {
        return Err(DropReason::NotIpv4);
    }
    let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
        return Err(DropReason::BadHeader);
    };
    if !ip.verify_checksum() {
        return Err(DropReason::BadHeader);
    }
    let group = ip.dst_u32();
    // 224.0.0.0/4
    if group >> 28 != 0xe {
        return Err(DropReason::NotMulticast);
    }
    // 224.0.0.0/24 is link-local (RFC 5771), IGMP and PIM are control: never forwarded.
    if group >> 8 == 0xe0_00_00 || matches!(ip.protocol(), ipv4::PROTOCOL_IGMP | ipv4::PROTOCOL_PIM)
    {
        return Err(DropReason::LocalControl);
    }
    Ok(Flow {
        source: ip.src_u32(),
        group,
        ttl: ip.ttl(),
    })
}

/// Byte offsets of the fields the fast path reads (Ethernet header, then IPv4 with IHL 5).
mod at {
    pub const ETHERTYPE: usize = 12;
    pub const TOTAL_LEN: usize = 16;
    pub const FRAG: usize = 20;
    pub const TTL: usize = 22;
    pub const PROTOCOL: usize = 23;
    pub const SRC: usize = 26;
    pub const DST: usize = 30;
    pub const END: usize = 34;
}

#[inline(always)]
fn be16(f: &[u8; at::END], i: usize) -> u16 {
    u16::from_be_bytes([f[i], f[i + 1]])
}

#[inline(always)]
fn be32(f: &[u8; at::END], i: usize) -> u32 {
    u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]])
}

/// The flow of a frame of the common shape (see the module doc), or `None` for any other
/// frame, which then goes to [`classify`]. `verify_checksum: false` skips the header checksum
/// for frames whose port checked it already (rx offload flag "good").
#[inline(always)]
pub fn classify_fast(frame: &[u8], verify_checksum: bool) -> Option<Flow> {
    let f: &[u8; at::END] = frame.get(..at::END)?.try_into().ok()?;
    // Ethertype IPv4 and version 4 / IHL 5 in one compare (the fourth byte is the DSCP).
    let shape = be32(f, at::ETHERTYPE) & 0xffff_ff00 == 0x0800_4500;
    let total = usize::from(be16(f, at::TOTAL_LEN));
    let lengths = total >= 20 && total <= frame.len() - ether::HEADER_LEN;
    // Neither MF nor a fragment offset (DF may be set).
    let whole = be16(f, at::FRAG) & 0x3fff == 0;
    let ttl = f[at::TTL];
    let proto = f[at::PROTOCOL];
    let group = be32(f, at::DST);
    let routed = group >> 28 == 0xe && group >> 8 != 0xe0_00_00;
    let data = proto != ipv4::PROTOCOL_IGMP && proto != ipv4::PROTOCOL_PIM;
    // Non-short-circuit ANDs: one branch for the whole shape.
    if !(shape & lengths & whole & (ttl > 1) & routed & data) {
        return None;
    }
    if verify_checksum && !header_checksum_ok(f) {
        return None;
    }
    Some(Flow {
        source: be32(f, at::SRC),
        group,
        ttl,
    })
}

/// RFC 1071 over the 20 header bytes of an IHL-5 packet. The one's-complement sum folds the
/// plain sum of the header's five 32-bit words (loaded in either byte order) into 16 bits by
/// end-around carries, and each carry keeps the value modulo 0xffff (2^16 = 1 there), so the
/// folded sum is 0xffff exactly when the plain sum is a non-zero multiple of 0xffff: one
/// remainder by a constant (a multiply and a subtract) instead of four folds. Both zeros are
/// accepted, as in [`ipv4::Packet::verify_checksum`]; an all-zero header is not.
#[inline(always)]
fn header_checksum_ok(f: &[u8; at::END]) -> bool {
    let h = ether::HEADER_LEN;
    let mut sum = 0u64;
    for k in 0..5 {
        let i = h + 4 * k;
        sum += u64::from(u32::from_ne_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]));
    }
    sum != 0 && sum.is_multiple_of(0xffff)
}

/// How many frames [`classify_fast4`] takes at once.
pub const LANES: usize = 4;

/// What a lane of a frame too short for the fast path reads instead (never accepted: its
/// Ethernet type is 0).
#[cfg(target_arch = "x86_64")]
static TOO_SHORT: [u8; at::END] = [0; at::END];

/// What a lane-wise classifier ([`classify_fast4`], [`lanes8::classify`]) found of `N` frames:
/// bit `k` of `mask` is set exactly when `classify_fast(frames[k], verify & 1 << k != 0)` is
/// `Some`, and then lane `k` of `source`, `group` and `ttl` is its flow (host order); the
/// other lanes hold anything.
#[derive(Debug, Clone, Copy)]
pub struct Lanes<const N: usize = LANES> {
    /// The lanes taken.
    pub mask: u32,
    /// Source addresses, host order.
    pub source: [u32; N],
    /// Groups, host order.
    pub group: [u32; N],
    /// TTLs as received.
    pub ttl: [u32; N],
}

impl<const N: usize> Default for Lanes<N> {
    fn default() -> Self {
        Lanes {
            mask: 0,
            source: [0; N],
            group: [0; N],
            ttl: [0; N],
        }
    }
}

impl<const N: usize> Lanes<N> {
    /// Lane `k`'s flow (meaningful only when its bit of `mask` is set; `k` below `N`).
    #[inline(always)]
    pub fn flow(&self, k: usize) -> Flow {
        Flow {
            source: self.source[k],
            group: self.group[k],
            ttl: self.ttl[k] as u8,
        }
    }
}

/// Four frames through [`classify_fast`]'s checks side by side (see [`Lanes`]); tested on
/// mutated frames.
///
/// On x86-64 the checks are SSE2 instructions over four lanes, one lane per frame (see
/// [`lanes`]); elsewhere each frame goes through [`classify_fast`].
#[inline(always)]
pub fn classify_fast4(frames: [&[u8]; LANES], verify: u32) -> Lanes {
    #[cfg(target_arch = "x86_64")]
    {
        lanes::classify(frames, verify)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut out = Lanes::default();
        for (k, frame) in frames.iter().enumerate() {
            if let Some(f) = classify_fast(frame, verify >> k & 1 != 0) {
                out.source[k] = f.source;
                out.group[k] = f.group;
                out.ttl[k] = u32::from(f.ttl);
                out.mask |= 1 << k;
            }
        }
        out
    }
}

/// The four-lane fast path in SSE2 (every x86-64 has it). Each frame's bytes 12-27 and 18-33
/// are loaded as two vectors of four little-endian 32-bit words and the four frames'
/// vectors transposed, so that one vector holds one header word of all four frames and each
/// check of [`classify_fast`] is a few lane-wise instructions for all of them.
///
/// The header checksum is summed as 16-bit little-endian words, each 32-bit word split into
/// its halves (an end-around-carry sum is the same in either byte order): ten halves of at
/// most 0xffff fit in a 32-bit lane, and two folds leave the one's-complement sum, which is
/// 0xffff exactly for a header whose checksum is right and that is not all zeros (as
/// [`header_checksum_ok`] decides).
#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::{at, ether, ipv4, Lanes, LANES, TOO_SHORT};
    use std::arch::x86_64::*;

    #[inline(always)]
    pub fn classify(frames: [&[u8]; LANES], verify: u32) -> Lanes {
        let mut hdr = [&TOO_SHORT; LANES];
        let mut room = [0i32; LANES];
        for k in 0..LANES {
            if let Some(f) = frames[k].get(..at::END).and_then(|f| f.try_into().ok()) {
                hdr[k] = f;
            }
            // Without a branch, as in `lanes8::classify`: a lane too short for the header
            // reads `TOO_SHORT`, which no check passes, whatever its room. Truncated and
            // wrapping, not clamped (no frame is 2 GiB): a wrong room could only refuse a lane
            // (a total length is at most 65535), which then goes the full way.
            room[k] = (frames[k].len() as i32).wrapping_sub(ether::HEADER_LEN as i32);
        }
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes at offset 12 or 18 of a
        // 34-byte array (ending at byte 28 or 34), and the stores write 16-byte arrays.
        unsafe {
            let c = |v: u32| _mm_set1_epi32(v as i32);
            let a: [__m128i; LANES] =
                std::array::from_fn(|k| _mm_loadu_si128(hdr[k][12..28].as_ptr().cast()));
            let b: [__m128i; LANES] =
                std::array::from_fn(|k| _mm_loadu_si128(hdr[k][18..34].as_ptr().cast()));
            // a[k] = words at 12, 16, 20, 24 of frame k; b[k] = words at 18, 22, 26, 30.
            let (lo01, lo23) = (
                _mm_unpacklo_epi32(a[0], a[1]),
                _mm_unpacklo_epi32(a[2], a[3]),
            );
            let (hi01, hi23) = (
                _mm_unpackhi_epi32(a[0], a[1]),
                _mm_unpackhi_epi32(a[2], a[3]),
            );
            let w12 = _mm_unpacklo_epi64(lo01, lo23);
            let w16 = _mm_unpackhi_epi64(lo01, lo23);
            let w20 = _mm_unpacklo_epi64(hi01, hi23);
            let w24 = _mm_unpackhi_epi64(hi01, hi23);
            let (bh01, bh23) = (
                _mm_unpackhi_epi32(b[0], b[1]),
                _mm_unpackhi_epi32(b[2], b[3]),
            );
            let w26 = _mm_unpacklo_epi64(bh01, bh23);
            let w30 = _mm_unpackhi_epi64(bh01, bh23);

            let eq = |x: __m128i, mask: u32, want: u32| {
                _mm_cmpeq_epi32(_mm_and_si128(x, c(mask)), c(want))
            };
            // Ethernet type 0x0800, version 4 and IHL 5 (bytes 12, 13, 14).
            let shape = eq(w12, 0x00ff_ffff, 0x0045_0008);
            // Neither MF nor a fragment offset: byte 20's low six bits and byte 21.
            let whole = eq(w20, 0x0000_ff3f, 0);
            // Total length (big-endian bytes 16-17): at least a header, within the frame.
            let total = _mm_or_si128(
                _mm_slli_epi32::<8>(_mm_and_si128(w16, c(0xff))),
                _mm_and_si128(_mm_srli_epi32::<8>(w16), c(0xff)),
            );
            let room = _mm_loadu_si128(room.as_ptr().cast());
            let too_long = _mm_cmpgt_epi32(total, room);
            let lengths = _mm_andnot_si128(too_long, _mm_cmpgt_epi32(total, c(19)));
            let ttl = _mm_and_si128(_mm_srli_epi32::<16>(w20), c(0xff));
            let proto = _mm_srli_epi32::<24>(w20);
            let control = _mm_or_si128(
                _mm_cmpeq_epi32(proto, c(u32::from(ipv4::PROTOCOL_IGMP))),
                _mm_cmpeq_epi32(proto, c(u32::from(ipv4::PROTOCOL_PIM))),
            );
            // 224.0.0.0/4 but not 224.0.0.0/24 (the group's first byte is bits 0-7).
            let routed = _mm_andnot_si128(eq(w30, 0x00ff_ffff, 0xe0), eq(w30, 0xf0, 0xe0));
            let half =
                |x: __m128i| _mm_add_epi32(_mm_and_si128(x, c(0xffff)), _mm_srli_epi32::<16>(x));
            // The ten 16-bit words of the header: bytes 14-15, 16-19, 20-23, 24-27, 28-29,
            // 30-33.
            let sum = _mm_add_epi32(
                _mm_add_epi32(_mm_srli_epi32::<16>(w12), half(w16)),
                _mm_add_epi32(half(w20), half(w24)),
            );
            let sum = _mm_add_epi32(sum, _mm_add_epi32(_mm_srli_epi32::<16>(w26), half(w30)));
            let good = _mm_cmpeq_epi32(half(half(sum)), c(0xffff));
            let lane_bits = _mm_set_epi32(8, 4, 2, 1);
            let trusted = _mm_cmpeq_epi32(_mm_and_si128(c(verify), lane_bits), c(0));
            let checked = _mm_or_si128(good, trusted);
            let ok = _mm_and_si128(
                _mm_and_si128(_mm_and_si128(shape, whole), _mm_and_si128(lengths, routed)),
                _mm_and_si128(_mm_cmpgt_epi32(ttl, c(1)), checked),
            );
            let ok = _mm_andnot_si128(control, ok);
            let mask = _mm_movemask_ps(_mm_castsi128_ps(ok)) as u32;
            let mut out = Lanes {
                mask,
                ..Lanes::default()
            };
            _mm_storeu_si128(out.source.as_mut_ptr().cast(), swap_bytes(w26));
            _mm_storeu_si128(out.group.as_mut_ptr().cast(), swap_bytes(w30));
            _mm_storeu_si128(out.ttl.as_mut_ptr().cast(), ttl);
            out
        }
    }

    /// Each 32-bit lane's bytes reversed (network to host order): one byte shuffle where the
    /// target has SSSE3 (x86-64-v2, see `.cargo/config.toml`), shifts in SSE2 otherwise.
    ///
    /// # Safety
    /// SSE2 (and SSSE3 where compiled in) must be available: always, on the targets this
    /// module is compiled for.
    #[inline(always)]
    unsafe fn swap_bytes(x: __m128i) -> __m128i {
        #[cfg(target_feature = "ssse3")]
        {
            _mm_shuffle_epi8(
                x,
                _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3),
            )
        }
        #[cfg(not(target_feature = "ssse3"))]
        {
            let halves = _mm_or_si128(_mm_slli_epi32::<16>(x), _mm_srli_epi32::<16>(x));
            let bytes = _mm_set1_epi32(0x00ff_00ff);
            _mm_or_si128(
                _mm_slli_epi32::<8>(_mm_and_si128(halves, bytes)),
                _mm_and_si128(_mm_srli_epi32::<8>(halves), bytes),
            )
        }
    }
}

/// How many frames [`lanes8::classify`] takes at once.
pub const LANES8: usize = 8;

/// The fast path over eight frames in AVX2, where the CPU has it (checked at run time by the
/// caller): [`lanes`]' checks, each 256-bit vector holding frames 0-3 in its low half and 4-7
/// in its high half, so that the same in-half unpacks transpose both fours at once.
#[cfg(target_arch = "x86_64")]
pub mod lanes8 {
    use super::{at, ether, ipv4, Lanes, LANES8, TOO_SHORT};
    use std::arch::x86_64::*;

    /// Bit `k` of the mask is set exactly when `classify_fast(frames[k], verify & 1 << k !=
    /// 0)` is `Some`, and then lane `k` holds its flow (tested on mutated frames).
    ///
    /// # Safety
    /// The CPU must have AVX2 (`is_x86_feature_detected!("avx2")`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn classify(frames: [&[u8]; LANES8], verify: u32) -> Lanes<LANES8> {
        // (No closures or `array::from_fn` in here: those are compiled without AVX2 and
        // would call the intrinsics instead of inlining them.)
        let mut hdr = [&TOO_SHORT; LANES8];
        let mut room = [0i32; LANES8];
        for k in 0..LANES8 {
            if let Some(f) = frames[k].get(..at::END).and_then(|f| f.try_into().ok()) {
                hdr[k] = f;
            }
            // For every lane, without a branch: a lane too short for the header reads
            // `TOO_SHORT`, which no check passes, whatever its room. Truncated and wrapping,
            // not clamped (no frame is 2 GiB): a wrong room could only refuse a lane (a total
            // length is at most 65535), which then goes the full way.
            room[k] = (frames[k].len() as i32).wrapping_sub(ether::HEADER_LEN as i32);
        }
        let a = [
            pair::<12>(hdr[0], hdr[4]),
            pair::<12>(hdr[1], hdr[5]),
            pair::<12>(hdr[2], hdr[6]),
            pair::<12>(hdr[3], hdr[7]),
        ];
        let b = [
            pair::<18>(hdr[0], hdr[4]),
            pair::<18>(hdr[1], hdr[5]),
            pair::<18>(hdr[2], hdr[6]),
            pair::<18>(hdr[3], hdr[7]),
        ];
        let (lo01, lo23) = (
            _mm256_unpacklo_epi32(a[0], a[1]),
            _mm256_unpacklo_epi32(a[2], a[3]),
        );
        let (hi01, hi23) = (
            _mm256_unpackhi_epi32(a[0], a[1]),
            _mm256_unpackhi_epi32(a[2], a[3]),
        );
        let w12 = _mm256_unpacklo_epi64(lo01, lo23);
        let w16 = _mm256_unpackhi_epi64(lo01, lo23);
        let w20 = _mm256_unpacklo_epi64(hi01, hi23);
        let w24 = _mm256_unpackhi_epi64(hi01, hi23);
        let (bh01, bh23) = (
            _mm256_unpackhi_epi32(b[0], b[1]),
            _mm256_unpackhi_epi32(b[2], b[3]),
        );
        let w26 = _mm256_unpacklo_epi64(bh01, bh23);
        let w30 = _mm256_unpackhi_epi64(bh01, bh23);

        let shape = eq(w12, 0x00ff_ffff, 0x0045_0008);
        let whole = eq(w20, 0x0000_ff3f, 0);
        let total = _mm256_or_si256(
            _mm256_slli_epi32::<8>(_mm256_and_si256(w16, splat(0xff))),
            _mm256_and_si256(_mm256_srli_epi32::<8>(w16), splat(0xff)),
        );
        // SAFETY: a 32-byte load of an array of eight i32.
        let room = unsafe { _mm256_loadu_si256(room.as_ptr().cast()) };
        let too_long = _mm256_cmpgt_epi32(total, room);
        let lengths = _mm256_andnot_si256(too_long, _mm256_cmpgt_epi32(total, splat(19)));
        let ttl = _mm256_and_si256(_mm256_srli_epi32::<16>(w20), splat(0xff));
        let proto = _mm256_srli_epi32::<24>(w20);
        let control = _mm256_or_si256(
            _mm256_cmpeq_epi32(proto, splat(u32::from(ipv4::PROTOCOL_IGMP))),
            _mm256_cmpeq_epi32(proto, splat(u32::from(ipv4::PROTOCOL_PIM))),
        );
        let routed = _mm256_andnot_si256(eq(w30, 0x00ff_ffff, 0xe0), eq(w30, 0xf0, 0xe0));
        let sum = _mm256_add_epi32(
            _mm256_add_epi32(_mm256_srli_epi32::<16>(w12), half(w16)),
            _mm256_add_epi32(half(w20), half(w24)),
        );
        let sum = _mm256_add_epi32(
            sum,
            _mm256_add_epi32(_mm256_srli_epi32::<16>(w26), half(w30)),
        );
        let good = _mm256_cmpeq_epi32(half(half(sum)), splat(0xffff));
        let lane_bits = _mm256_set_epi32(128, 64, 32, 16, 8, 4, 2, 1);
        let trusted = _mm256_cmpeq_epi32(_mm256_and_si256(splat(verify), lane_bits), splat(0));
        let checked = _mm256_or_si256(good, trusted);
        let ok = _mm256_and_si256(
            _mm256_and_si256(
                _mm256_and_si256(shape, whole),
                _mm256_and_si256(lengths, routed),
            ),
            _mm256_and_si256(_mm256_cmpgt_epi32(ttl, splat(1)), checked),
        );
        let ok = _mm256_andnot_si256(control, ok);
        let mask = _mm256_movemask_ps(_mm256_castsi256_ps(ok)) as u32;
        let swap = _mm256_set_epi8(
            12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4,
            5, 6, 7, 0, 1, 2, 3,
        );
        let mut out = Lanes::<LANES8> {
            mask,
            ..Lanes::default()
        };
        // SAFETY: 32-byte stores into arrays of eight u32.
        unsafe {
            _mm256_storeu_si256(
                out.source.as_mut_ptr().cast(),
                _mm256_shuffle_epi8(w26, swap),
            );
            _mm256_storeu_si256(
                out.group.as_mut_ptr().cast(),
                _mm256_shuffle_epi8(w30, swap),
            );
            _mm256_storeu_si256(out.ttl.as_mut_ptr().cast(), ttl);
        }
        out
    }

    /// `v` in every lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn splat(v: u32) -> __m256i {
        _mm256_set1_epi32(v as i32)
    }

    /// Lanes whose bits under `mask` are `want`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn eq(x: __m256i, mask: u32, want: u32) -> __m256i {
        _mm256_cmpeq_epi32(_mm256_and_si256(x, splat(mask)), splat(want))
    }

    /// Each lane's two 16-bit halves added.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn half(x: __m256i) -> __m256i {
        _mm256_add_epi32(
            _mm256_and_si256(x, splat(0xffff)),
            _mm256_srli_epi32::<16>(x),
        )
    }

    /// Bytes `AT..AT + 16` of `lo` and of `hi` as one vector (`lo` in the low half).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn pair<const AT: usize>(lo: &[u8; at::END], hi: &[u8; at::END]) -> __m256i {
        const { assert!(AT + 16 <= at::END) };
        // SAFETY: 16 bytes from AT, inside each 34-byte array (asserted above).
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(lo[AT..].as_ptr().cast()),
                _mm_loadu_si128(hi[AT..].as_ptr().cast()),
            )
        };
        _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};
    use std::net::Ipv4Addr;

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

    fn frame(src: &str, dst: &str, ttl: u8) -> Vec<u8> {
        build_udp_frame(
            MAC,
            src.parse().unwrap(),
            dst.parse().unwrap(),
            ttl,
            b"hello",
        )
    }

    /// A reproducible stream of pseudo-random numbers (xorshift64) for the mutation tests.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    fn refill_checksum(f: &mut [u8]) {
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        ip.fill_checksum();
    }

    #[test]
    fn multicast_udp_gives_its_flow() {
        let f = frame("10.0.1.2", "239.1.1.1", 16);
        let flow = classify(&f).unwrap();
        assert_eq!(Ipv4Addr::from(flow.source), Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(Ipv4Addr::from(flow.group), Ipv4Addr::new(239, 1, 1, 1));
        assert_eq!(flow.ttl, 16);
    }

    #[test]
    fn ttl_0_and_1_still_classify_the_ttl_stage_drops_them() {
        assert_eq!(classify(&frame("10.0.1.2", "239.1.1.1", 1)).unwrap().ttl, 1);
        assert_eq!(classify(&frame("10.0.1.2", "239.1.1.1", 0)).unwrap().ttl, 0);
    }

    #[test]
    fn unicast_is_not_multicast() {
        assert_eq!(
            classify(&frame("10.0.1.2", "10.0.2.2", 16)),
            Err(DropReason::NotMulticast)
        );
        assert_eq!(
            classify(&frame("10.0.1.2", "255.255.255.255", 16)),
            Err(DropReason::NotMulticast)
        );
    }

    #[test]
    fn link_local_and_control_protocols_are_local() {
        assert_eq!(
            classify(&frame("10.0.1.2", "224.0.0.251", 1)),
            Err(DropReason::LocalControl)
        );
        let mut igmp = frame("10.0.1.2", "239.1.1.1", 1);
        igmp[14 + 9] = ipv4::PROTOCOL_IGMP;
        refill_checksum(&mut igmp);
        assert_eq!(classify(&igmp), Err(DropReason::LocalControl));
        let mut pim = frame("10.0.1.2", "239.1.1.1", 1);
        pim[14 + 9] = ipv4::PROTOCOL_PIM;
        refill_checksum(&mut pim);
        assert_eq!(classify(&pim), Err(DropReason::LocalControl));
    }

    #[test]
    fn non_ipv4_ethertypes() {
        let mut arp = frame("10.0.1.2", "239.1.1.1", 16);
        arp[12..14].copy_from_slice(&ether::ETHERTYPE_ARP.to_be_bytes());
        assert_eq!(classify(&arp), Err(DropReason::NotIpv4));
        let mut vlan = frame("10.0.1.2", "239.1.1.1", 16);
        vlan[12..14].copy_from_slice(&ether::ETHERTYPE_VLAN.to_be_bytes());
        assert_eq!(classify(&vlan), Err(DropReason::NotIpv4));
    }

    #[test]
    fn truncated_frames_at_every_length_are_bad_headers() {
        let f = frame("10.0.1.2", "239.1.1.1", 16);
        for len in 0..14 + 20 {
            assert_eq!(
                classify(&f[..len]),
                Err(DropReason::BadHeader),
                "length {len}"
            );
        }
    }

    #[test]
    fn bad_checksum_version_ihl_and_total_length_are_bad_headers() {
        let good = frame("10.0.1.2", "239.1.1.1", 16);
        let mut bad_sum = good.clone();
        bad_sum[14 + 10] ^= 0x01;
        assert_eq!(classify(&bad_sum), Err(DropReason::BadHeader));

        let mut v6 = good.clone();
        v6[14] = 0x65;
        assert_eq!(classify(&v6), Err(DropReason::BadHeader));

        let mut short_ihl = good.clone();
        short_ihl[14] = 0x44;
        assert_eq!(classify(&short_ihl), Err(DropReason::BadHeader));

        let mut huge_total = good.clone();
        huge_total[14 + 2..14 + 4].copy_from_slice(&1500u16.to_be_bytes());
        refill_checksum(&mut huge_total);
        assert_eq!(classify(&huge_total), Err(DropReason::BadHeader));
    }

    #[test]
    fn the_fast_path_takes_the_common_shape() {
        let f = frame("10.0.1.2", "239.1.1.1", 16);
        assert_eq!(classify_fast(&f, true), Some(classify(&f).unwrap()));
        // Not the common shape: the full classifier decides.
        for (src, dst, ttl) in [
            ("10.0.1.2", "239.1.1.1", 1),
            ("10.0.1.2", "224.0.0.5", 16),
            ("10.0.1.2", "10.0.0.1", 16),
        ] {
            assert_eq!(classify_fast(&frame(src, dst, ttl), true), None);
        }
        let mut frag = f.clone();
        frag[14 + 7] = 1; // fragment offset 8
        refill_checksum(&mut frag);
        assert_eq!(classify_fast(&frag, true), None);
        let mut df = f.clone();
        df[14 + 6] = 0x40; // DF alone is still the common shape
        refill_checksum(&mut df);
        assert!(classify_fast(&df, true).is_some());
        let mut bad_sum = f.clone();
        bad_sum[14 + 10] ^= 0xff;
        assert_eq!(classify_fast(&bad_sum, true), None);
        // A port that verified the checksum already: not checked again.
        assert!(classify_fast(&bad_sum, false).is_some());
    }

    /// Whatever the fast path accepts, the full classifier accepts with the same flow and a TTL
    /// above 1: mutate every header byte of valid frames (and truncate them) and compare.
    #[test]
    fn the_fast_path_never_disagrees_with_the_full_classifier() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut accepted = 0;
        for round in 0..200_000 {
            let mut f = frame("10.0.1.2", "239.1.1.1", 16);
            let flips = 1 + next() % 3;
            for _ in 0..flips {
                let i = (next() % 40) as usize;
                f[i] = next() as u8;
            }
            if round % 3 == 0 && ipv4::Packet::new_checked(&f[14..]).is_ok() {
                refill_checksum(&mut f);
            }
            if round % 17 == 0 {
                f.truncate((next() % f.len() as u64) as usize);
            }
            if let Some(flow) = classify_fast(&f, true) {
                accepted += 1;
                assert_eq!(classify(&f), Ok(flow), "frame {f:02x?}");
                assert!(flow.ttl > 1);
            }
        }
        assert!(
            accepted > 1000,
            "only {accepted} mutated frames took the fast path"
        );
    }

    /// `n` frames for the lane-wise classifiers: one in four as built, the others with one to
    /// three random bytes of the first 40 changed (the checksum refilled for a third of those),
    /// one in thirteen cut short.
    fn mutated_group(next: &mut impl FnMut() -> u64, round: usize, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|k| {
                let mut f = frame("10.0.1.2", "239.1.1.1", 16);
                if !(round + k).is_multiple_of(4) {
                    for _ in 0..1 + next() % 3 {
                        let i = (next() % 40) as usize;
                        f[i] = next() as u8;
                    }
                    if next().is_multiple_of(3) && ipv4::Packet::new_checked(&f[14..]).is_ok() {
                        refill_checksum(&mut f);
                    }
                }
                if next().is_multiple_of(13) {
                    f.truncate((next() % f.len() as u64) as usize);
                }
                f
            })
            .collect()
    }

    /// The four-lane classifier decides every frame as the one-frame fast path does, whatever
    /// the other lanes hold: mutated and truncated frames in groups of four, each lane asked
    /// to verify the checksum or not.
    #[test]
    fn four_lanes_agree_with_the_one_frame_fast_path() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15_u64);
        let mut accepted = 0;
        let mut refused = 0;
        for round in 0..100_000 {
            let lanes = mutated_group(&mut next, round, LANES);
            let verify = (next() % 16) as u32;
            let frames: [&[u8]; LANES] = std::array::from_fn(|k| lanes[k].as_slice());
            let four = classify_fast4(frames, verify);
            for k in 0..LANES {
                let one = classify_fast(&lanes[k], verify >> k & 1 != 0);
                let got = (four.mask >> k & 1 != 0).then(|| four.flow(k));
                assert_eq!(got, one, "lane {k} of {lanes:02x?}, verify {verify:#b}");
                if one.is_none() {
                    refused += 1;
                } else {
                    accepted += 1;
                }
            }
            assert_eq!(four.mask >> LANES, 0);
        }
        assert!(
            accepted > 50_000 && refused > 50_000,
            "{accepted} {refused}"
        );
    }

    /// The same for the eight-lane AVX2 classifier (on a CPU with AVX2; this machine and CI's
    /// have it).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn eight_lanes_agree_with_the_one_frame_fast_path() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: the eight-lane classifier is never used here");
            return;
        }
        let mut next = xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut accepted = 0;
        let mut refused = 0;
        for round in 0..100_000 {
            let lanes = mutated_group(&mut next, round, LANES8);
            let verify = (next() % 256) as u32;
            let frames: [&[u8]; LANES8] = std::array::from_fn(|k| lanes[k].as_slice());
            // SAFETY: the CPU has AVX2 (checked above).
            let eight = unsafe { lanes8::classify(frames, verify) };
            for k in 0..LANES8 {
                let one = classify_fast(&lanes[k], verify >> k & 1 != 0);
                let got = (eight.mask >> k & 1 != 0).then(|| eight.flow(k));
                assert_eq!(got, one, "lane {k} of {lanes:02x?}, verify {verify:#b}");
                if one.is_none() {
                    refused += 1;
                } else {
                    accepted += 1;
                }
            }
            assert_eq!(eight.mask >> LANES8, 0);
        }
        assert!(
            accepted > 100_000 && refused > 100_000,
            "{accepted} {refused}"
        );
    }

    #[test]
    fn options_and_fragments_are_forwarded_as_they_are() {
        // IHL 6 with a 4-byte NOP/EOL option: shift the payload and fix the lengths.
        let good = frame("10.0.1.2", "239.1.1.1", 16);
        let mut opt = good[..14 + 20].to_vec();
        opt.extend_from_slice(&[1, 1, 1, 0]);
        opt.extend_from_slice(&good[14 + 20..]);
        opt[14] = 0x46;
        let total = u16::from_be_bytes([good[16], good[17]]) + 4;
        opt[16..18].copy_from_slice(&total.to_be_bytes());
        refill_checksum(&mut opt);
        assert_eq!(classify(&opt).unwrap().ttl, 16);

        let mut frag = good.clone();
        frag[14 + 6] = 0x20; // MF
        refill_checksum(&mut frag);
        assert!(classify(&frag).is_ok());
    }
}
