#!/usr/bin/env bash
# A virtual lab of real Linux hosts in network namespaces, wired to a router namespace by veth
# pairs. The router's ends (r0, r1, r2 inside PREFIX-r) are for mrouter's af_packet ports.
#
#   scripts/netlab.sh up PREFIX [N]   create PREFIX-r and hosts PREFIX-h0 .. PREFIX-h(N-1) (N=3)
#   scripts/netlab.sh down PREFIX     delete every namespace of the lab
#
# Host i has address 10.0.(i+1).2/24 on interface hI, and the router's interface on that link is
# 10.0.(i+1).1 (configured in mrouter, not in the kernel). Hosts send multicast out of their one
# link (route 224.0.0.0/4), accept multicast from any source (rp_filter 0), and have tx checksum
# offload off: veth would otherwise hand af_packet UDP datagrams with unfinished checksums.
set -euo pipefail
cmd=${1:?usage: netlab.sh up|down PREFIX [N]}
prefix=${2:?usage: netlab.sh up|down PREFIX [N]}
n=${3:-3}

down() {
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^${prefix}-(r|h[0-9]+)$" || true); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

up() {
    down
    ip netns add "${prefix}-r"
    ip -n "${prefix}-r" link set lo up
    ip netns exec "${prefix}-r" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    for ((i = 0; i < n; i++)); do
        h="${prefix}-h$i"
        ip netns add "$h"
        ip -n "$h" link set lo up
        ip netns exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
            net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        ip link add "r$i" netns "${prefix}-r" type veth peer name "h$i" netns "$h"
        ip -n "$h" addr add "10.0.$((i + 1)).2/24" dev "h$i"
        ip -n "$h" link set "h$i" up
        ip netns exec "$h" sysctl -qw "net.ipv4.conf.h$i.rp_filter=0"
        ip -n "$h" route add default via "10.0.$((i + 1)).1"
        ip -n "$h" route add 224.0.0.0/4 dev "h$i"
        ip netns exec "$h" ethtool -K "h$i" tx off >/dev/null 2>&1 || true
        ip -n "${prefix}-r" link set "r$i" up
    done
}

case "$cmd" in
up) up ;;
down) down ;;
*) echo "usage: netlab.sh up|down PREFIX [N]" >&2; exit 2 ;;
esac
