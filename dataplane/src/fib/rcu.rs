//! The published forwarding table: a hash table of copy-on-write buckets with quiescent-state-
//! based reclamation (QSBR).
//!
//! Layout: the key space ((S,G) and (*,G), the latter with source 0.0.0.0, which no packet can
//! carry) is hashed into [`SHARDS`] slots, 2^20 of them, each an `AtomicPtr` to an immutable
//! [`Bucket`] (null when empty). With as many slots as the table's design size (1M entries), a
//! bucket holds one entry on average, so a change copies about one entry whatever the table's
//! size: publishing one change costs the same in a 1k- and a 1M-entry table but for cache
//! misses (measured by `bench/`, scenario `publish`). The slot array is 8 MiB, fixed. (It was
//! 65,536 hash maps, 16 entries each at 1M: a change then cloned 16 routes, 13x the cost of a
//! change at 1k. `rte_hash` + `rte_rcu_qsbr` would also do, but needs every value in DPDK
//! memory and its own deferred free of the OIF lists, which this keeps in plain Rust.)
//!
//! The slot hash is multiplicative (in 32-bit lanes) with a per-table random seed, so which
//! keys share a bucket cannot be chosen from outside; a bucket with several entries is scanned
//! linearly.
//!
//! Readers (workers) load slot pointers with `Acquire` (a plain load on x86: no read-modify-
//! write per packet) and report a quiescent state once per poll-loop turn by storing the epoch
//! they last saw. The writer (control core) swaps buckets, bumps the epoch, and frees an old
//! bucket only once every reader has reported an epoch at least as new as the swap's.
//!
//! Who reads/writes what:
//! - `shards[i]`: writer stores (Release), readers load (Acquire).
//! - `epoch`: writer increments (SeqCst, after its swaps), readers load (Acquire) at a
//!   quiescent point.
//! - `readers[r]`: reader r stores (Release) at quiescent points; the writer loads (Acquire).
//! - `retired`: writer only (behind a mutex so the last owner can free it on drop).
//! - `seed`: written once at creation.

use super::arena::Arena;
use super::Route;
use rustc_hash::FxHashMap;
use std::hash::BuildHasher;
use std::net::Ipv4Addr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Number of bucket slots (a power of two).
/// (Miri runs the same code with few slots: the algorithm does not depend on the count, and
/// a million interpreted slots per test would take minutes.)
pub const SHARDS: usize = if cfg!(miri) { 64 } else { 1 << 20 };
/// A reader's epoch value meaning "not reading": it never holds reclamation back.
const OFFLINE: u64 = u64::MAX;

/// Entries a bucket holds in its own allocation. At the design load (one entry per slot on
/// average) 98% of slots hold at most three; each entry is 40 bytes, so a bucket is 128 bytes.
const FEW: usize = 3;

/// The entries of one slot, immutable once published. The first [`FEW`] live in the bucket
/// itself, so a lookup follows one pointer, its unused places [`VACANT`]; a slot with more
/// (rare) keeps the rest in a list of their own. A lookup compares the key of each place
/// without asking how many are used (the first compare finds most entries: at the design
/// load most buckets hold one). Buckets live in an [`Arena`]: two cache lines each, aligned,
/// in memory advised for huge pages. (As separate aligned heap allocations, the allocator's
/// slow aligned path made a publish cost 3.5x more at 1M entries than at 1k.)
#[derive(Debug)]
struct Bucket {
    few: [(u64, Route); FEW],
    // A thin pointer (a boxed slice's is two words): the bucket stays at two cache lines.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<(u64, Route)>>>,
}

/// The key of an unused place: (255.255.255.255, 255.255.255.255), which no entry has (a group
/// is multicast) and no lookup asks for (the workers look up classified multicast groups;
/// [`FibReader::lookup`] refuses it and [`FibWriter::insert`] ignores it).
const VACANT: u64 = u64::MAX;

/// What fills an unused place of a bucket (never returned: see [`VACANT`]).
fn vacant() -> (u64, Route) {
    (
        VACANT,
        Route {
            counter: super::NO_COUNTER,
            iif: u16::MAX,
            flags: super::EntryFlags::NONE,
            oifs: Vec::new().into(),
        },
    )
}

impl Bucket {
    /// The entries in use.
    fn entries(&self) -> impl Iterator<Item = &(u64, Route)> {
        self.few
            .iter()
            .filter(|(k, _)| *k != VACANT)
            .chain(self.more.iter().flat_map(|v| v.iter()))
    }

    /// `k`'s route; `k` must not be [`VACANT`].
    #[inline]
    fn get(&self, k: u64) -> Option<&Route> {
        let [a, b, c] = &self.few;
        if a.0 == k {
            return Some(&a.1);
        }
        if b.0 == k {
            return Some(&b.1);
        }
        if c.0 == k {
            return Some(&c.1);
        }
        self.more
            .as_deref()?
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, r)| r)
    }

    fn to_vec(&self) -> Vec<(u64, Route)> {
        self.entries().cloned().collect()
    }

    /// The bucket for `entries`, in a place of `arena`, or null for none.
    fn into_raw(entries: Vec<(u64, Route)>, arena: &mut Arena<Bucket>) -> *mut Bucket {
        if entries.is_empty() {
            return std::ptr::null_mut();
        }
        let mut entries = entries.into_iter();
        let few = [(); FEW].map(|()| entries.next().unwrap_or_else(vacant));
        let rest: Vec<(u64, Route)> = entries.collect();
        let more = (!rest.is_empty()).then(|| Box::new(rest));
        arena.alloc(Bucket { few, more }).as_ptr()
    }
}

#[inline]
fn key(source: u32, group: u32) -> u64 {
    (u64::from(source) << 32) | u64::from(group)
}

/// The slot of key `k` (see [`slot_of`]).
#[inline(always)]
fn hash_slot(k: u64, seed: u64) -> usize {
    slot_of((k >> 32) as u32, k as u32, seed) as usize
}

/// Bits of a slot index.
const SLOT_BITS: u32 = SHARDS.trailing_zeros();

/// Odd multipliers of the slot hash (the 32-bit golden ratio, and a second odd constant with
/// well-spread bits).
const MUL_SOURCE: u32 = 0x9e37_79b1;
const MUL_KEY: u32 = 0x85eb_ca77;

/// The slot of (S,G) (host order): the seeded source times an odd constant plus the seeded
/// group, then multiplicative hashing (Knuth) of that sum, whose high bits are the best
/// mixed. Always below [`SHARDS`]. In 32-bit lanes so that four flows hash in a few vector
/// instructions ([`Slots::slot4`]); distinct sources of one group (or groups of one source)
/// give distinct sums, which the last multiply spreads over the slots (tested against the
/// load a uniform hash would give).
#[inline(always)]
fn slot_of(source: u32, group: u32, seed: u64) -> u32 {
    let sum = (source ^ seed as u32)
        .wrapping_mul(MUL_SOURCE)
        .wrapping_add(group ^ (seed >> 32) as u32);
    sum.wrapping_mul(MUL_KEY) >> (32 - SLOT_BITS)
}

#[repr(align(64))]
struct ReaderSlot(AtomicU64);

struct Shared {
    shards: crate::bigmem::ZeroedSlice<AtomicPtr<Bucket>>,
    seed: u64,
    epoch: AtomicU64,
    readers: Box<[ReaderSlot]>,
    retired: Mutex<Vec<(u64, *mut Bucket)>>,
    /// Where buckets live (writer only, beside `retired`; see [`Arena`]).
    arena: Mutex<Arena<Bucket>>,
}

impl Shared {
    #[inline]
    fn slot(&self, k: u64) -> usize {
        hash_slot(k, self.seed)
    }
}

// SAFETY: the raw bucket pointers are owned by Shared (current ones) or its retired list; they
// are freed only by the writer after every reader has passed a quiescent point, or on drop when
// no reader or writer is left. Buckets themselves are immutable once published and are
// Send+Sync (plain data and Arcs of plain data).
unsafe impl Send for Shared {}
// SAFETY: as above; all shared mutable state is atomic or behind the mutex.
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // No reader or writer is left (this is the last Arc), so nothing can reach any bucket.
        let arena = self.arena.get_mut().unwrap_or_else(|e| e.into_inner());
        for s in self.shards.iter() {
            if let Some(p) = NonNull::new(s.load(Ordering::Acquire)) {
                // SAFETY: p came from this arena and is freed exactly once, here.
                unsafe { arena.free(p) };
            }
        }
        let retired = std::mem::take(self.retired.get_mut().unwrap_or_else(|e| e.into_inner()));
        for (_, p) in retired {
            if let Some(p) = NonNull::new(p) {
                // SAFETY: retired buckets came from this arena, are no longer published, and
                // are freed exactly once.
                unsafe { arena.free(p) };
            }
        }
    }
}

/// Creates a published table with room for `readers` reader handles.
pub fn new(readers: usize) -> (FibWriter, Vec<FibReader>) {
    let shared = Arc::new(Shared {
        // All null: every slot empty.
        shards: crate::bigmem::ZeroedSlice::new(SHARDS),
        seed: std::collections::hash_map::RandomState::new().hash_one(0x006d_726f_7574_6572_u64),
        epoch: AtomicU64::new(1),
        readers: (0..readers)
            .map(|_| ReaderSlot(AtomicU64::new(1)))
            .collect(),
        retired: Mutex::new(Vec::new()),
        arena: Mutex::new(Arena::default()),
    });
    let readers = (0..readers)
        .map(|reader| FibReader {
            shared: Arc::clone(&shared),
            reader,
        })
        .collect();
    let writer = FibWriter {
        shared,
        staged: FxHashMap::default(),
        len: 0,
    };
    (writer, readers)
}

/// A slot's bucket as a batched lookup loaded it ([`Slots::load_bucket`]); valid while the
/// reader is borrowed (until its next quiescent state).
#[derive(Debug, Clone, Copy, Default)]
pub struct BucketRef<'a>(Option<&'a Bucket>);

/// A worker's read handle. Lookups borrow it; [`FibReader::quiescent`] takes it mutably, so
/// the borrow checker proves no looked-up route is held across a quiescent point.
pub struct FibReader {
    shared: Arc<Shared>,
    /// This reader's index in `Shared::readers`.
    reader: usize,
}

/// What a batched lookup's first two steps need of the table, taken from the reader once per
/// burst ([`FibReader::slots`]): the hash seed and the slots as an array of exactly
/// [`SHARDS`], so a hashed slot (always below it) indexes without a bounds check.
#[derive(Clone, Copy)]
pub struct Slots<'a> {
    seed: u64,
    shards: &'a [AtomicPtr<Bucket>; SHARDS],
}

impl<'a> Slots<'a> {
    /// The slot (S,G) hashes to: always below [`SHARDS`].
    #[inline(always)]
    pub fn slot(&self, source: u32, group: u32) -> usize {
        slot_of(source, group, self.seed) as usize
    }

    /// The slots of `N` flows at once ([`Slots::slot`] lane by lane; a loop the compiler
    /// turns into a few vector instructions where the target has a 32-bit lane multiply).
    #[inline(always)]
    pub fn slots<const N: usize>(&self, source: &[u32; N], group: &[u32; N]) -> [u32; N] {
        // A plain loop (no closure), so that it is compiled with the caller's target features.
        let mut slots = [0; N];
        for k in 0..N {
            slots[k] = slot_of(source[k], group[k], self.seed);
        }
        slots
    }

    /// A batched lookup's first step: start loading `slot`.
    #[inline(always)]
    pub fn prefetch(&self, slot: usize) {
        crate::dpdk::prefetch(&self.shards[slot & (SHARDS - 1)]);
    }

    /// Its second step: the bucket of `slot`, whose lines start loading, kept for
    /// [`FibReader::lookup_in`].
    #[inline(always)]
    pub fn load_bucket(&self, slot: usize) -> BucketRef<'a> {
        let p = self.shards[slot & (SHARDS - 1)].load(Ordering::Acquire);
        // A bucket is two whole cache lines (its arena place is 64-byte aligned). Prefetched
        // without testing for an empty slot first: a prefetch of null (or null + 64) is a
        // hint that never faults, and the branch cost more than the hint.
        crate::dpdk::prefetch(p);
        crate::dpdk::prefetch(p.cast::<u8>().wrapping_add(64));
        // SAFETY: p is null or a published bucket. The writer frees a bucket only after this
        // reader has stored an epoch newer than the swap that retired it, which happens in
        // `quiescent(&mut self)`; `'a` borrows the reader, so the bucket cannot outlive that.
        BucketRef(unsafe { p.as_ref() })
    }
}

impl FibReader {
    /// The route for `source` -> `group` (host order): exact (S,G) first, then (*,G).
    #[inline]
    pub fn lookup(&self, source: u32, group: u32) -> Option<&Route> {
        self.get(key(source, group))
            .or_else(|| self.get(key(0, group)))
    }

    /// The seed and slots for a burst's batched lookups ([`Slots`]).
    #[inline]
    pub fn slots(&self) -> Slots<'_> {
        Slots {
            seed: self.shared.seed,
            // An invariant, not input: `new` makes the table exactly SHARDS slots long.
            shards: (*self.shared.shards)
                .try_into()
                .expect("the table has SHARDS slots"),
        }
    }

    /// Last step: the route for `source` -> `group` whose (S,G) bucket `bucket` is (from
    /// [`Slots::load_bucket`] of `Slots::slot(source, group)`): exact (S,G) first, then (*,G).
    #[inline]
    pub fn lookup_in<'a>(
        &'a self,
        bucket: BucketRef<'a>,
        source: u32,
        group: u32,
    ) -> Option<&'a Route> {
        bucket
            .0
            .and_then(|b| b.get(key(source, group)))
            .or_else(|| self.get(key(0, group)))
    }

    #[inline]
    fn get(&self, k: u64) -> Option<&Route> {
        if k == VACANT {
            return None;
        }
        self.get_at(self.shared.slot(k), k)
    }

    #[inline]
    fn get_at(&self, slot: usize, k: u64) -> Option<&Route> {
        let p = self.shared.shards.get(slot)?.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: p is a published bucket. The writer frees it only after this reader has
        // stored an epoch newer than the swap that retired it, which happens in
        // `quiescent(&mut self)`; the returned reference borrows self, so it cannot outlive that.
        unsafe { (*p).get(k) }
    }

    /// Reports a quiescent state: this reader holds no reference into the table.
    #[inline]
    pub fn quiescent(&mut self) {
        let e = self.shared.epoch.load(Ordering::Acquire);
        self.shared.readers[self.reader]
            .0
            .store(e, Ordering::Release);
    }
}

impl Drop for FibReader {
    fn drop(&mut self) {
        self.shared.readers[self.reader]
            .0
            .store(OFFLINE, Ordering::Release);
    }
}

// SAFETY: a FibReader is used by one thread at a time (methods take &self/&mut self of a value
// that is not Sync-shared between workers); moving it to a worker lcore is fine.
unsafe impl Send for FibReader {}

/// The control core's write handle: stage changes, then [`FibWriter::publish`] them.
pub struct FibWriter {
    shared: Arc<Shared>,
    /// Slots changed since the last publish, with their new entries.
    staged: FxHashMap<usize, Vec<(u64, Route)>>,
    len: usize,
}

impl FibWriter {
    fn staged_slot(&mut self, idx: usize) -> &mut Vec<(u64, Route)> {
        let shared = &self.shared;
        self.staged.entry(idx).or_insert_with(|| {
            let p = shared.shards[idx].load(Ordering::Acquire);
            if p.is_null() {
                Vec::new()
            } else {
                // SAFETY: only the writer frees buckets, and it is us; p is live.
                unsafe { (*p).to_vec() }
            }
        })
    }

    /// Stages an insert or replace of the (S,G) route (`source == None`: (*,G)).
    /// (255.255.255.255, 255.255.255.255), not a multicast route, is ignored (see [`VACANT`]).
    pub fn insert(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr, route: Route) {
        let k = key(source.map_or(0, u32::from), group.into());
        if k == VACANT {
            return;
        }
        let entries = self.staged_slot(self.shared.slot(k));
        match entries.iter_mut().find(|(key, _)| *key == k) {
            Some(e) => e.1 = route,
            None => {
                entries.push((k, route));
                self.len += 1;
            }
        }
    }

    /// Stages a removal; returns whether the route existed.
    pub fn remove(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr) -> bool {
        let k = key(source.map_or(0, u32::from), group.into());
        let entries = self.staged_slot(self.shared.slot(k));
        let Some(pos) = entries.iter().position(|(key, _)| *key == k) else {
            return false;
        };
        entries.swap_remove(pos);
        self.len -= 1;
        true
    }

    /// The route as staged (what readers will see after the next publish).
    pub fn get(&self, source: Option<Ipv4Addr>, group: Ipv4Addr) -> Option<&Route> {
        let k = key(source.map_or(0, u32::from), group.into());
        if k == VACANT {
            return None;
        }
        let idx = self.shared.slot(k);
        match self.staged.get(&idx) {
            Some(v) => v.iter().find(|(key, _)| *key == k).map(|(_, r)| r),
            None => {
                let p = self.shared.shards[idx].load(Ordering::Acquire);
                if p.is_null() {
                    return None;
                }
                // SAFETY: only the writer frees buckets; the reference borrows self.
                unsafe { (*p).get(k) }
            }
        }
    }

    /// Routes in the table (staged changes included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes every staged change visible to readers, then frees whatever old buckets readers
    /// have moved past. Returns the new epoch: once [`FibWriter::acknowledged`] is true for it,
    /// no reader can see any state from before this publish.
    pub fn publish(&mut self) -> u64 {
        if self.staged.is_empty() {
            return self.shared.epoch.load(Ordering::Acquire);
        }
        let mut old = Vec::with_capacity(self.staged.len());
        // Take the map rather than drain it: a drain walks the map's whole allocation, which
        // stays as large as the largest publish so far (a table build: 1M slots), and would
        // make every later one-change publish cost O(table).
        let mut arena = self.shared.arena.lock().unwrap_or_else(|e| e.into_inner());
        for (idx, entries) in std::mem::take(&mut self.staged) {
            let p = Bucket::into_raw(entries, &mut arena);
            let was = self.shared.shards[idx].swap(p, Ordering::AcqRel);
            if !was.is_null() {
                old.push(was);
            }
        }
        drop(arena);
        // SeqCst after the swaps: a reader that sees the new epoch sees the new buckets.
        let epoch = self.shared.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if !old.is_empty() {
            let mut retired = self
                .shared
                .retired
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            retired.extend(old.into_iter().map(|p| (epoch, p)));
        }
        self.reclaim();
        epoch
    }
    /// The oldest epoch some reader may still be using.
    fn min_reader_epoch(&self) -> u64 {
        self.shared
            .readers
            .iter()
            .map(|r| r.0.load(Ordering::Acquire))
            .min()
            .unwrap_or(OFFLINE)
    }

    /// Whether every reader has passed a quiescent point since publish returned `epoch`.
    pub fn acknowledged(&self, epoch: u64) -> bool {
        self.min_reader_epoch() >= epoch
    }

    /// Frees retired buckets no reader can still see; returns how many are still waiting.
    pub fn reclaim(&mut self) -> usize {
        let safe = self.min_reader_epoch();
        let mut retired = self
            .shared
            .retired
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut arena = self.shared.arena.lock().unwrap_or_else(|e| e.into_inner());
        retired.retain(|&(epoch, p)| {
            if epoch <= safe {
                if let Some(p) = NonNull::new(p) {
                    // SAFETY: every reader reported an epoch >= the one this bucket was retired
                    // in, i.e. passed a quiescent point after it was unpublished; it came from
                    // this arena and is freed once.
                    unsafe { arena.free(p) };
                }
                false
            } else {
                true
            }
        });
        retired.len()
    }

    /// Waits (polling, up to `timeout`) until every reader has acknowledged `epoch`, then
    /// reclaims. Returns false on timeout (a reader stalled).
    pub fn synchronize(&mut self, epoch: u64, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while !self.acknowledged(epoch) {
            if Instant::now() >= end {
                return false;
            }
            std::hint::spin_loop();
            std::thread::yield_now();
        }
        self.reclaim();
        true
    }
}

#[cfg(test)]
mod tests;
