//! `mcast-probe`: a tiny multicast host for the lab and the end-to-end tests, run inside a
//! network namespace with the kernel's own sockets.
//!
//! `mcast-probe send --group G --count N [--ttl T] [--interval-ms I] [--bind A] [--size B]
//! [--df on|off]` sends N UDP datagrams "mcast-probe seq=K" to G:5001 (with `--size`,
//! "mcast-probe seq=K " padded to B bytes with a pattern of K, which the receiver checks;
//! `--df on`: IP_PMTUDISC_DO, Don't Fragment on every datagram; `--df off`: IP_PMTUDISC_DONT,
//! never; by default Linux sets DF on the datagrams that fit the sender's link).
//! `mcast-probe recv --group G [--source S] [--iface A] [--duration-ms D] [--count N]` joins G
//! (or, with `--source`, only S's traffic to G: IP_ADD_SOURCE_MEMBERSHIP; IGMP from the kernel),
//! prints `ready`, then one line `seq=K ttl=T from=S len=L intact=0|1` per datagram (intact:
//! a `--size` pattern arrived unchanged, or there was none), and `received N` at the end
//! (after D ms, or once N datagrams are in).
//! `mcast-probe query [--group G] [--version 2|3] [--count N] [--interval-ms I]` plays a second
//! IGMP querier: N membership queries (general, or specific to G) to 224.0.0.1 (or G) from a raw
//! socket, the kernel building the IP header (TTL 1, Router Alert option).
use clap::{Parser, Subcommand};
use nix::sys::socket::{
    bind, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    SockFlag, SockType, SockaddrIn,
};
use std::io::{IoSliceMut, Write};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "mcast-probe",
    about = "send or receive test multicast with kernel sockets"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send numbered datagrams to a group.
    Send {
        #[arg(long)]
        group: Ipv4Addr,
        #[arg(long, default_value_t = 5001)]
        port: u16,
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// First sequence number.
        #[arg(long, default_value_t = 0)]
        start_seq: u32,
        #[arg(long, default_value_t = 16)]
        ttl: u32,
        #[arg(long, default_value_t = 10)]
        interval_ms: u64,
        /// Local address to send from.
        #[arg(long)]
        bind: Option<Ipv4Addr>,
        /// Datagram size in bytes (the text padded with a pattern of the sequence number).
        #[arg(long)]
        size: Option<usize>,
        /// Don't Fragment: `on` (IP_PMTUDISC_DO: set on every datagram, routers must not
        /// fragment them) or `off` (IP_PMTUDISC_DONT: never set). Default: the kernel's (set
        /// on datagrams that fit the sender's link).
        #[arg(long, value_parser = ["on", "off"])]
        df: Option<String>,
    },
    /// A miss storm: one datagram from each of `sources` distinct source addresses (counting up
    /// from `first_source`, sent with IP_TRANSPARENT so they need not be local), at `rate` new
    /// sources per second.
    Storm {
        #[arg(long)]
        group: Ipv4Addr,
        #[arg(long, default_value_t = 5001)]
        port: u16,
        #[arg(long)]
        first_source: Ipv4Addr,
        #[arg(long, default_value_t = 1000)]
        sources: u32,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 16)]
        ttl: u32,
        /// Interface to send on (the kernel picks none for a non-local source).
        #[arg(long)]
        dev: String,
    },
    /// Join a group and print what arrives.
    Recv {
        #[arg(long)]
        group: Ipv4Addr,
        #[arg(long, default_value_t = 5001)]
        port: u16,
        /// Only this source's traffic: a source-specific join (IGMPv3 INCLUDE {S}).
        #[arg(long)]
        source: Option<Ipv4Addr>,
        /// Address of the interface to join on (default: let the kernel choose).
        #[arg(long)]
        iface: Option<Ipv4Addr>,
        #[arg(long, default_value_t = 3000)]
        duration_ms: u64,
        /// Stop once this many datagrams are in.
        #[arg(long)]
        count: Option<u32>,
    },
    /// Send IGMP membership queries, as another querier on the link would.
    Query {
        /// Group of a group-specific query (default: a general query).
        #[arg(long, default_value_t = Ipv4Addr::UNSPECIFIED)]
        group: Ipv4Addr,
        /// 2: an 8-byte v2 query; 3: a 12-byte v3 query with no sources.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=3))]
        version: u8,
        /// Max Resp Code, in tenths of a second (below 128, where v2 and v3 agree).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..128))]
        max_resp_ds: u8,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("mcast-probe: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.cmd {
        Cmd::Send {
            group,
            port,
            count,
            start_seq,
            ttl,
            interval_ms,
            bind,
            size,
            df,
        } => {
            let sock =
                UdpSocket::bind(SocketAddrV4::new(bind.unwrap_or(Ipv4Addr::UNSPECIFIED), 0))?;
            sock.set_multicast_ttl_v4(ttl)?;
            sock.set_multicast_loop_v4(false)?;
            match df.as_deref() {
                Some("on") => set_pmtudisc(&sock, libc::IP_PMTUDISC_DO)?,
                Some(_) => set_pmtudisc(&sock, libc::IP_PMTUDISC_DONT)?,
                None => {}
            }
            for seq in start_seq..start_seq.saturating_add(count) {
                sock.send_to(&message(seq, size), SocketAddrV4::new(group, port))?;
                if interval_ms > 0 {
                    std::thread::sleep(Duration::from_millis(interval_ms));
                }
            }
            println!("sent {count}");
        }
        Cmd::Storm {
            group,
            port,
            first_source,
            sources,
            rate,
            ttl,
            dev,
        } => {
            let dev = std::ffi::OsString::from(dev);
            let start = std::time::Instant::now();
            let per = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
            for i in 0..sources {
                let src = Ipv4Addr::from(u32::from(first_source).wrapping_add(i));
                let fd = socket(
                    AddressFamily::Inet,
                    SockType::Datagram,
                    SockFlag::SOCK_CLOEXEC,
                    None,
                )?;
                setsockopt(&fd, sockopt::IpTransparent, &true)?;
                setsockopt(&fd, sockopt::BindToDevice, &dev)?;
                bind(
                    fd.as_raw_fd(),
                    &SockaddrIn::from(SocketAddrV4::new(src, port)),
                )?;
                let sock = UdpSocket::from(fd);
                sock.set_multicast_ttl_v4(ttl)?;
                sock.set_multicast_loop_v4(false)?;
                sock.send_to(
                    format!("mcast-probe storm={i}").as_bytes(),
                    SocketAddrV4::new(group, port),
                )?;
                let due = start + per * (i + 1);
                if let Some(wait) = due.checked_duration_since(std::time::Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            println!(
                "stormed {sources} sources in {:.2} s",
                start.elapsed().as_secs_f64()
            );
        }
        Cmd::Recv {
            group,
            port,
            source,
            iface,
            duration_ms,
            count,
        } => {
            // SO_REUSEADDR so several receivers (other groups) can share the port on one host.
            let fd = socket(
                AddressFamily::Inet,
                SockType::Datagram,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            setsockopt(&fd, sockopt::ReuseAddr, &true)?;
            bind(
                fd.as_raw_fd(),
                &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
            )?;
            let sock = UdpSocket::from(fd);
            let iface = iface.unwrap_or(Ipv4Addr::UNSPECIFIED);
            match source {
                Some(source) => join_source(&sock, group, source, iface)?,
                None => sock.join_multicast_v4(&group, &iface)?,
            }
            setsockopt(&sock, sockopt::Ipv4RecvTtl, &true)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "ready")?;
            out.flush()?;
            let end = Instant::now() + Duration::from_millis(duration_ms);
            let mut received = 0u32;
            let mut buf = vec![0u8; 65536];
            let mut cmsg = nix::cmsg_space!(libc::c_int);
            while count.is_none_or(|c| received < c) {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                sock.set_read_timeout(Some(left))?;
                let mut iov = [IoSliceMut::new(&mut buf)];
                let msg = match recvmsg::<SockaddrIn>(
                    sock.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::empty(),
                ) {
                    Ok(m) => m,
                    Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                };
                let ttl = msg
                    .cmsgs()?
                    .find_map(|c| match c {
                        ControlMessageOwned::Ipv4Ttl(t) => Some(t),
                        _ => None,
                    })
                    .unwrap_or(-1);
                let from = msg.address.map(|a| a.ip().to_string()).unwrap_or_default();
                let len = msg.bytes;
                let (seq, intact) = check_message(&buf[..len]);
                let seq = seq.map_or("?".to_string(), |s| s.to_string());
                let intact = u8::from(intact);
                writeln!(
                    out,
                    "seq={seq} ttl={ttl} from={from} len={len} intact={intact}"
                )?;
                out.flush()?;
                received += 1;
            }
            writeln!(out, "received {received}")?;
        }
        Cmd::Query {
            group,
            version,
            max_resp_ds,
            count,
            interval_ms,
        } => {
            let sock = igmp_socket()?;
            let dst = if group.is_unspecified() {
                Ipv4Addr::new(224, 0, 0, 1)
            } else {
                group
            };
            let msg = query_message(version, max_resp_ds, group);
            for n in 0..count {
                if n > 0 {
                    std::thread::sleep(Duration::from_millis(interval_ms));
                }
                nix::sys::socket::sendto(
                    sock.as_raw_fd(),
                    &msg,
                    &SockaddrIn::from(SocketAddrV4::new(dst, 0)),
                    MsgFlags::empty(),
                )?;
            }
            println!("sent {count}");
        }
    }
    Ok(())
}

/// The datagram for `seq`: "mcast-probe seq=K", or with a `size`, "mcast-probe seq=K "
/// padded to `size` bytes with `pattern(K, i)`.
fn message(seq: u32, size: Option<usize>) -> Vec<u8> {
    let Some(size) = size else {
        return format!("mcast-probe seq={seq}").into_bytes();
    };
    let mut m = format!("mcast-probe seq={seq} ").into_bytes();
    let head = m.len();
    m.extend((head..size.max(head)).map(|i| pattern(seq, i)));
    m
}

fn pattern(seq: u32, i: usize) -> u8 {
    (i as u32).wrapping_mul(7).wrapping_add(seq) as u8
}

/// The sequence number of a received datagram and whether its padding (if any) is intact.
fn check_message(data: &[u8]) -> (Option<u32>, bool) {
    let Some(rest) = data.strip_prefix(b"mcast-probe seq=") else {
        return (None, false);
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(seq) = std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
    else {
        return (None, false);
    };
    let head = 16 + digits;
    let intact = match data.get(head) {
        None => true,
        Some(b' ') => data[head + 1..]
            .iter()
            .enumerate()
            .all(|(k, &b)| b == pattern(seq, head + 1 + k)),
        Some(_) => false,
    };
    (Some(seq), intact)
}

/// IP_MTU_DISCOVER (nix has no wrapper): whether datagrams carry Don't Fragment.
fn set_pmtudisc(sock: &UdpSocket, value: libc::c_int) -> std::io::Result<()> {
    // SAFETY: the option buffer is a valid c_int for its length during the call; the fd is
    // open for as long as `sock` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// IP_ADD_SOURCE_MEMBERSHIP (nix has no wrapper for it): the kernel reports INCLUDE {source}.
fn join_source(
    sock: &UdpSocket,
    group: Ipv4Addr,
    source: Ipv4Addr,
    iface: Ipv4Addr,
) -> std::io::Result<()> {
    let be = |a: Ipv4Addr| libc::in_addr {
        s_addr: u32::from(a).to_be(),
    };
    let req = libc::ip_mreq_source {
        imr_multiaddr: be(group),
        imr_interface: be(iface),
        imr_sourceaddr: be(source),
    };
    // SAFETY: `req` is a valid ip_mreq_source that lives across the call, and the length
    // passed is its size; the fd is open for as long as `sock` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_ADD_SOURCE_MEMBERSHIP,
            std::ptr::addr_of!(req).cast(),
            std::mem::size_of::<libc::ip_mreq_source>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A raw IGMP socket whose packets carry TTL 1 and the Router Alert option (RFC 2113), with no
/// copy looped back to this host's own IGMP.
fn igmp_socket() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2) call; the result is checked before it is owned.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_IGMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    setsockopt(&fd, sockopt::IpMulticastTtl, &1)?;
    setsockopt(&fd, sockopt::IpMulticastLoop, &false)?;
    let router_alert: [u8; 4] = [0x94, 0x04, 0x00, 0x00];
    // SAFETY: the option buffer is valid for its length during the call; the fd is open.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_OPTIONS,
            router_alert.as_ptr().cast(),
            router_alert.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// A membership query (RFC 2236 section 2, RFC 3376 4.1), written out here rather than by the
/// router's own code so that the router is tested against an independent encoder.
fn query_message(version: u8, max_resp_ds: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut m = vec![0x11, max_resp_ds, 0, 0];
    m.extend_from_slice(&group.octets());
    if version == 3 {
        // Resv/S/QRV = robustness 2, QQIC = 10 s, no sources.
        m.extend_from_slice(&[0x02, 10, 0, 0]);
    }
    let mut sum: u32 = m
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    m[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    m
}
