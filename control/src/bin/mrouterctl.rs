//! `mrouterctl`: asks a running mrouter what it is doing, over its admin socket.
//!
//! ```text
//! mrouterctl [--socket PATH] [--json] show mroute|interfaces|stats|rpf SOURCE
//! mrouterctl [--socket PATH] [--json] show igmp interfaces|groups|proxy
//! mrouterctl [--socket PATH] [--json] show pim interface|neighbor|join
//! mrouterctl [--socket PATH] reload
//! ```
//! Exit status: 0 on success, 1 when mrouter cannot be reached or answers with an error.
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use control::admin::client::{self, DEFAULT_TIMEOUT};
use control::admin::{render, Request, Response, DEFAULT_SOCKET};

#[derive(Parser)]
#[command(name = "mrouterctl", about = "Show and control a running mrouter")]
struct Cli {
    /// The daemon's admin socket.
    #[arg(long, global = true, default_value = DEFAULT_SOCKET, value_name = "PATH")]
    socket: PathBuf,
    /// Print the answer as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show routes, interfaces, counters or the RPF route toward a source.
    #[command(subcommand)]
    Show(Show),
    /// Re-read the configuration file (like SIGHUP).
    Reload,
}

#[derive(Subcommand)]
enum Show {
    /// Multicast forwarding entries.
    Mroute,
    /// Interfaces and their ports' counters.
    Interfaces,
    /// Port, worker, drop and control-core counters.
    Stats,
    /// The unicast route the RPF check uses toward SOURCE.
    Rpf {
        /// Source address.
        source: Ipv4Addr,
    },
    /// IGMP: `interfaces` (querier, timers, counters), `groups` (per interface) or `proxy`.
    Igmp {
        #[command(subcommand)]
        what: IgmpShow,
    },
    /// PIM: `interface` (DR, neighbours, Hello timing, counters) or `neighbor`.
    Pim {
        #[command(subcommand)]
        what: PimShow,
    },
}

#[derive(Subcommand)]
enum PimShow {
    /// PIM on each interface where it runs.
    #[command(alias = "interfaces")]
    Interface,
    /// PIM neighbours: address, interface, uptime, expiry, DR priority, Generation ID.
    #[command(alias = "neighbors", alias = "neighbour")]
    Neighbor,
    /// Join/prune state per (*,G) and (S,G): RPF, upstream neighbour, downstream joins, OIFs,
    /// SPT bit, Keepalive Timer (FRR's `upstream`, `join` and `state` in one).
    #[command(alias = "joins", alias = "upstream", alias = "state")]
    Join,
    /// RPs per group range: static ones and the Bootstrap router's RP set, with the BSR.
    #[command(alias = "rp-info", alias = "bsr")]
    Rp,
    /// Assert state per (S,G) or (*,G) and interface: winner or loser, the winner and its
    /// metric, the Assert Timer.
    #[command(alias = "asserts")]
    Assert,
    /// The register path: per (S,G) register state and timers at the DR, what was registered
    /// to us as the RP, Registers and Register-Stops sent and received, drops by reason.
    Register,
}

#[derive(Subcommand)]
enum IgmpShow {
    /// IGMP on each interface where it runs.
    Interfaces,
    /// Group state on every interface.
    Groups,
    /// The IGMP proxy: upstream querier, version, the membership it reports.
    Proxy,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let request = match cli.command {
        Command::Show(Show::Mroute) => Request::ShowMroute,
        Command::Show(Show::Interfaces) => Request::ShowInterfaces,
        Command::Show(Show::Stats) => Request::ShowStats,
        Command::Show(Show::Rpf { source }) => Request::ShowRpf { source },
        Command::Show(Show::Igmp {
            what: IgmpShow::Interfaces,
        }) => Request::ShowIgmpInterfaces,
        Command::Show(Show::Igmp {
            what: IgmpShow::Groups,
        }) => Request::ShowIgmpGroups,
        Command::Show(Show::Igmp {
            what: IgmpShow::Proxy,
        }) => Request::ShowIgmpProxy,
        Command::Show(Show::Pim {
            what: PimShow::Interface,
        }) => Request::ShowPimInterface,
        Command::Show(Show::Pim {
            what: PimShow::Neighbor,
        }) => Request::ShowPimNeighbor,
        Command::Show(Show::Pim {
            what: PimShow::Join,
        }) => Request::ShowPimJoin,
        Command::Show(Show::Pim { what: PimShow::Rp }) => Request::ShowPimRp,
        Command::Show(Show::Pim {
            what: PimShow::Assert,
        }) => Request::ShowPimAssert,
        Command::Show(Show::Pim {
            what: PimShow::Register,
        }) => Request::ShowPimRegister,
        Command::Reload => Request::Reload,
    };
    let response = match client::request(&cli.socket, &request, DEFAULT_TIMEOUT) {
        Ok(response) => response,
        Err(e) => {
            eprintln!("mrouterctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Response::Error { message } = &response {
        eprintln!("mrouterctl: {message}");
        return ExitCode::FAILURE;
    }
    if !answers(&request, &response) {
        eprintln!("mrouterctl: mrouter answered {request:?} with an unexpected {response:?}");
        return ExitCode::FAILURE;
    }
    if cli.json {
        match response
            .payload_json()
            .and_then(|v| serde_json::to_string_pretty(&v))
        {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("mrouterctl: cannot print the answer as JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render::response(&response));
    }
    ExitCode::SUCCESS
}

/// Whether `response` is the kind of answer `request` calls for.
fn answers(request: &Request, response: &Response) -> bool {
    matches!(
        (request, response),
        (Request::ShowMroute, Response::Mroute(_))
            | (Request::ShowInterfaces, Response::Interfaces(_))
            | (Request::ShowStats, Response::Stats(_))
            | (Request::ShowRpf { .. }, Response::Rpf(_))
            | (Request::ShowIgmpInterfaces, Response::IgmpInterfaces(_))
            | (Request::ShowIgmpGroups, Response::IgmpGroups(_))
            | (Request::ShowIgmpProxy, Response::IgmpProxy(_))
            | (Request::ShowPimInterface, Response::PimInterfaces(_))
            | (Request::ShowPimNeighbor, Response::PimNeighbors(_))
            | (Request::ShowPimJoin, Response::PimJoins(_))
            | (Request::ShowPimRp, Response::PimRp(_))
            | (Request::ShowPimAssert, Response::PimAsserts(_))
            | (Request::ShowPimRegister, Response::PimRegister(_))
            | (Request::Reload, Response::Reloaded { .. })
    )
}
