//! The kernel's drops on af_packet ports: frames the kernel could not put on a socket's rx
//! ring because it was full (the worker did not read it in time, e.g. it was descheduled on a
//! loaded machine). DPDK 22.11's af_packet driver does not report them (its `imissed` stays
//! 0), so the frames would be lost without a counter; the kernel counts them per socket
//! (`PACKET_STATISTICS`, `tp_drops`).
//!
//! The driver's sockets are not reachable through its API, so they are found among the
//! process's file descriptors: every `AF_PACKET` socket bound to the interface (one per queue
//! pair). Only the af_packet driver opens packet sockets in this process. Reading the
//! statistics clears them in the kernel, so the totals are kept here, per interface index,
//! behind one lock (readers on several threads add each drop once).

use std::collections::HashMap;
use std::sync::Mutex;

/// Drops read so far, by interface index.
static TOTALS: Mutex<Option<HashMap<u32, u64>>> = Mutex::new(None);

/// Frames the kernel dropped because an rx ring of an af_packet socket bound to `iface` was
/// full, since the start of the process (0 when the interface is unknown).
pub fn ring_drops(iface: &str) -> u64 {
    let Ok(name) = std::ffi::CString::new(iface) else {
        return 0;
    };
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return 0;
    }
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let total = totals
        .get_or_insert_with(HashMap::new)
        .entry(ifindex)
        .or_default();
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return *total;
    };
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if bound_packet_socket(fd) == Some(ifindex) {
            *total += u64::from(take_drops(fd));
        }
    }
    *total
}

/// The interface index an `AF_PACKET` socket `fd` is bound to; `None` for any other fd.
fn bound_packet_socket(fd: i32) -> Option<u32> {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the option buffer is a valid c_int of `len` bytes; a stale or non-socket fd
    // only makes the call fail (ENOTSOCK, EBADF).
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 || domain != libc::AF_PACKET {
        return None;
    }
    // SAFETY: sockaddr_ll is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `addr` is a writable sockaddr_ll of `len` bytes; the kernel writes at most `len`.
    let r =
        unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_ll).cast(), &mut len) };
    (r == 0 && addr.sll_ifindex > 0).then_some(addr.sll_ifindex as u32)
}

/// The socket's ring drops since the last read (the kernel clears them when read).
fn take_drops(fd: i32) -> u32 {
    // tpacket_stats (TPACKET_V1/V2, which the driver uses) is tp_packets, tp_drops;
    // tpacket_stats_v3 adds tp_freeze_q_cnt. The kernel writes at most the version's size.
    let mut st = [0u32; 3];
    let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
    // SAFETY: `st` is a writable buffer of `len` bytes, aligned for u32.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            st.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r == 0 && len >= 8 {
        st[1]
    } else {
        0
    }
}
