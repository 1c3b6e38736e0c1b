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

    for tok in pkg_config(&["--libs"]) {
        if let Some(lib) = tok.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        } else if let Some(dir) = tok.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
}
