//! Memory for the published table's buckets: fixed-size places, cache-line aligned, carved
//! from 2 MiB chunks that are themselves 2 MiB aligned and advised for transparent huge pages
//! (as [`crate::bigmem`] does for the slot array), and reused through a free list.
//!
//! Why: a lookup follows a slot's pointer to its bucket, and with a million entries the
//! buckets are spread over 128 MiB; as separate heap allocations (4 KiB pages) that step
//! misses the TLB on top of the cache, and an unaligned 128-byte bucket spans three cache
//! lines instead of two. The global allocator's aligned path was too slow per bucket (a
//! publish at 1M entries cost 3.5x the one at 1k, `rcu`'s note on `Bucket`); here an aligned
//! allocation happens once per chunk.
//!
//! Only the table's writer allocates and frees (behind the table's mutex); values still in
//! the arena when it is dropped are not dropped (the table frees every bucket first).

use std::alloc::Layout;
use std::ptr::NonNull;

/// Bytes per chunk (one huge page; smaller under Miri, which interprets every write).
const CHUNK: usize = if cfg!(miri) { 64 << 10 } else { 2 << 20 };
/// Alignment of every place (a cache line).
const LINE: usize = 64;

/// Places for values of `T`, each `size_of::<T>()` rounded up to whole cache lines.
pub struct Arena<T> {
    chunks: Vec<NonNull<u8>>,
    /// Places never used yet in the last chunk: the next one's offset.
    next: usize,
    free: Vec<NonNull<T>>,
}

// SAFETY: the arena owns its chunks; the values it holds are only reached through pointers
// its owner keeps (the table's buckets, Send + Sync data), and it is used behind a mutex.
unsafe impl<T: Send> Send for Arena<T> {}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            chunks: Vec::new(),
            next: CHUNK,
            free: Vec::new(),
        }
    }
}

impl<T> Arena<T> {
    /// Bytes of one place.
    const PLACE: usize = {
        assert!(std::mem::align_of::<T>() <= LINE);
        assert!(std::mem::size_of::<T>() > 0 && std::mem::size_of::<T>() <= CHUNK);
        std::mem::size_of::<T>().div_ceil(LINE) * LINE
    };

    /// Moves `value` into a place of its own (cache-line aligned).
    pub fn alloc(&mut self, value: T) -> NonNull<T> {
        let p = match self.free.pop() {
            Some(p) => p,
            None => self.carve(),
        };
        // SAFETY: p is an unused place of PLACE >= size_of::<T>() bytes, aligned to LINE >=
        // align_of::<T>(), inside a live chunk.
        unsafe { p.as_ptr().write(value) };
        p
    }

    /// Drops the value at `p` and makes its place reusable.
    ///
    /// # Safety
    /// `p` came from [`Arena::alloc`] of this arena, is freed once, and nothing uses it after.
    pub unsafe fn free(&mut self, p: NonNull<T>) {
        std::ptr::drop_in_place(p.as_ptr());
        self.free.push(p);
    }

    /// Bytes of memory held (every chunk, used or not).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    fn carve(&mut self) -> NonNull<T> {
        if self.next + Self::PLACE > CHUNK {
            self.chunks.push(new_chunk());
            self.next = 0;
        }
        let chunk = *self.chunks.last().expect("a chunk was just added");
        // SAFETY: next + PLACE <= CHUNK: the place lies inside the chunk.
        let p = unsafe { chunk.as_ptr().add(self.next) };
        self.next += Self::PLACE;
        // SAFETY: p is inside a live allocation, so not null.
        unsafe { NonNull::new_unchecked(p.cast::<T>()) }
    }
}

fn chunk_layout() -> Layout {
    Layout::from_size_align(CHUNK, CHUNK).expect("a power-of-two chunk layout")
}

/// A fresh chunk, advised for huge pages where that exists.
fn new_chunk() -> NonNull<u8> {
    let layout = chunk_layout();
    // SAFETY: a non-zero-sized layout; a null result is handled.
    let p = unsafe { std::alloc::alloc(layout) };
    let Some(p) = NonNull::new(p) else {
        std::alloc::handle_alloc_error(layout);
    };
    #[cfg(all(target_os = "linux", not(miri)))]
    // SAFETY: [p, p + CHUNK) is our allocation; madvise only advises.
    unsafe {
        libc::madvise(p.as_ptr().cast(), CHUNK, libc::MADV_HUGEPAGE);
    }
    p
}

impl<T> Drop for Arena<T> {
    fn drop(&mut self) {
        for c in self.chunks.drain(..) {
            // SAFETY: allocated by new_chunk with this very layout; freed once.
            unsafe { std::alloc::dealloc(c.as_ptr(), chunk_layout()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn places_are_aligned_distinct_reused_and_values_dropped_on_free() {
        let mut a: Arena<(u64, Arc<u32>)> = Arena::default();
        let shared = Arc::new(7);
        let n = 3 * (CHUNK / 64) / 2; // more than one chunk of 64-byte places
        let ps: Vec<_> = (0..n as u64)
            .map(|k| a.alloc((k, Arc::clone(&shared))))
            .collect();
        assert_eq!(Arc::strong_count(&shared), n + 1);
        assert_eq!(a.held(), 2 * CHUNK);
        let mut addrs: Vec<usize> = ps.iter().map(|p| p.as_ptr() as usize).collect();
        assert!(addrs.iter().all(|&x| x % LINE == 0));
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), n, "every place distinct");
        for (k, p) in ps.iter().enumerate() {
            // SAFETY: a live value of this arena.
            assert_eq!(unsafe { p.as_ref() }.0, k as u64);
        }
        for p in &ps[..10] {
            // SAFETY: allocated here, freed once.
            unsafe { a.free(*p) };
        }
        assert_eq!(Arc::strong_count(&shared), n + 1 - 10);
        // Freed places come back before new memory is carved.
        let again = a.alloc((99, Arc::clone(&shared)));
        assert!(ps[..10].contains(&again));
        assert_eq!(a.held(), 2 * CHUNK);
        for p in ps[10..].iter().chain([&again]) {
            // SAFETY: live values of this arena, each freed once.
            unsafe { a.free(*p) };
        }
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
