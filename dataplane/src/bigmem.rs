//! Large zero-filled arrays the workers index at random (the forwarding table's 8 MiB of slots,
//! each worker's per-entry counters, 64 MiB with up to six ports), in memory the kernel may back
//! with 2 MiB pages (only the pages written are ever backed).
//!
//! With 4 KiB pages, a lookup into a million-entry table misses the TLB on top of the cache;
//! measured on this machine's table scenario (1M entries, 4096 hit), transparent huge pages
//! took a packet from 200 to 162 cycles. The kernel here runs THP in `madvise` mode, so the
//! arrays are mapped anonymously (zero-filled, untouched) and `madvise(MADV_HUGEPAGE)`d before
//! their first write; elsewhere (and under Miri) they come from the global allocator.

use std::ops::Deref;
use std::sync::atomic::{AtomicPtr, AtomicU64};

/// Types whose all-zero bit pattern is a valid value (so a zero-filled mapping is initialised).
///
/// # Safety
/// Implement only for types for which all-zero bytes are a valid, meaningful value.
pub unsafe trait ZeroIsValid: Sync {}
// SAFETY: an AtomicU64 of zero bytes is 0.
unsafe impl ZeroIsValid for AtomicU64 {}
// SAFETY: an array of zero AtomicU64s.
unsafe impl ZeroIsValid for [AtomicU64; 2] {}
// SAFETY: an AtomicPtr of zero bytes is the null pointer.
unsafe impl<T> ZeroIsValid for AtomicPtr<T> {}

/// A fixed-length, zero-initialised slice of `T`, freed on drop.
pub struct ZeroedSlice<T: ZeroIsValid> {
    ptr: *mut T,
    len: usize,
    /// Bytes mapped (0: allocated with the global allocator).
    mapped: usize,
}

// SAFETY: the slice owns its memory and hands out only shared references to `T: Sync` values
// (atomics), so it may be sent and shared between threads.
unsafe impl<T: ZeroIsValid> Send for ZeroedSlice<T> {}
// SAFETY: as above.
unsafe impl<T: ZeroIsValid> Sync for ZeroedSlice<T> {}

const HUGE_PAGE: usize = 2 << 20;

impl<T: ZeroIsValid> ZeroedSlice<T> {
    /// `len` zero values of `T`.
    pub fn new(len: usize) -> ZeroedSlice<T> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .expect("slice size overflows");
        #[cfg(all(target_os = "linux", not(miri)))]
        if bytes >= HUGE_PAGE {
            let mapped = bytes.div_ceil(HUGE_PAGE) * HUGE_PAGE;
            // SAFETY: an anonymous private mapping of `mapped` bytes; the kernel returns memory
            // filled with zeros or MAP_FAILED. madvise only advises.
            unsafe {
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    mapped,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if p != libc::MAP_FAILED {
                    libc::madvise(p, mapped, libc::MADV_HUGEPAGE);
                    return ZeroedSlice {
                        ptr: p.cast::<T>(),
                        len,
                        mapped,
                    };
                }
            }
        }
        let layout = std::alloc::Layout::array::<T>(len).expect("slice layout");
        if layout.size() == 0 {
            return ZeroedSlice {
                ptr: std::ptr::NonNull::<T>::dangling().as_ptr(),
                len,
                mapped: 0,
            };
        }
        // SAFETY: a non-zero-sized layout; a null result is handled.
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        ZeroedSlice {
            ptr: p,
            len,
            mapped: 0,
        }
    }
}

impl<T: ZeroIsValid> Deref for ZeroedSlice<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: ptr points at len initialised (zero, hence valid: ZeroIsValid) values that
        // live as long as self; only shared references are handed out.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: ZeroIsValid> Drop for ZeroedSlice<T> {
    fn drop(&mut self) {
        if self.mapped > 0 {
            #[cfg(all(target_os = "linux", not(miri)))]
            // SAFETY: ptr/mapped are exactly what mmap returned; unmapped once. T needs no drop
            // (atomics).
            unsafe {
                libc::munmap(self.ptr.cast(), self.mapped);
            }
            return;
        }
        let Ok(layout) = std::alloc::Layout::array::<T>(self.len) else {
            return;
        };
        if layout.size() > 0 {
            // SAFETY: allocated by alloc_zeroed with this very layout; freed once.
            unsafe { std::alloc::dealloc(self.ptr.cast(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn small_and_large_slices_start_at_zero_and_hold_writes() {
        for len in [0usize, 1, 1000, 1 << 20] {
            let s: ZeroedSlice<AtomicU64> = ZeroedSlice::new(len);
            assert_eq!(s.len(), len);
            assert!(s
                .iter()
                .step_by(4097)
                .all(|v| v.load(Ordering::Relaxed) == 0));
            if let Some(last) = s.last() {
                last.store(7, Ordering::Relaxed);
                assert_eq!(s[len - 1].load(Ordering::Relaxed), 7);
            }
        }
        let p: ZeroedSlice<AtomicPtr<u8>> = ZeroedSlice::new(3);
        assert!(p.iter().all(|a| a.load(Ordering::Relaxed).is_null()));
    }
}
