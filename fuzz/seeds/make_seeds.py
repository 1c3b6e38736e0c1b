#!/usr/bin/env python3
"""Writes the committed seed inputs under fuzz/seeds/<target>/ (run from anywhere; idempotent).

Frames are what Linux hosts send (IGMP with DSCP CS6, DF, TTL 1 and a Router Alert option) and
what the traffic generator sends (UDP to a group); IGMP messages are the byte vectors of
dataplane/src/wire/igmp.rs's tests. igmp_handle_packet gets short scripts in its own input
format (see its doc); config_yaml is seeded from configs/ directly.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(src, dst, proto, payload, ttl=1, tos=0xC0, df=True, options=b""):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(payload), 0,
                      0x4000 if df else 0, ttl, proto, 0, bytes(src), bytes(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def igmp(msg: bytes) -> bytes:
    msg = msg[:2] + b"\0\0" + msg[4:]
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def eth(dst_ip, payload, src_mac=b"\x02\0\0\0\0\x02"):
    dst_mac = bytes([1, 0, 0x5E, dst_ip[1] & 0x7F, dst_ip[2], dst_ip[3]])
    frame = dst_mac + src_mac + b"\x08\x00" + payload
    return frame + b"\0" * max(0, 60 - len(frame))


RA = b"\x94\x04\x00\x00"
H1 = [10, 0, 1, 2]
ALL_SYSTEMS, ALL_ROUTERS, V3_ROUTERS = [224, 0, 0, 1], [224, 0, 0, 2], [224, 0, 0, 22]
G = [239, 1, 1, 1]

messages = {
    "v1_query": igmp(bytes([0x11, 0, 0, 0, 0, 0, 0, 0])),
    "v2_query": igmp(bytes([0x11, 100, 0, 0, 0, 0, 0, 0])),
    "v2_group_query": igmp(bytes([0x11, 10, 0, 0] + G)),
    "v3_query": igmp(bytes([0x11, 100, 0, 0, 0, 0, 0, 0, 0x02, 0x7D, 0, 0])),
    "v3_gss_query": igmp(bytes([0x11, 10, 0, 0, 232, 1, 1, 1, 0x0A, 0x7D, 0, 2,
                                10, 0, 1, 2, 10, 0, 1, 3])),
    "v1_report": igmp(bytes([0x12, 0, 0, 0] + G)),
    "v2_report": igmp(bytes([0x16, 0, 0, 0] + G)),
    "v2_leave": igmp(bytes([0x17, 0, 0, 0] + G)),
    # Linux joining 239.1.1.1 (TO_EX {}), then an SSM join of (10.0.1.2, 232.1.1.1) with one
    # word of aux data, and a record of unknown type 9.
    "v3_report": igmp(bytes([0x22, 0, 0, 0, 0, 0, 0, 3,
                             4, 0, 0, 0] + G +
                            [1, 1, 0, 2, 232, 1, 1, 1, 10, 0, 1, 2, 10, 0, 1, 3,
                             0xDE, 0xAD, 0xBE, 0xEF,
                             9, 0, 0, 0, 239, 2, 2, 2])),
    "v3_report_block": igmp(bytes([0x22, 0, 0, 0, 0, 0, 0, 2,
                                   5, 0, 0, 1, 232, 1, 1, 1, 10, 0, 1, 9,
                                   6, 0, 0, 1, 232, 1, 1, 1, 10, 0, 1, 2])),
}


def dst_of(name):
    if name.endswith("leave"):
        return ALL_ROUTERS
    if name.startswith("v3_report"):
        return V3_ROUTERS
    if name in ("v2_group_query",):
        return G
    if name.endswith("query"):
        return ALL_SYSTEMS
    return G


udp = struct.pack("!HHHH", 5000, 5001, 13, 0) + b"hello"
frames = {
    "udp_239.1.1.1": eth(G, ip(H1, G, 17, udp, ttl=16, tos=0, df=False)),
    "udp_with_options": eth(G, ip(H1, G, 17, udp, ttl=16, tos=0, df=False,
                                  options=b"\x01\x01\x01\x00")),
    "udp_fragment": eth(G, ip(H1, G, 17, udp, ttl=16, tos=0, df=False)[:6] + b"\x20\x00"
                        + ip(H1, G, 17, udp, ttl=16, tos=0, df=False)[8:]),
    "udp_link_local": eth([224, 0, 0, 251], ip(H1, [224, 0, 0, 251], 17, udp, ttl=255)),
}
for name, msg in messages.items():
    dst = dst_of(name)
    frames["igmp_" + name] = eth(dst, ip(H1, dst, 2, msg, options=RA))

admin = {
    "show_mroute": b'{"cmd":"show_mroute"}\n',
    "show_rpf": b'{"cmd":"show_rpf","source":"10.0.1.2"}\n',
    "several": b'{"cmd":"show_stats"}\n\n  {"cmd":"show_igmp_groups"}\r\n{"cmd":"reload"}',
    "bad": b'{"cmd":"show_rpf","source":"10.0.1"}\n{"cmd":7}\n[1,2]\n{"cmd":"nope"}\n',
}


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name, frame in frames.items():
    write("wire_ether_ipv4", name, frame)
    write("worker_classify", name, frame)
for name, msg in messages.items():
    # First byte: 0 keeps the checksum as it is (these are all valid).
    write("wire_igmp", name, b"\0" + msg)
for name, line in admin.items():
    write("admin_request", name, line)


# igmp_handle_packet: 3 x 6 zero bytes of settings (defaults; interface 1 as IGMPv2 with
# immediate leave and 4 groups at most), then steps `flags, delay, host, len, bytes`
# (flags: interface in bits 0..2, 4 = timer run).
def step(iface, msg, host=2, delay=1, flags=0):
    return bytes([flags | iface, delay, host, len(msg)]) + msg


def wait(seconds):
    return bytes([4, seconds])


settings = bytes(6) + bytes([1, 0, 0, 1, 4, 0]) + bytes(6)
scripts = {
    "v3_join_leave": [step(0, messages["v3_report"]), wait(5),
                      step(0, messages["v3_report_block"], host=3), wait(200), wait(200)],
    "v2_join_leave": [step(1, messages["v2_report"]), step(1, messages["v1_report"], host=3),
                      step(1, messages["v2_leave"], host=5), wait(3), wait(255)],
    "other_querier": [step(0, messages["v3_query"]), step(0, messages["v3_gss_query"]),
                      step(1, messages["v2_group_query"]), step(2, messages["v1_query"]),
                      wait(255), wait(255)],
    "unknown_interface": [step(3, messages["v2_report"])],
}
for name, steps in scripts.items():
    write("igmp_handle_packet", name, settings + b"".join(steps))


# wire_pim: the byte vectors of dataplane/tests/wire_pim/vectors.rs (RFC 7761 4.9 and RFC 5059
# figures), each after a mode byte of 0 (checksum kept as it is).
def pim(msg_type, body, reserved=0, covered=None):
    m = bytes([0x20 | msg_type, reserved, 0, 0]) + body
    c = csum(m if covered is None else m[:covered])
    return m[:2] + struct.pack("!H", c) + m[4:]


def hexb(s):
    return bytes.fromhex(s.replace(" ", ""))


udp_inner = ip(H1, G, 17, struct.pack("!HHHH", 5001, 5002, 13, 0) + b"hello", ttl=15, tos=0)
dummy_inner = ip(H1, G, 103, b"", ttl=255, tos=0, df=False)
pim_messages = {
    "hello": pim(0, hexb("0001 0002 0069  0002 0004 01f4 09c4  0013 0004 00000001"
                         "0014 0004 2a3b4c5d  0018 0006 0100 0a000009  fde9 0003 010203")),
    "register": pim(1, hexb("00000000") + udp_inner, covered=8),
    "null_register": pim(1, hexb("c0000000") + dummy_inner, covered=8),
    "register_stop": pim(2, hexb("0100 0020 ef010101  0100 0a000102")),
    "join_prune": pim(3, hexb("0100 0a000001  00 02 00d2  0100 0020 ef010101  0001 0001"
                              "0100 0720 0a090909  0100 0520 0a000102"
                              "0100 0020 e8010101  0001 0000  0100 0420 0a000103")),
    "assert": pim(5, hexb("0100 0020 ef010101  0100 0a000102  0000006e  00000014")),
    "bootstrap": pim(4, hexb("1234 1e 40  0100 0a000005  0100 0004 e0000000  02 02 0000"
                             "0100 0a000005 0096 c0 00  0100 0a000006 0096 c0 00"
                             "0100 0108 ef000000  01 01 0000  0100 0a000007 0096 00 00"),
                     reserved=0x80),
    "candidate_rp_adv": pim(8, hexb("02 c0 0096  0100 0a000005  0100 0004 e0000000"
                                    "0100 0008 ef000000")),
}
for name, msg in pim_messages.items():
    write("wire_pim", name, b"\0" + msg)
# Hellos captured from FRR 8.4.4's pimd (dataplane/tests/wire_pim/frr.rs): an Address List with
# only an IPv6 link-local entry, then one IPv4 and one IPv6 list.
frr_hellos = {
    "frr_hello": "20004eff0001000200070002000401f409c400130004000000070014000454e1856c"
                 "001800120200fe80000000000000203c9dfffef4ecd8",
    "frr_hello_secondary": "200042930001000200070002000401f409c400130004000000070014000454e1856c"
                           "0018000601000a4d0101001800120200fe80000000000000203c9dfffef4ecd8",
}
for name, msg in frr_hellos.items():
    write("wire_pim", name, b"\0" + bytes.fromhex(msg))
# Join/Prune, Register, Register-Stop and Assert captured from FRR 8.4.4's pimd under User-mode
# Linux (dataplane/tests/wire_pim/frr.rs).
frr_captures = {
    "frr_join_aggregated": "2300c33801000a4e0002000200d201000020e801010100010000010004200a500009"
                           "01000020ef01010100010001010007200a4e0002010005200a4f0002",
    "frr_prune_star_g": "2300cd4801000a4e0002000100d201000020ef01010100000001010007200a4e0002",
    "frr_register": "2100deff00000000450000239eeb00001011118c0a4f0002ef0101011389138a000f0000"
                    "6d726f75746572",
    "frr_register_stop": "2200e08501000020ef02020201000a500005",
    "frr_assert": "2500de8301000020ef01010101000a5000090000000000000000",
}
for name, msg in frr_captures.items():
    write("wire_pim", name, b"\0" + bytes.fromhex(msg))


# pim_handle_packet: settings `max_neighbors, hello_interval` (0, 1: 64 neighbours, Hellos
# every 2 s), then steps `flags, delay, host, len, bytes` (flags: interface in bits 0..2,
# 4 = timer run, 8 = the bytes are the whole message, else a Hello's options after a header
# the target writes; 0x20 = to the router's address). Options of FRR's and the RFC's Hellos.
def pim_step(iface, body, host=2, delay=1, flags=0):
    return bytes([flags | iface, delay, host, len(body)]) + body


frr_options = bytes.fromhex(frr_hellos["frr_hello_secondary"])[4:]
rfc_options = pim_messages["hello"][4:]
goodbye = bytes.fromhex("000100020000")
pim_scripts = {
    "frr_neighbour_expires": [pim_step(0, frr_options, host=3), wait(5), wait(60)],
    "dr_election": [pim_step(0, rfc_options, host=9), pim_step(0, frr_options, host=3),
                    pim_step(1, frr_options, host=7), pim_step(0, goodbye, host=9), wait(30)],
    "other_messages": [pim_step(0, bytes.fromhex(frr_captures["frr_join_aggregated"]), host=3,
                                flags=8),
                       pim_step(0, bytes.fromhex(frr_captures["frr_assert"]), host=3, flags=8),
                       pim_step(2, frr_options, host=3)],
}
for name, steps in pim_scripts.items():
    write("pim_handle_packet", name, bytes([0, 1]) + b"".join(steps))
