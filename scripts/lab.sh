#!/usr/bin/env bash
# The main job: set the machine up, build mrouter, start the virtual lab (a router namespace and
# three Linux hosts), run mrouter on it with configs/lab.yaml, and show multicast being routed:
#   1. h0 (10.0.1.2) sends to 239.1.1.1, a (*,G) route to if1 and if2: h1 and h2 receive it,
#      with TTL decremented;
#   2. h0 sends to 239.2.2.2, an (S,G) route to if1 only: h1 receives, h2 (not on the route)
#      receives nothing;
#   3. h0 sends with TTL 1: nobody receives; mrouter counts ttl_expired;
#   4. IGMP (on if1 only): h1 and h2 join 239.8.8.8, which no route names; h1's kernel's IGMP
#      report makes the router forward the group to if1; if2 runs no IGMP, so h2 gets nothing;
#   5. h0 sends 4,000-byte datagrams, which its kernel fragments for its 1,500 link: both
#      receivers get them whole (mrouter fragments them again for if1 and if2).
#   6. h0 pings the router's address 10.0.1.1: the kernel twin of if0 answers, and h0's ARP
#      cache holds the router's MAC.
#   7. RPF from the kernel: `ip route add 10.77.0.0/16 via 10.0.1.2 dev if0` in the router's
#      namespace (on if0's twin, as a routing daemon would); h0 sends to 239.8.8.8 from
#      10.77.0.5, a source on no connected subnet: `show rpf` says kernel/if0, h1 receives.
# It shows the multicast forwarding entries with `mrouterctl show mroute`, then stops mrouter
# (its statistics are printed). Then it restarts mrouter as an IGMP proxy
# (configs/lab-proxy.yaml: if0 upstream, if1 and if2 downstream):
#   8. h1 joins 239.5.5.5 (h2 does not): the proxy reports it upstream, and h0's traffic reaches
#      h1 only (`mrouterctl show igmp proxy`).
# Then it restarts mrouter with PIM-SM (configs/lab-pim.yaml; control/examples/lab_pim.rs):
#   9. FRR's pimd, inside User-mode Linux on h1's link (10.0.2.3), becomes mrouter's PIM
#      neighbour and is the RP; h2 joins 239.9.9.9 and mrouter's (*,G) Join shows at FRR; h3,
#      a source behind FRR, sends: h2 receives, and mrouter switches to the source's tree (its
#      (S,G) Join shows at FRR).
# Then it removes the lab. Idempotent; exits
# non-zero if any host did not get what it should.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "lab: building (release)"
cargo build --release --quiet -p control --bins --example lab_pim
bin=target/release
prefix="mrlab$$"
log=$(mktemp -d)
cleanup() {
    [ -n "${router:-}" ] && kill -INT "$router" 2>/dev/null && wait "$router" 2>/dev/null || true
    scripts/netlab.sh down "$prefix"
    rm -rf "$log"
}
trap cleanup EXIT
scripts/netlab.sh up "$prefix" 3
echo "lab: namespaces ${prefix}-r (router) and ${prefix}-h0/h1/h2 (hosts 10.0.1.2, 10.0.2.2, 10.0.3.2)"

sock="$log/mrouter.sock"
# start_router CONFIG: runs mrouter in the router namespace and waits until it forwards.
start_router() {
    # Emptied here, not only by the background job's redirection: the wait below must not
    # read the previous run's "forwarding on".
    : >"$log/router.out"
    ip netns exec "${prefix}-r" "$bin/mrouter" -- --config "$1" --socket "$sock" >"$log/router.out" 2>&1 &
    router=$!
    for _ in $(seq 100); do
        grep -q "forwarding on" "$log/router.out" && break
        kill -0 "$router" 2>/dev/null || { cat "$log/router.out"; echo "lab: mrouter failed to start"; exit 1; }
        sleep 0.1
    done
    grep -v '^EAL\|^TELEMETRY' "$log/router.out"
}
stop_router() {
    kill -INT "$router"
    wait "$router" || true
    router=
    grep -A40 '^mrouter: stopping' "$log/router.out"
}
start_router configs/lab.yaml

failed=0
# scenario NAME GROUP TTL EXPECT_H1 EXPECT_H2 [HOSTS_THAT_JOIN [SIZE]]: datagrams counted only
# when they arrive whole (mcast-probe checks the length and padding of --size datagrams).
scenario() {
    local name=$1 group=$2 ttl=$3 want1=$4 want2=$5 joiners=${6:-1 2} size=${7:-} count=20
    echo
    echo "== $name: h0 sends $count datagrams to $group with TTL $ttl"
    local pids=()
    for h in 1 2; do
        : >"$log/h$h.out"
        case " $joiners " in *" $h "*) ;; *) continue ;; esac
        ip netns exec "${prefix}-h$h" "$bin/mcast-probe" recv --group "$group" --duration-ms 2000 >"$log/h$h.out" &
        pids+=($!)
    done
    for h in $joiners; do
        for _ in $(seq 50); do grep -q ready "$log/h$h.out" 2>/dev/null && break; sleep 0.05; done
    done
    sleep 0.3 # let the hosts' IGMP reports reach the router
    ip netns exec "${prefix}-h0" "$bin/mcast-probe" send --group "$group" --count "$count" --ttl "$ttl" --interval-ms 5 \
        ${size:+--size "$size"} >/dev/null
    wait "${pids[@]}" || true
    for h in 1 2; do
        local got want
        got=$(grep -c '^seq=.* intact=1' "$log/h$h.out" || true)
        want=$([ "$h" = 1 ] && echo "$want1" || echo "$want2")
        local ttls
        ttls=$( (grep -o 'ttl=[0-9]*' "$log/h$h.out" || true) | sort -u | tr '\n' ' ')
        printf '   h%s (10.0.%s.2): received %2s of %s %s' "$h" "$((h + 1))" "$got" "$want" "${ttls:+(arrived with $ttls)}"
        if [ "$got" = "$want" ]; then echo " ok"; else echo " WRONG"; failed=1; fi
    done
}
scenario "(*,G) route to if1 and if2" 239.1.1.1 8 20 20
scenario "(S,G) route to if1 only" 239.2.2.2 8 20 0
scenario "TTL 1 is never forwarded" 239.1.1.1 1 0 0

# IGMP runs on if1 only. No route names 239.8.8.8: h1's join (its kernel's IGMP report) makes
# the router forward it to if1; h2 joins too, but if2 has no IGMP, so nothing goes there.
scenario "IGMP: h1 and h2 join 239.8.8.8, which no route names (IGMP on if1 only)" 239.8.8.8 8 20 0
# h0's kernel fragments 4,000-byte datagrams for its 1,500 link; the router namespace's kernel
# reassembles them for af_packet, and mrouter fragments them again for if1 and if2.
scenario "Fragments: 4,000-byte datagrams, fragmented by h0" 239.1.1.1 8 20 20 "1 2" 4000
echo
echo "== ping: h0 pings the router's 10.0.1.1, which if0's kernel twin answers"
if ip netns exec "${prefix}-h0" ping -n -c 3 -i 0.2 -W 3 10.0.1.1 | sed 's/^/   /'; then
    mac=$(ip -n "${prefix}-r" -br link show if0 | awk '{print $3}')
    neigh=$(ip -n "${prefix}-h0" neigh show 10.0.1.1)
    echo "   h0's ARP cache: $neigh (router's if0 MAC $mac)"
    case "$neigh" in *"$mac"*) echo "   ok" ;; *) echo "   WRONG"; failed=1 ;; esac
else
    echo "   WRONG: no reply"
    failed=1
fi

echo
echo "== RPF from the kernel: ip route add 10.77.0.0/16 via 10.0.1.2 dev if0 (router namespace)"
ip -n "${prefix}-r" route add 10.77.0.0/16 via 10.0.1.2 dev if0
ip -n "${prefix}-h0" addr add 10.77.0.5/32 dev h0
sleep 0.3
"$bin/mrouterctl" --socket "$sock" show rpf 10.77.0.5 | sed 's/^/   /'
: >"$log/h1.out"
ip netns exec "${prefix}-h1" "$bin/mcast-probe" recv --group 239.8.8.8 --duration-ms 2000 >"$log/h1.out" &
rpid=$!
for _ in $(seq 50); do grep -q ready "$log/h1.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
ip netns exec "${prefix}-h0" "$bin/mcast-probe" send --group 239.8.8.8 --bind 10.77.0.5 --count 20 --ttl 8 --interval-ms 5 >/dev/null
wait "$rpid" || true
got=$(grep -c '^seq=.*from=10.77.0.5' "$log/h1.out" || true)
printf '   h1 (10.0.2.2): received %2s of 20 from 10.77.0.5' "$got"
if [ "$got" = 20 ]; then echo " ok"; else echo " WRONG"; failed=1; fi

echo
echo "== mrouterctl show igmp groups"
"$bin/mrouterctl" --socket "$sock" show igmp groups

echo
echo "== mrouterctl show mroute (entries the MGM created on demand from the first packets)"
"$bin/mrouterctl" --socket "$sock" show mroute
echo
echo "== mrouterctl show interfaces"
"$bin/mrouterctl" --socket "$sock" show interfaces
echo
stop_router

echo
echo "== mrouter as an IGMP proxy (configs/lab-proxy.yaml): if0 upstream, if1 and if2 downstream"
start_router configs/lab-proxy.yaml
scenario "IGMP proxy: h1 joins 239.5.5.5 downstream, h2 does not" 239.5.5.5 8 20 0 "1"
echo
echo "== mrouterctl show igmp proxy (what the proxy reports upstream)"
"$bin/mrouterctl" --socket "$sock" show igmp proxy
echo
echo "== mrouterctl show mroute"
"$bin/mrouterctl" --socket "$sock" show mroute
echo
stop_router

echo
echo "== PIM-SM (configs/lab-pim.yaml): FRR's pimd in User-mode Linux on h1's link is the RP"
start_router configs/lab-pim.yaml
"$bin/examples/lab_pim" "$prefix" "$sock" "$bin" || failed=1
echo
echo "== mrouterctl show mroute"
"$bin/mrouterctl" --socket "$sock" show mroute
echo
stop_router
if [ "$failed" = 0 ]; then
    echo "lab: multicast routed as configured"
else
    echo "lab: some host did not receive what it should"
    exit 1
fi
