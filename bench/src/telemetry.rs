//! A client for DPDK's telemetry socket (`/var/run/dpdk/<prefix>/dpdk_telemetry.v2`), which
//! every DPDK 22.11 application opens by default. The harness reads the port counters of
//! programs that print none (ipv4_multicast) through it, and of the others the same way, so
//! every program is measured by the same method.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Port counters as `/ethdev/stats,N` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EthStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Dropped by the device (rx ring full).
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
    /// Receives that found no mbuf.
    pub rx_nombuf: u64,
}

/// The socket path of the DPDK process started with `--file-prefix prefix` (as root).
pub fn socket_path(prefix: &str) -> PathBuf {
    PathBuf::from(format!("/var/run/dpdk/{prefix}/dpdk_telemetry.v2"))
}

/// A connected telemetry session.
#[derive(Debug)]
pub struct Telemetry {
    fd: OwnedFd,
}

impl Telemetry {
    /// Connects to `path` (an `AF_UNIX`/`SOCK_SEQPACKET` socket) and reads the greeting.
    pub fn connect(path: &Path) -> io::Result<Telemetry> {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a new descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= addr.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "socket path too long",
            ));
        }
        for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        // SAFETY: addr is a valid sockaddr_un and its size is passed.
        let ret = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_un as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        let t = Telemetry { fd };
        t.set_timeout(Duration::from_secs(2))?;
        t.recv()?; // {"version": ..., "pid": ..., "max_output_len": ...}
        Ok(t)
    }

    /// Connects, retrying until `timeout` (the process may still be starting).
    pub fn connect_wait(path: &Path, timeout: Duration) -> io::Result<Telemetry> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match Telemetry::connect(path) {
                Ok(t) => return Ok(t),
                Err(e) if std::time::Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn set_timeout(&self, d: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: d.as_secs() as libc::time_t,
            tv_usec: d.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: tv is a valid timeval and its size is passed.
        let ret = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn recv(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 64 * 1024];
        // SAFETY: buf is writable for its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "telemetry closed",
            ));
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    /// Sends one command (`/ethdev/list`, `/ethdev/stats,0`) and returns the JSON reply.
    pub fn query(&self, command: &str) -> io::Result<serde_json::Value> {
        // SAFETY: the command bytes are readable for their length.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                command.as_ptr() as *const libc::c_void,
                command.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let reply = self.recv()?;
        serde_json::from_slice(&reply).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Counters of port `port`.
    pub fn eth_stats(&self, port: u16) -> io::Result<EthStats> {
        let v = self.query(&format!("/ethdev/stats,{port}"))?;
        let s = v
            .get("/ethdev/stats")
            .filter(|s| s.is_object())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("no stats for port {port}: {v}"),
                )
            })?;
        let g = |k: &str| s.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
        Ok(EthStats {
            ipackets: g("ipackets"),
            opackets: g("opackets"),
            ibytes: g("ibytes"),
            obytes: g("obytes"),
            imissed: g("imissed"),
            ierrors: g("ierrors"),
            oerrors: g("oerrors"),
            rx_nombuf: g("rx_nombuf"),
        })
    }

    /// Counters of ports `0..n`.
    pub fn all_stats(&self, n: u16) -> io::Result<Vec<EthStats>> {
        (0..n).map(|p| self.eth_stats(p)).collect()
    }
}
