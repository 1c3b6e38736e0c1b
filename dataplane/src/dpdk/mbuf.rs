//! Owned packet buffers.

use super::Mempool;
use std::ptr::NonNull;

/// Mbufs one bulk allocation of an [`MbufStash`] asks for at most.
pub const STASH_CHUNK: usize = 32;

/// Packets up to this many bytes are copied as one fixed-size block.
const SMALL_COPY: usize = 128;

/// Packets per rx/tx burst.
pub const BURST: usize = 32;
/// Length of an Ethernet header: what [`Mbuf::header_mut`] may reach.
pub const ETHER_HEADER_LEN: usize = 14;
/// Shared (cloned) payloads never start before this offset (Ethernet + minimal IPv4 header).
pub const SHARED_FROM: usize = 14 + 20;

/// One packet buffer (possibly a chain of segments), owned by this handle and freed on drop.
///
/// The only way this API shares packet data is [`Mbuf::header_chain`], whose indirect mbufs
/// cover the original's bytes from offset [`SHARED_FROM`] on and are never written. While a
/// buffer is shared, the original may be written only below [`ETHER_HEADER_LEN`] (through
/// [`Mbuf::header_mut`]); [`Mbuf::data_mut`] requires an unshared buffer (checked in debug
/// builds). No Rust reference ever points into the shared part from two places for writing.
/// `repr(transparent)` over a non-null pointer: a `[Mbuf]` has the layout of `rte_mbuf *[]`,
/// which is how bursts are passed to and from DPDK without copying.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf {
    raw: NonNull<dpdk_sys::rte_mbuf>,
}

// SAFETY: an Mbuf is uniquely owned (see the type doc); moving it to another lcore moves that
// ownership, and mbufs may be freed to their pool from any lcore.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Allocates an empty mbuf from `pool`; `None` when the pool is exhausted.
    #[inline]
    pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: the pool is alive for the whole process.
        let raw = unsafe { dpdk_sys::rte_pktmbuf_alloc(pool.as_ptr()) };
        NonNull::new(raw).map(|raw| Mbuf { raw })
    }

    /// Allocates an mbuf holding a copy of `bytes`; `None` when the pool is exhausted or the
    /// bytes do not fit one segment.
    pub fn from_bytes(pool: &Mempool, bytes: &[u8]) -> Option<Mbuf> {
        let mut m = Mbuf::alloc(pool)?;
        m.append(bytes).then_some(m)
    }

    /// Appends `bytes` to the (single-segment) packet; false when there is no room.
    pub fn append(&mut self, bytes: &[u8]) -> bool {
        let Ok(len) = u16::try_from(bytes.len()) else {
            return false;
        };
        // SAFETY: self.raw is a valid mbuf we own; append returns NULL or a pointer to `len`
        // writable bytes inside the last segment's data room.
        let dst = unsafe { dpdk_sys::rte_pktmbuf_append(self.raw.as_ptr(), len) };
        if dst.is_null() {
            return false;
        }
        // SAFETY: dst points at `len` writable bytes that do not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst as *mut u8, bytes.len()) };
        true
    }

    /// A deep copy of the whole packet (every segment) from `pool`.
    #[inline]
    pub fn deep_copy(&self, pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: self is valid; UINT32_MAX length copies the whole packet.
        let raw =
            unsafe { dpdk_sys::rte_pktmbuf_copy(self.raw.as_ptr(), pool.as_ptr(), 0, u32::MAX) };
        NonNull::new(raw).map(|raw| Mbuf { raw })
    }

    /// A copy of a one-segment packet: a fresh mbuf and one memcpy, without the metadata walk
    /// of [`Mbuf::deep_copy`] (`rte_pktmbuf_copy`), which a forwarded copy does not need (the
    /// tx path reads only the data, lengths and segment count). Falls back to `deep_copy` for
    /// chained packets. `None` when the pool is empty.
    #[inline(always)]
    pub fn copy_one_segment(&self, pool: &Mempool, stash: &mut MbufStash) -> Option<Mbuf> {
        match self.copy_source() {
            Some(src) => src.copy(pool, stash),
            None => self.deep_copy(pool),
        }
    }

    /// What a copy source reads of this packet: its segments, its data's length and start,
    /// and the buffer room from the start.
    #[inline(always)]
    fn source_fields(&self) -> (u16, u16, *const u8, usize) {
        // SAFETY: reading fields of a valid mbuf we own.
        unsafe {
            let m = self.raw.as_ref();
            (
                m.nb_segs,
                m.data_len,
                (m.buf_addr as *const u8).add(m.data_off as usize),
                usize::from(m.buf_len).saturating_sub(usize::from(m.data_off)),
            )
        }
    }

    /// What [`CopySource::copy`] reads of this packet, read once for several copies; `None`
    /// for a chained packet (which [`Mbuf::deep_copy`] copies).
    #[inline(always)]
    pub fn copy_source(&self) -> Option<CopySource<'_>> {
        let (segs, len, src, src_room) = self.source_fields();
        let n = usize::from(len);
        let block = if n <= SMALL_COPY / 2 && src_room >= SMALL_COPY / 2 {
            Block::Half
        } else if n <= SMALL_COPY && src_room >= SMALL_COPY {
            Block::Full
        } else {
            Block::Exact
        };
        (segs == 1).then_some(CopySource {
            of: self,
            src,
            len,
            block,
        })
    }

    /// The packet as a [`LineSource`] (what [`Mbuf::copy_source`] would read, known to be
    /// one line, without choosing among the other blocks): `Some` for a one-segment packet
    /// of 12-64 bytes whose buffer holds a line from its data.
    #[inline(always)]
    pub fn line_source(&self) -> Option<LineSource<'_>> {
        let (segs, len, src, src_room) = self.source_fields();
        let line =
            segs == 1 && (12..=SMALL_COPY as u16 / 2).contains(&len) && src_room >= SMALL_COPY / 2;
        line.then_some(LineSource(CopySource {
            of: self,
            src,
            len,
            block: Block::Half,
        }))
    }

    /// A copy of this one-segment packet into `c`, a fresh mbuf whose buffer is smaller than
    /// the usual headroom plus a copy block (never with this program's pools; kept for a
    /// pool of odd buffers): the data offset the buffer allows and exactly the packet's
    /// bytes, else [`Mbuf::deep_copy`].
    #[cold]
    #[inline(never)]
    fn copy_into_small_buffer(
        &self,
        mut c: Mbuf,
        pool: &Mempool,
        mac: Option<[u8; 6]>,
    ) -> Option<Mbuf> {
        let mut copy = None;
        // SAFETY: as in `CopySource::copy_inner`: `c` is ours, both ranges are checked
        // against their buffers and do not overlap.
        unsafe {
            let (m, d) = (self.raw.as_ref(), c.raw.as_mut());
            let n = usize::from(m.data_len);
            d.data_off = (dpdk_sys::RTE_PKTMBUF_HEADROOM as u16).min(d.buf_len);
            d.ol_flags = 0;
            let room = usize::from(d.buf_len).saturating_sub(usize::from(d.data_off));
            let src_room = usize::from(m.buf_len).saturating_sub(usize::from(m.data_off));
            if room >= n && src_room >= n && m.nb_segs == 1 {
                let src = (m.buf_addr as *const u8).add(usize::from(m.data_off));
                let dst = (d.buf_addr as *mut u8).add(usize::from(d.data_off));
                std::ptr::copy_nonoverlapping(src, dst, n);
                d.data_len = m.data_len;
                d.pkt_len = u32::from(m.data_len);
                copy = Some(c);
            }
        }
        let mut copy = match copy {
            Some(c) => c,
            None => self.deep_copy(pool)?,
        };
        if let (Some(mac), Some(at)) = (mac, copy.header_mut().get_mut(6..12)) {
            at.copy_from_slice(&mac);
        }
        Some(copy)
    }

    /// The bytes of the first segment (all headers of any packet we parse live there).
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: buf_addr + data_off is the start of data_len initialised bytes of this
        // segment, valid while we own the mbuf.
        unsafe {
            let m = self.raw.as_ref();
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// The Ethernet header of the first segment, writable even while the payload is shared
    /// with copies made by [`Mbuf::header_chain`] (they never cover these bytes).
    #[inline]
    pub fn header_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; shared payloads start at SHARED_FROM > ETHER_HEADER_LEN, so the
        // first ETHER_HEADER_LEN bytes belong to this mbuf alone.
        unsafe {
            let m = self.raw.as_ref();
            let len = (m.data_len as usize).min(ETHER_HEADER_LEN);
            std::slice::from_raw_parts_mut((m.buf_addr as *mut u8).add(m.data_off as usize), len)
        }
    }

    /// A copy for one more output that shares this packet's payload: a new mbuf holding the
    /// first `header_len` bytes (which the caller then rewrites freely), chained to an indirect
    /// mbuf over the rest. `header_len` must be at least [`SHARED_FROM`] and within the first
    /// segment. `None` when the pool is empty or the arguments do not fit.
    ///
    /// Both mbufs come from `stash` when it has them (bulk-got and prefetched with the burst's
    /// other copies: taken one by one from the pool, their cold headers cost each chained copy
    /// of a 1500-byte packet about 700 cycles at fan-out 8).
    pub fn header_chain(
        &self,
        pool: &Mempool,
        stash: &mut MbufStash,
        header_len: usize,
    ) -> Option<Mbuf> {
        let data = self.data();
        if header_len < SHARED_FROM || header_len > data.len() {
            return None;
        }
        let mut head = stash.take(pool)?;
        // SAFETY: head is a fresh mbuf we own (raw from the stash, or reset by an allocation
        // alone: refcnt 1, one segment, no next); its data room, from the default headroom on,
        // is checked against header_len before the copy; the source is this mbuf's first
        // segment (header_len <= its length), a different buffer.
        unsafe {
            let d = head.raw.as_mut();
            d.data_off = (dpdk_sys::RTE_PKTMBUF_HEADROOM as u16).min(d.buf_len);
            d.ol_flags = 0;
            if usize::from(d.buf_len - d.data_off) < header_len {
                return None;
            }
            let dst = (d.buf_addr as *mut u8).add(usize::from(d.data_off));
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst, header_len);
            d.data_len = header_len as u16;
            d.pkt_len = header_len as u32;
        }
        // SAFETY: reading a field of a valid mbuf.
        let one_segment = unsafe { self.raw.as_ref().nb_segs } == 1;
        let tail = if one_segment {
            let tail = stash.take(pool)?;
            // SAFETY: tail is a fresh direct mbuf with refcnt 1 (as rte_pktmbuf_attach
            // requires) and self a valid one-segment mbuf; tail becomes an indirect mbuf over
            // self's buffer (DPDK bumps its reference count), owned by the Mbuf handle.
            unsafe { dpdk_sys::rte_pktmbuf_attach(tail.raw.as_ptr(), self.raw.as_ptr()) };
            tail
        } else {
            // SAFETY: self is a valid mbuf; the clone is an indirect chain attached to self's
            // buffers (reference counts bumped by DPDK), owned by the new Mbuf.
            NonNull::new(unsafe { dpdk_sys::rte_pktmbuf_clone(self.raw.as_ptr(), pool.as_ptr()) })
                .map(|raw| Mbuf { raw })?
        };
        // SAFETY: tail is a valid mbuf we own and header_len <= its first segment's length.
        if unsafe { dpdk_sys::rte_pktmbuf_adj(tail.raw.as_ptr(), header_len as u16) }.is_null() {
            return None;
        }
        let (head_raw, tail_raw) = (head.into_raw(), tail.into_raw());
        // SAFETY: both are valid owned mbufs; on success head owns the chain, on failure
        // nothing changed and both are freed here.
        if unsafe { dpdk_sys::rte_pktmbuf_chain(head_raw, tail_raw) } != 0 {
            // SAFETY: still two separate owned mbufs.
            unsafe {
                dpdk_sys::rte_pktmbuf_free(head_raw);
                dpdk_sys::rte_pktmbuf_free(tail_raw);
            }
            return None;
        }
        // head_raw came from an Mbuf, so it is non-null; it now owns the chain.
        NonNull::new(head_raw).map(|raw| Mbuf { raw })
    }

    /// The bytes of the first segment, writable. The buffer must not be shared (no copy made
    /// by [`Mbuf::header_chain`] is alive); use [`Mbuf::header_mut`] otherwise.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        #[cfg(debug_assertions)]
        {
            // SAFETY: reading the reference count of a valid mbuf.
            let refs = unsafe { dpdk_sys::rte_mbuf_refcnt_read(self.raw.as_ptr()) };
            assert_eq!(refs, 1, "data_mut on a shared buffer");
        }
        // SAFETY: as in `data`; the buffer is not shared (see the type doc and the check
        // above), so a unique borrow of self is a unique borrow of the bytes.
        unsafe {
            let m = self.raw.as_ref();
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// Removes `n` bytes at offset `at` of a one-segment, unshared packet by moving its first
    /// `at` bytes forward (an 802.1Q tag taken out from behind the MAC addresses). False, and
    /// nothing changed, when the packet has other segments or fewer than `at + n` bytes.
    pub fn remove_front(&mut self, at: usize, n: usize) -> bool {
        let Ok(n16) = u16::try_from(n) else {
            return false;
        };
        if self.nb_segs() != 1 || self.data().len() < at + n {
            return false;
        }
        let data = self.data_mut();
        data.copy_within(..at, n);
        // SAFETY: a valid one-segment mbuf we own, with at least `n` bytes of data: moving
        // the data start by `n` keeps it inside the segment's buffer.
        unsafe {
            let m = self.raw.as_mut();
            m.data_off += n16;
            m.data_len -= n16;
            m.pkt_len -= u32::from(n16);
        }
        true
    }

    /// Inserts `bytes` at offset `at` (at most [`ETHER_HEADER_LEN`]) of the packet, taking
    /// the room from the first segment's headroom and moving its first `at` bytes back (an
    /// 802.1Q tag put in behind the MAC addresses). Only bytes below [`ETHER_HEADER_LEN`] and
    /// the headroom are written, so it is allowed on a buffer whose payload is shared, as
    /// [`Mbuf::header_mut`] is. False, and nothing changed, without headroom for them.
    pub fn insert_front(&mut self, at: usize, bytes: &[u8]) -> bool {
        let Ok(n) = u16::try_from(bytes.len()) else {
            return false;
        };
        // SAFETY: reading fields of a valid mbuf we own.
        let (off, len) = unsafe {
            let m = self.raw.as_ref();
            (m.data_off, usize::from(m.data_len))
        };
        if off < n || at > ETHER_HEADER_LEN || at > len {
            return false;
        }
        // SAFETY: the new data start is `n` bytes back inside the headroom of this segment
        // (checked above); the bytes moved and written lie below the old data start plus
        // `at` <= ETHER_HEADER_LEN, which no shared copy covers (see the type doc).
        unsafe {
            let m = self.raw.as_mut();
            m.data_off -= n;
            m.data_len += n;
            m.pkt_len += u32::from(n);
            let base = (m.buf_addr as *mut u8).add(usize::from(m.data_off));
            std::ptr::copy(base.add(usize::from(n)), base, at);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(at), bytes.len());
        }
        true
    }

    /// The receiving device found the IPv4 header checksum good (its rx checksum offload flag;
    /// false when it found it bad or did not check).
    #[inline]
    pub fn ip_checksum_good(&self) -> bool {
        // SAFETY: reading a field of a valid mbuf.
        let flags = unsafe { self.raw.as_ref().ol_flags };
        flags & u64::from(dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_MASK)
            == u64::from(dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_GOOD)
    }

    /// Total packet length over all segments.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: reading a field of a valid mbuf.
        unsafe { self.raw.as_ref().pkt_len }
    }

    /// Number of segments.
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: reading a field of a valid mbuf.
        unsafe { self.raw.as_ref().nb_segs }
    }

    /// The whole packet as one byte vector (for tests and diagnostics, not the fast path).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pkt_len() as usize);
        let mut seg = self.raw.as_ptr();
        while !seg.is_null() {
            // SAFETY: seg walks the chain of a valid mbuf we own; each segment's data is
            // data_len initialised bytes at buf_addr + data_off.
            unsafe {
                let m = &*seg;
                out.extend_from_slice(std::slice::from_raw_parts(
                    (m.buf_addr as *const u8).add(m.data_off as usize),
                    m.data_len as usize,
                ));
                seg = m.next;
            }
        }
        out
    }

    /// Gives the pointer to DPDK (tx) without freeing.
    #[inline]
    pub(crate) fn into_raw(self) -> *mut dpdk_sys::rte_mbuf {
        let raw = self.raw.as_ptr();
        std::mem::forget(self);
        raw
    }

    /// Frees a batch of mbufs with one bulk call.
    pub fn free_bulk(mbufs: &mut Vec<Mbuf>) {
        if mbufs.is_empty() {
            return;
        }
        let n = mbufs.len();
        // SAFETY: Mbuf is repr(transparent) over a non-null rte_mbuf pointer, so the vector's
        // buffer is an array of n valid, owned mbuf pointers; set_len(0) first so none is
        // dropped again.
        unsafe {
            mbufs.set_len(0);
            dpdk_sys::rte_pktmbuf_free_bulk(
                mbufs.as_mut_ptr() as *mut *mut dpdk_sys::rte_mbuf,
                n as u32,
            );
        }
    }
}

/// A one-segment packet's data as [`Mbuf::copy_source`] read it: several copies of it
/// (replication) read its fields and choose how to copy it once. Borrows the packet, so it
/// cannot change meanwhile.
#[derive(Clone, Copy)]
pub struct CopySource<'a> {
    of: &'a Mbuf,
    src: *const u8,
    len: u16,
    /// How a copy moves the bytes.
    block: Block,
}

/// How many bytes a copy of a packet moves: a small packet whose buffer has the room is one
/// fixed-size block (inline vector moves instead of a call to memcpy; the bytes past its
/// length are buffer room, copied but never sent), any other its length. A minimum-size
/// frame is one cache line: copying a second one would read a line of the source nobody
/// wrote and write one of the copy nobody reads.
#[derive(Clone, Copy)]
enum Block {
    /// [`SMALL_COPY`] / 2 bytes.
    Half,
    /// [`SMALL_COPY`] bytes.
    Full,
    /// The packet's length.
    Exact,
}

/// Copies [`SMALL_COPY`] / 2 bytes (one cache line) from `src` to `dst` as four 16-byte
/// vector moves. (As `copy_nonoverlapping` beside the other blocks' copies, the compiler
/// merged the three into one call to memcpy with the size chosen at run time: 11 instructions
/// more per copy.)
///
/// # Safety
/// `src` readable and `dst` writable for that many bytes, not overlapping.
#[inline(always)]
unsafe fn copy_line(src: *const u8, dst: *mut u8) {
    const _: () = assert!(SMALL_COPY / 2 == 64);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
        let (s, d) = (src.cast::<__m128i>(), dst.cast::<__m128i>());
        let v = [
            _mm_loadu_si128(s),
            _mm_loadu_si128(s.add(1)),
            _mm_loadu_si128(s.add(2)),
            _mm_loadu_si128(s.add(3)),
        ];
        for (k, v) in v.into_iter().enumerate() {
            _mm_storeu_si128(d.add(k), v);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::ptr::copy_nonoverlapping(src, dst, SMALL_COPY / 2);
}

impl Block {
    fn bytes(self, len: usize) -> usize {
        match self {
            Block::Half => SMALL_COPY / 2,
            Block::Full => SMALL_COPY,
            Block::Exact => len,
        }
    }
}

/// Makes whole copies of a packet with a port's source MAC: a [`CopySource`], or a
/// [`LineSource`] that needs no choice per copy.
pub trait CopyWithMac {
    /// A copy with `mac` as its source MAC (bytes 6..12 of the frame, left as they are in a
    /// frame shorter than an Ethernet header), written while the copy's data is at hand;
    /// `None` when the pool is empty.
    fn copy_with_source_mac(
        &self,
        pool: &Mempool,
        stash: &mut MbufStash,
        mac: [u8; 6],
    ) -> Option<Mbuf>;
}

impl CopyWithMac for CopySource<'_> {
    #[inline(always)]
    fn copy_with_source_mac(
        &self,
        pool: &Mempool,
        stash: &mut MbufStash,
        mac: [u8; 6],
    ) -> Option<Mbuf> {
        self.copy_inner(pool, stash, Some(mac))
    }
}

/// A [`CopySource`] of at most one cache line (a minimum-size frame, the commonest copied)
/// holding at least both MACs: its copies are one line each with the MAC written after,
/// without choosing the block or testing the length per copy (the choice is made once per
/// packet, [`Mbuf::line_source`]; per copy at fan-out 4 it was 6 of 67 instructions).
#[derive(Clone, Copy)]
pub struct LineSource<'a>(CopySource<'a>);

impl CopyWithMac for LineSource<'_> {
    #[inline(always)]
    fn copy_with_source_mac(
        &self,
        pool: &Mempool,
        stash: &mut MbufStash,
        mac: [u8; 6],
    ) -> Option<Mbuf> {
        let src = &self.0;
        let mut c = stash.take(pool)?;
        let headroom = dpdk_sys::RTE_PKTMBUF_HEADROOM as usize;
        // SAFETY: as in `CopySource::copy_inner`, for its `Block::Half` and a length of at
        // least 12: the source's buffer holds a line from its data (`line_source` checked),
        // the copy's is checked here, and the MAC's 6 bytes at 6..12 are inside the line.
        unsafe {
            let d = c.raw.as_mut();
            if usize::from(d.buf_len) < headroom + SMALL_COPY / 2 {
                return src.of.copy_into_small_buffer(c, pool, Some(mac));
            }
            d.data_off = headroom as u16;
            d.ol_flags = 0;
            let dst = (d.buf_addr as *mut u8).add(headroom);
            copy_line(src.src, dst);
            std::ptr::copy_nonoverlapping(mac.as_ptr(), dst.add(6), 6);
            d.data_len = src.len;
            d.pkt_len = u32::from(src.len);
        }
        Some(c)
    }
}

impl CopySource<'_> {
    /// A copy of the packet: a fresh mbuf (from the stash when it has one) and one memcpy
    /// ([`Mbuf::copy_one_segment`]). `None` when the pool is empty.
    #[inline(always)]
    pub fn copy(&self, pool: &Mempool, stash: &mut MbufStash) -> Option<Mbuf> {
        self.copy_inner(pool, stash, None)
    }

    #[inline(always)]
    fn copy_inner(
        &self,
        pool: &Mempool,
        stash: &mut MbufStash,
        mac: Option<[u8; 6]>,
    ) -> Option<Mbuf> {
        let mut c = stash.take(pool)?;
        let headroom = dpdk_sys::RTE_PKTMBUF_HEADROOM as usize;
        // SAFETY: c is a fresh mbuf we own (raw from the stash: refcnt 1, one segment, no next,
        // the rest of its metadata ours to set, as below); its data room starts at buf_addr +
        // data_off and holds buf_len - data_off bytes, checked against what is written; the
        // source's buffer holds the block's bytes from its data (checked by `copy_source`),
        // and the borrow of the source keeps it alive and unchanged; the two buffers are
        // different mbufs, so the ranges do not overlap.
        unsafe {
            let d = c.raw.as_mut();
            let n = usize::from(self.len);
            if usize::from(d.buf_len) < headroom + self.block.bytes(n) {
                return self.of.copy_into_small_buffer(c, pool, mac);
            }
            // What `rte_pktmbuf_reset` would set and a transmit reads: the data offset and no
            // offload flags (the lengths follow below).
            d.data_off = headroom as u16;
            d.ol_flags = 0;
            let dst = (d.buf_addr as *mut u8).add(headroom);
            match self.block {
                Block::Half => copy_line(self.src, dst),
                Block::Full => {
                    copy_line(self.src, dst);
                    copy_line(self.src.add(SMALL_COPY / 2), dst.add(SMALL_COPY / 2));
                }
                Block::Exact => std::ptr::copy_nonoverlapping(self.src, dst, n),
            }
            if let (Some(mac), true) = (mac, self.len >= 12) {
                std::ptr::copy_nonoverlapping(mac.as_ptr(), dst.add(6), 6);
            }
            d.data_len = self.len;
            d.pkt_len = u32::from(self.len);
        }
        Some(c)
    }
}

/// Fresh mbufs taken from a pool with one `rte_mempool_get_bulk` and handed out one at a time
/// to [`Mbuf::copy_one_segment`], which sets the few fields a copy needs (the reset that
/// `rte_pktmbuf_alloc_bulk` does also writes the mbuf's second cache line, which a copy of a
/// one-segment packet never needs), so that a burst's copies cost one allocation call instead
/// of one each (measured:
/// `rte_pktmbuf_alloc` was 16% of a worker's cycles at fan-out 2, each call reaching the
/// per-lcore cache through the EAL's thread-local lcore id). What is left over is freed with one
/// bulk call ([`MbufStash::release`]) or on drop, so nothing stays out of the pool.
#[derive(Debug)]
pub struct MbufStash {
    bufs: Vec<Mbuf>,
}

impl MbufStash {
    /// A stash holding at most `capacity` mbufs.
    pub fn with_capacity(capacity: usize) -> MbufStash {
        MbufStash {
            bufs: Vec::with_capacity(capacity),
        }
    }

    /// Tops the stash up to `n` mbufs (at most its capacity) with bulk allocations of at most
    /// [`STASH_CHUNK`] each (one request for a whole fan-out-8 burst, 224 mbufs, drained the
    /// per-lcore cache and went to the pool's ring every burst: fan-out 8 ran at half speed in
    /// some runs). When the pool cannot give a chunk (bulk allocation is all or nothing) the
    /// stash keeps what it has and [`MbufStash::take`] allocates one by one, down to the pool's
    /// last mbuf.
    #[inline]
    pub fn fill(&mut self, pool: &Mempool, n: usize) {
        let target = n.min(self.bufs.capacity());
        while self.bufs.len() < target {
            let have = self.bufs.len();
            let want = (target - have).min(STASH_CHUNK);
            // SAFETY: the vector has room for `want` more elements past `have`; Mbuf is
            // repr(transparent) over a non-null rte_mbuf pointer and a successful bulk get
            // writes `want` valid, owned mbuf pointers there (raw: refcnt 1, one segment, no
            // next segment, which every mbuf in a pool has; the rest is set by whoever takes
            // one, see `take`); the length grows only then.
            unsafe {
                let dst = self.bufs.as_mut_ptr().add(have) as *mut *mut std::ffi::c_void;
                if dpdk_sys::rte_mempool_get_bulk(pool.as_ptr(), dst, want as u32) != 0 {
                    return;
                }
                self.bufs.set_len(have + want);
            }
        }
    }

    /// One fresh mbuf: from the stash (raw: the taker sets its data offset, lengths and flags,
    /// as [`Mbuf::copy_one_segment`] does), else allocated alone (reset). `None` when the pool
    /// is empty.
    #[inline]
    fn take(&mut self, pool: &Mempool) -> Option<Mbuf> {
        self.bufs.pop().or_else(|| Mbuf::alloc(pool))
    }

    /// Starts loading the header and first data line of every stashed mbuf, so the copies
    /// made a little later find them in cache (a pool's recycled mbufs are often out of L1 by
    /// the time they are taken again). The data line's address assumes the usual layout
    /// (no private area, default headroom); a wrong guess only wastes the hint.
    #[inline]
    pub fn prefetch(&self) {
        for m in &self.bufs {
            let p = m.raw.as_ptr().cast::<u8>();
            super::prefetch(p);
            super::prefetch(p.wrapping_add(
                std::mem::size_of::<dpdk_sys::rte_mbuf>() + dpdk_sys::RTE_PKTMBUF_HEADROOM as usize,
            ));
        }
    }

    /// Whether the stash is empty.
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// Gives every stashed mbuf back to its pool.
    #[inline]
    pub fn release(&mut self) {
        Mbuf::free_bulk(&mut self.bufs);
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (chain) and nobody else references it.
        unsafe { dpdk_sys::rte_pktmbuf_free(self.raw.as_ptr()) }
    }
}
