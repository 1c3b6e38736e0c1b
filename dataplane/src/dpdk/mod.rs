//! The safe layer over DPDK. All `unsafe` DPDK calls of the project live in this module (and in
//! `dpdk-sys`); everything above it sees [`Eal`], [`Mempool`], [`Mbuf`] and [`Port`].

pub mod af_packet;
mod eal;
mod mbuf;
mod mempool;
mod port;
pub mod telemetry;

pub use eal::{lcore_id, measure_tsc_hz, set_current_thread_nice, tsc, tsc_hz, Eal, LaunchError};
pub use mbuf::{
    CopySource, CopyWithMac, LineSource, Mbuf, MbufStash, BURST, ETHER_HEADER_LEN, SHARED_FROM,
};
pub use mempool::{Mempool, MBUF_HEADROOM};
pub use port::{create_vdev, EtherAddr, Port, PortStats, RxQueue, TxQueue, TX_BUFFER};

/// Asks the CPU to bring the cache line at `p` closer; never faults, whatever `p` is.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: prefetch is a hint: it does not dereference `p` architecturally and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    // (Miri does not model the hint; it changes nothing a program can observe.)
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = p;
}

use std::ffi::CStr;

/// A DPDK call that failed, with the operation and DPDK's own error text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{op}: {message} (errno {code})")]
pub struct DpdkError {
    /// What we were doing (`rte_eal_init`, `configure port 0`, ...).
    pub op: String,
    /// The positive errno value.
    pub code: i32,
    /// `rte_strerror(code)`.
    pub message: String,
}

impl DpdkError {
    /// Builds an error from a negative (or positive) errno return.
    pub(crate) fn from_ret(op: impl Into<String>, ret: i32) -> Self {
        let code = ret.abs();
        // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
        // string for any errno value.
        let message = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(code)) }
            .to_string_lossy()
            .into_owned();
        DpdkError {
            op: op.into(),
            code,
            message,
        }
    }

    /// Builds an error from the calling thread's `rte_errno`.
    pub(crate) fn from_errno(op: impl Into<String>) -> Self {
        // SAFETY: the shim only reads the calling thread's rte_errno.
        let code = unsafe { dpdk_sys::mrouter_rte_errno() };
        Self::from_ret(op, code)
    }
}

/// Turns a DPDK `int` return (negative errno on failure) into a `Result`.
pub(crate) fn check(ret: i32, op: impl FnOnce() -> String) -> Result<i32, DpdkError> {
    if ret < 0 {
        Err(DpdkError::from_ret(op(), ret))
    } else {
        Ok(ret)
    }
}
