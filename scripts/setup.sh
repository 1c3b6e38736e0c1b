#!/usr/bin/env bash
# Idempotent machine setup for mrouter on Debian 12 (run as root):
#   - DPDK 22.11 LTS from Debian (libdpdk-dev, dpdk, dpdk-dev for dpdk-testpmd, dpdk-doc for the
#     ipv4_multicast sample source), clang/libclang for bindgen, pkg-config, iproute2, ethtool,
#     tcpdump, iputils-ping (the kernel-twin tests ping the router), frr (zebra and ospfd as
#     a real OSPF peer of the twins, and pimd as a PIM peer; its system service is kept off:
#     the tests run their own), user-mode-linux (FRR's pimd needs the kernel's multicast
#     routing, which this kernel lacks: the PIM interop tests run it inside UML);
#   - cargo-nextest when it is missing;
#   - 2 MiB hugepages (512 = 1 GiB) mounted on /dev/hugepages. Where they cannot be reserved,
#     mrouter falls back to `--no-huge -m 512` by itself.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need_pkgs=()
for p in libdpdk-dev dpdk dpdk-dev dpdk-doc pkg-config clang libclang-dev iproute2 ethtool tcpdump python3 build-essential iputils-ping frr user-mode-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "setup: installing ${need_pkgs[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    # FRR's package starts its service where systemd runs: the tests start their own daemons
    # per namespace, and a zebra in the machine's own namespace is not wanted.
    case " ${need_pkgs[*]} " in
    *" frr "*) [ -d /run/systemd/system ] && systemctl disable --now frr.service >/dev/null 2>&1 || true ;;
    esac
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: installing Rust (rustup, stable)"
        apt-get install -y -qq curl >/dev/null
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install --locked cargo-nextest >/dev/null 2>&1
fi

# Hugepages: best effort (a container or a small VM may refuse).
want=512
have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
    echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
fi
mkdir -p /dev/hugepages
if ! mountpoint -q /dev/hugepages; then
    mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
echo "setup: DPDK $(pkg-config --modversion libdpdk), hugepages free: ${free:-0} (mrouter uses --no-huge when 0)"
