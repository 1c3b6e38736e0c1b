//! Generates bindings to the system DPDK (Debian's libdpdk-dev, 22.11 LTS).
//!
//! Every token of `pkg-config --cflags libdpdk` goes to both bindgen and cc: the Rust
//! `pkg-config` crate drops `-include rte_config.h` and `-march=...`, without which the DPDK
//! headers neither parse nor compile. DPDK's `static inline` fast-path functions are reached
//! through C wrappers that bindgen generates (`wrap_static_fns`), restricted to `rte_*` so the
//! compiler intrinsics pulled in by rte_memcpy/rte_vect are not wrapped.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("libdpdk")
        .output()
        .expect(
            "pkg-config not found: run scripts/setup.sh (apt-get install pkg-config libdpdk-dev)",
        );
    if !out.status.success() {
        panic!(
            "pkg-config {:?} libdpdk failed: {}\nInstall DPDK with scripts/setup.sh (apt-get install libdpdk-dev)",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout)
        .expect("pkg-config output is not UTF-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=shim.c");
    println!("cargo:rerun-if-changed=build.rs");

    let cflags = pkg_config(&["--cflags"]);
    let bindings = bindgen::Builder::default()
        .header(crate_dir.join("wrapper.h").to_str().unwrap())
        .clang_args(&cflags)
        .allowlist_function(
            "rte_(eal|eth|pktmbuf|mbuf|mempool|ring|lcore|socket|get_tsc|rdtsc|exit|strerror|vdev|telemetry|tel_data|pdump|delay|get_timer|thread|pause|get_main_lcore|get_next_lcore|zmalloc|free).*|mrouter_.*",
        )
        .allowlist_var("RTE_.*|rte_.*")
        .allowlist_type("rte_(eth_conf|eth_dev_info|eth_stats|eth_link|eth_rxconf|eth_txconf|ether_addr|mbuf|mempool|ring|tel_data).*")
        // Packed protocol headers that contain aligned unions do not compile in Rust.
        .opaque_type("rte_(l2tpv2|gtp|flow_item)_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .wrap_static_fns(true)
        .wrap_static_fns_path(out.join("static_fns"))
        .generate()
        .expect("bindgen failed on the DPDK headers");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");

    let mut build = cc::Build::new();
    build
        .file(out.join("static_fns.c"))
        .file(crate_dir.join("shim.c"))
        .include(&crate_dir)
        .opt_level(3)
        .warnings(false);
    for flag in &cflags {
        build.flag(flag);
    }
    build.compile("dpdk_static_fns");

    println!("cargo:rerun-if-env-changed=MROUTER_DPDK_LINK");
    match env::var("MROUTER_DPDK_LINK").as_deref() {
        Ok("shared") => link_shared(),
        Ok("static") | Err(_) => link_static(),
        Ok(other) => panic!("MROUTER_DPDK_LINK={other}: expected `static` (default) or `shared`"),
    }
}

/// Debian's shared DPDK: every library of `pkg-config --libs`; the EAL loads every PMD plugin
/// from its plugin directory at start (any NIC Debian builds a driver for).
fn link_shared() {
    for tok in pkg_config(&["--libs"]) {
        if let Some(lib) = tok.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        } else if let Some(dir) = tok.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
}

/// Drivers linked into a static build (whole archives, so their constructors register them):
/// buses and mempool handlers, the virtual devices the lab, tests and benchmarks use, and the
/// common Intel and Broadcom NICs. Other NICs need the shared build (`MROUTER_DPDK_LINK=shared`).
const STATIC_DRIVERS: &[&str] = &[
    "bus_pci",
    "bus_vdev",
    "mempool_ring",
    "mempool_stack",
    "net_null",
    "net_pcap",
    "net_ring",
    "net_af_packet",
    "net_af_xdp",
    "net_tap",
    "net_memif",
    "net_virtio",
    "net_vhost",
    "net_e1000",
    "net_igc",
    "net_ixgbe",
    "net_i40e",
    "net_iavf",
    "net_ice",
    "net_bnxt",
];

/// Libraries the static drivers need beyond `pkg-config --libs`.
const STATIC_DRIVER_LIBS: &[&str] = &["common_iavf", "bus_auxiliary"];

/// System libraries (shared) the static DPDK libraries and drivers call into.
const SYSTEM_LIBS: &[&str] = &[
    "pcap", "xdp", "bpf", "elf", "z", "numa", "bsd", "jansson", "atomic", "m", "dl", "pthread",
];

/// DPDK linked statically: the fast path's calls into the PMDs and the mempool reach the
/// lcore id and errno as initial-exec TLS instead of through `__tls_get_addr`, and no plugin is
/// loaded at start. Measured by the bench (README, Benchmarks).
fn link_static() {
    let libdir = pkg_config(&["--variable=libdir"]).join("");
    println!("cargo:rustc-link-search=native={libdir}");
    for d in STATIC_DRIVERS {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=rte_{d}");
    }
    for tok in pkg_config(&["--libs"]) {
        if let Some(lib) = tok.strip_prefix("-l") {
            if lib.starts_with("rte_") {
                println!("cargo:rustc-link-lib=static:-bundle={lib}");
            } else {
                println!("cargo:rustc-link-lib=dylib={lib}");
            }
        }
    }
    for l in STATIC_DRIVER_LIBS {
        println!("cargo:rustc-link-lib=static:-bundle=rte_{l}");
    }
    for l in SYSTEM_LIBS {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
}
