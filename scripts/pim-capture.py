#!/usr/bin/env python3
"""Captures real PIM messages from FRR's pimd for dataplane/tests/wire_pim/frr.rs (by hand; not
part of scripts/test.sh).

FRR's pimd needs the kernel's multicast routing (CONFIG_IP_MROUTE), which this machine's kernel
lacks, so it runs inside User-mode Linux (Debian's `user-mode-linux`, see
/work/shared/design/background/frr-as-a-peer.md) in a network namespace, with two veth links:

    vec0 10.78.0.1/24 <-> h0 10.78.0.2/24   the script plays the RP for 239.1.0.0/16 and a PIM
                                            neighbour; FRR is the RP for 239.2.0.0/16
    vec1 10.79.0.1/24 <-> h1 10.79.0.2/24   a LAN with a receiver (FRR's static IGMP joins), a
                                            source, and the script as a downstream PIM neighbour

It then provokes: (*,G) and (S,G) joins and the periodic aggregated Join/Prune toward h0, a
Register from FRR as first-hop DR, a Register-Stop from FRR as RP, an (S,G) Assert on vec1
(FRR only asserts with the SPT bit set), and prunes when the joins are removed. Every distinct
PIM message FRR sent is printed as `link source destination type hex`.

Needs root, `frr`, `user-mode-linux`, `tcpdump`: apt-get install frr user-mode-linux tcpdump.
Everything it creates is named after its PID and removed at the end.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

PID = os.getpid()
NS = f"pimcap{PID}"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pim(msg_type, body, covered=None):
    m = bytes([0x20 | msg_type, 0, 0, 0]) + body
    c = csum(m if covered is None else m[:covered])
    return m[:2] + struct.pack("!H", c) + m[4:]


def ipv4(src, dst, proto, payload, ttl=16):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def udp(payload):
    return struct.pack("!HHHH", 5001, 5002, 8 + len(payload), 0) + payload




def hello(dr_priority):
    """Holdtime 105 s, the DR priority, a generation ID."""
    return pim(0, bytes.fromhex("000100020069" "00130004") + struct.pack("!I", dr_priority)
               + bytes.fromhex("0014000411223344"))

INIT = """#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
U={dir}
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/tmp
mountpoint -q /dev || mount -t devtmpfs dev /dev
ip link set lo up
ip addr add 10.78.0.1/24 dev vec0; ip link set vec0 up
ip addr add 10.79.0.1/24 dev vec1; ip link set vec1 up
ip route add 10.80.0.0/24 via 10.78.0.2
D=/run/frr; mkdir -p $D
cp $U/zebra.conf $U/pimd.conf $D/; touch $D/vtysh.conf $D/zebra.log $D/pimd.log
chown -R frr:frr $D
/usr/lib/frr/zebra -d -f $D/zebra.conf -i $D/zebra.pid --vty_socket $D -z $D/zserv.api -P 0 --log file:$D/zebra.log
sleep 1
/usr/lib/frr/pimd -d -f $D/pimd.conf -i $D/pimd.pid --vty_socket $D -z $D/zserv.api -P 0 --log file:$D/pimd.log
touch $U/up
while [ ! -e $U/stop ]; do
  for f in $U/q/*.cmd; do
    [ -e "$f" ] || continue
    sh "$f" > "${{f%.cmd}}.tmp" 2>&1; mv "${{f%.cmd}}.tmp" "${{f%.cmd}}.out"; rm -f "$f"
  done
  sleep 0.5
done
poweroff -f -d
"""

# No `ip igmp join` here: at startup the interfaces have no ifindex yet and the joins fail
# (FRR 8.4 logs errno 19 and keeps them in its config); they are added once FRR runs.
PIMD_CONF = """hostname uml
ip pim rp 10.78.0.2 239.1.0.0/16
ip pim rp 10.78.0.1 239.2.0.0/16
interface vec0
 ip pim
 ip pim hello 2 7
interface vec1
 ip pim
 ip pim hello 2 7
 ip igmp
"""

# Load the packet type; drop PACKET_OUTGOING (4), so UML does not receive its own frames.
BPF = [(0x20, 0, 0, 0xFFFFF004), (0x15, 0, 1, 4), (0x06, 0, 0, 0), (0x06, 0, 0, 0x40000)]


def run(*cmd):
    subprocess.run(cmd, check=True)


def netns(*cmd, **kw):
    return subprocess.Popen(["ip", "netns", "exec", NS, *cmd], **kw)


class Uml:
    def __init__(self, workdir):
        self.dir = workdir
        self.n = 0

    def vtysh(self, *commands, wait=30):
        """Run vtysh inside UML through the command queue; returns its output."""
        self.n += 1
        args = " ".join(f'-c "{c}"' for c in commands)
        cmd = os.path.join(self.dir, "q", f"{self.n}.cmd")
        with open(cmd + ".new", "w") as f:
            f.write(f"vtysh --vty_socket /run/frr --config_dir /run/frr {args}\n")
        os.rename(cmd + ".new", cmd)
        out = cmd[:-4] + ".out"
        end = time.time() + wait
        while time.time() < end:
            if os.path.exists(out):
                return open(out).read()
            time.sleep(0.3)
        raise RuntimeError(f"no answer to {commands}")


def sender(script):
    """Run a Python snippet in the namespace with this module's helpers."""
    code = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
    code += "from importlib import import_module; m = import_module('pim-capture'); "
    netns(sys.executable, "-B", "-c", code + script).wait()  # -B: no __pycache__ in scripts/


def send_pim(ifaddr, dst, msg):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 103)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xC0)
    s.sendto(msg, (dst, 0))


def send_data(ifaddr, src, group, n=3):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    for _ in range(n):
        s.sendto(ipv4(src, group, 17, udp(b"mrouter")), (group, 0))


def hellos(ifaddr, dr_priority, seconds):
    end = time.time() + seconds
    while time.time() < end:
        send_pim(ifaddr, "224.0.0.13", hello(dr_priority))
        time.sleep(2)


def pcap_pim(path):
    """(source, destination, PIM message) of every IPv4 PIM packet in an Ethernet pcap."""
    data = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = frame[14:]
        ihl, total = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
        out.append((socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[ihl:total]))
    return out


def main():
    for tool in ("linux.uml", "tcpdump", "/usr/lib/frr/pimd"):
        if not shutil.which(tool) and not os.path.exists(tool):
            sys.exit(f"pim-capture: {tool} missing (apt-get install frr user-mode-linux tcpdump)")
    workdir = tempfile.mkdtemp(prefix=f"pimcap{PID}-")
    os.chmod(workdir, 0o755)
    os.makedirs(os.path.join(workdir, "q"))
    os.makedirs(os.path.join(workdir, "run"))
    with open(os.path.join(workdir, "init.sh"), "w") as f:
        f.write(INIT.format(dir=workdir))
    os.chmod(os.path.join(workdir, "init.sh"), 0o755)
    with open(os.path.join(workdir, "zebra.conf"), "w") as f:
        f.write("hostname uml\n")
    with open(os.path.join(workdir, "pimd.conf"), "w") as f:
        f.write(PIMD_CONF)
    with open(os.path.join(workdir, "bpf"), "wb") as f:
        f.write(b"".join(struct.pack("=HBBI", *i) for i in BPF))
    procs = []
    try:
        run("ip", "netns", "add", NS)
        for a, b in (("u0", "h0"), ("u1", "h1")):
            run("ip", "-n", NS, "link", "add", a, "type", "veth", "peer", "name", b)
        for i in ("lo", "u0", "h0", "u1", "h1"):
            run("ip", "-n", NS, "link", "set", i, "up")
        run("ip", "-n", NS, "addr", "add", "10.78.0.2/24", "dev", "h0")
        run("ip", "-n", NS, "addr", "add", "10.79.0.2/24", "dev", "h1")
        run("ip", "-n", NS, "route", "add", "224.0.0.0/4", "dev", "h0")
        for h in ("h0", "h1"):
            procs.append(netns("tcpdump", "-i", h, "-U", "-w", f"{workdir}/{h}.pcap",
                               "ip proto 103", stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL))
        time.sleep(1)
        bpf = f"{workdir}/bpf"
        uml = netns("linux.uml", "mem=96M", f"umid=pimcap{PID}", f"uml_dir={workdir}/run",
                    "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw",
                    f"init={workdir}/init.sh", "con=null", "ssl=null", "con0=null,fd:1",
                    f"vec0:transport=raw,ifname=u0,bpffile={bpf}",
                    f"vec1:transport=raw,ifname=u1,bpffile={bpf}",
                    stdin=subprocess.DEVNULL, stdout=open(f"{workdir}/console.log", "w"),
                    stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(uml)
        end = time.time() + 60
        while not os.path.exists(f"{workdir}/up"):
            if time.time() > end or uml.poll() is not None:
                raise RuntimeError(f"UML did not start: {workdir}/console.log")
            time.sleep(0.5)
        u = Uml(workdir)
        # On vec1 FRR must stay DR (our priority 0): only the DR acts on IGMP members and
        # registers a local source.
        procs.append(netns(sys.executable, __file__, "--hellos", "10.78.0.2", "1", "120"))
        procs.append(netns(sys.executable, __file__, "--hellos", "10.79.0.2", "0", "120"))
        time.sleep(8)  # FRR's neighbours up (it waits for a Hello before any Join)
        u.vtysh("configure terminal", "interface vec1", "ip igmp join 239.1.1.1",
                "ip igmp join 232.1.1.1 10.80.0.9")
        time.sleep(4)
        # A source on vec1's LAN: FRR, its DR, registers it to us. A Register to FRR as RP for
        # a group nobody joined: FRR answers with a Register-Stop.
        sender("m.send_data('10.79.0.2', '10.79.0.2', '239.1.1.1'); "
               "m.send_pim('10.78.0.2', '10.78.0.1', m.pim(1, bytes(4) + "
               "m.ipv4('10.80.0.5', '239.2.2.2', 17, m.udp(b'reg')), covered=8))")
        # Our (*,G) and (S,G) joins on vec1 put it downstream; data from S arriving on vec0 sets
        # the SPT bit; the same data on vec1 makes FRR assert.
        jp = pim(3, bytes.fromhex("01000a4f0001" "000100d2" "01000020ef010101" "00020000"
                                  "010007200a4e0002" "010004200a500009"))
        sender(f"m.send_pim('10.79.0.2', '224.0.0.13', {jp!r})")
        time.sleep(2)
        for _ in range(3):
            sender("m.send_data('10.78.0.2', '10.80.0.9', '239.1.1.1', 2)")
            time.sleep(1)
        sender("m.send_data('10.79.0.2', '10.80.0.9', '239.1.1.1')")
        time.sleep(62)  # one periodic Join/Prune (60 s)
        # Once more, now that FRR's (S,G) state has settled.
        sender("m.send_data('10.78.0.2', '10.80.0.9', '239.1.1.1', 2)")
        time.sleep(1)
        sender("m.send_data('10.79.0.2', '10.80.0.9', '239.1.1.1')")
        time.sleep(2)
        u.vtysh("configure terminal", "interface vec1", "no ip igmp join 232.1.1.1 10.80.0.9")
        time.sleep(4)
    finally:
        open(f"{workdir}/stop", "w").close()
        time.sleep(3)
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        subprocess.run(["ip", "netns", "del", NS])
    seen = set()
    for link in ("h0", "h1"):
        for src, dst, msg in pcap_pim(f"{workdir}/{link}.pcap"):
            if src in ("10.78.0.2", "10.79.0.2") or (link, msg) in seen:
                continue  # ours, or seen already
            seen.add((link, msg))
            print(link, src, dst, "type", msg[0] & 15, msg.hex())
    print(f"pim-capture: files in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--hellos":
        hellos(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        main()
