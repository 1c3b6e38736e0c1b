//! `mcast-probe`: a tiny multicast host for the lab and the end-to-end tests, run inside a
//! network namespace with the kernel's own sockets.
//!
//! `mcast-probe send --group G --count N [--ttl T] [--interval-ms I] [--bind A]` sends N UDP
//! datagrams "mcast-probe seq=K" to G:5001.
//! `mcast-probe recv --group G [--iface A] [--duration-ms D] [--count N]` joins G (IGMP from the
//! kernel), prints `ready`, then one line `seq=K ttl=T from=S` per datagram, and `received N` at
//! the end (after D ms, or once N datagrams are in).
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
        /// Address of the interface to join on (default: let the kernel choose).
        #[arg(long)]
        iface: Option<Ipv4Addr>,
        #[arg(long, default_value_t = 3000)]
        duration_ms: u64,
        /// Stop once this many datagrams are in.
        #[arg(long)]
        count: Option<u32>,
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
        } => {
            let sock =
                UdpSocket::bind(SocketAddrV4::new(bind.unwrap_or(Ipv4Addr::UNSPECIFIED), 0))?;
            sock.set_multicast_ttl_v4(ttl)?;
            sock.set_multicast_loop_v4(false)?;
            for seq in start_seq..start_seq.saturating_add(count) {
                sock.send_to(
                    format!("mcast-probe seq={seq}").as_bytes(),
                    SocketAddrV4::new(group, port),
                )?;
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
            sock.join_multicast_v4(&group, &iface.unwrap_or(Ipv4Addr::UNSPECIFIED))?;
            setsockopt(&sock, sockopt::Ipv4RecvTtl, &true)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "ready")?;
            out.flush()?;
            let end = Instant::now() + Duration::from_millis(duration_ms);
            let mut received = 0u32;
            let mut buf = [0u8; 2048];
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
                let text = String::from_utf8_lossy(&buf[..len]);
                let seq = text.strip_prefix("mcast-probe seq=").unwrap_or("?");
                writeln!(out, "seq={seq} ttl={ttl} from={from}")?;
                out.flush()?;
                received += 1;
            }
            writeln!(out, "received {received}")?;
        }
    }
    Ok(())
}
