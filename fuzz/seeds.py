#!/usr/bin/env python3
"""Build the fuzz seed corpora from the committed captures (and the public captures
beside the repository, when present).

Usage: fuzz/seeds.py [OUT_DIR]   (default: fuzz/corpus)

Needs tshark/editcap (Wireshark) for trimming and converting pcapng; everything else
is done here by hand. Seeds are kept small (control packets only) so the fuzzers
run fast; the full captures stay the golden tests' job.
"""

import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus")
TARGETS = ["command", "reply_stream", "address", "capture_reader", "decode",
           "flow_table", "session_stream", "pipeline", "tls_conn", "tls_decrypt", "listing"]
# Same order as LINKS in fuzz_targets/decode.rs.
LINKS = [1, 0, 108, 101, 12, 14, 113, 228, 229, 276]
MAX_SEED = 64 * 1024


def put(target, data, name=None):
    if not data or len(data) > MAX_SEED:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tls_decrypt_seeds():
    """tls_decrypt: the control connection of a 1 MiB capture from
    examples/gen_ftps_capture.rs (TLS 1.3 with the fixed secrets the target holds),
    from the 234 on, as chunks [hi lo bytes] (bit 7 of hi: from the server), one per
    TCP segment; and the same with the data connection's first records."""
    with tempfile.TemporaryDirectory() as d:
        pcap, keys = os.path.join(d, "g.pcap"), os.path.join(d, "g.keys")
        if subprocess.run(["cargo", "run", "-q", "--release", "--example", "gen_ftps_capture",
                           "--", pcap, keys, "1"], cwd=ROOT,
                          # the main build's target dir (scripts/fuzz.sh points
                          # CARGO_TARGET_DIR at the fuzz crate's)
                          env={k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            print("tls_decrypt seeds: gen_ftps_capture failed", file=sys.stderr)
            return
        link, frames = read_pcap(pcap)
        segs = [t for t in (tcp_of(link, fr) for fr in frames) if t and t["payload"]]
        ctl = [t for t in segs if 21 in (t["sport"], t["dport"])]
        out, started = bytearray(), False
        for t in ctl:
            p = t["payload"]
            if not started:
                started = p[:1] == b"\x16"
                if not started:
                    continue
            hi = (0x80 if t["sport"] == 21 else 0) | (len(p) >> 8)
            out += bytes([hi, len(p) & 0xff]) + p
        put("tls_decrypt", bytes(out), "gen-control")
        # Halves and the first part, for shorter runs.
        put("tls_decrypt", bytes(out[: len(out) // 2]), "gen-control-half")


def captures():
    found = []
    for base in [os.path.join(ROOT, "captures"),
                 os.path.join(ROOT, "..", "shared", "public-captures")]:
        for dirpath, _, files in os.walk(base):
            for fn in sorted(files):
                if re.search(r"\.(pcap|pcapng|cap)$", fn):
                    found.append(os.path.join(dirpath, fn))
    return found


def run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def read_pcap(path):
    """(linktype, [frame bytes]) of a classic pcap file."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 24:
        return None, []
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    link = struct.unpack(e + "I", b[20:24])[0] & 0x0FFFFFFF
    out, p = [], 24
    while p + 16 <= len(b):
        caplen = struct.unpack(e + "I", b[p + 8:p + 12])[0]
        out.append(b[p + 16:p + 16 + caplen])
        p += 16 + caplen
    return link, out


def ip_payload(link, fr):
    """Strip the link layer: (ethertype, bytes) or None."""
    if link == 1:
        if len(fr) < 14:
            return None
        et, p = struct.unpack(">H", fr[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(fr) >= p + 4:
            et, p = struct.unpack(">H", fr[p + 2:p + 4])[0], p + 4
        return et, fr[p:]
    if link == 113 and len(fr) >= 16:
        return struct.unpack(">H", fr[14:16])[0], fr[16:]
    if link == 276 and len(fr) >= 20:
        return struct.unpack(">H", fr[0:2])[0], fr[20:]
    if link in (0, 108) and len(fr) >= 4:
        fam = fr[0] if fr[0] else fr[3]
        return (0x0800 if fam == 2 else 0x86DD), fr[4:]
    if link in (101, 12, 14, 228, 229) and fr:
        return (0x0800 if fr[0] >> 4 == 4 else 0x86DD), fr
    return None


def tcp_of(link, fr):
    r = ip_payload(link, fr)
    if not r:
        return None
    et, ip = r
    if et == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst, l4 = ip[12:16], ip[16:20], ip[ihl:total]
    elif et == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst, l4 = ip[8:24], ip[24:40], ip[40:40 + plen]
    else:
        return None
    if len(l4) < 20:
        return None
    sport, dport, seq, ack = struct.unpack(">HHII", l4[:12])
    off = (l4[12] >> 4) * 4
    return dict(src=src, dst=dst, sport=sport, dport=dport, seq=seq, ack=ack,
                flags=l4[13], payload=l4[off:])


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ftpscope-seeds-")
    for cap in captures():
        stem = os.path.splitext(os.path.basename(cap))[0]
        ext = "pcapng" if cap.endswith(".pcapng") else "pcap"
        # Whole-file seeds: control-sized packets only, first 200 of them.
        small = os.path.join(tmp, stem + "." + ext)
        if run("tshark", "-r", cap, "-Y", "frame.len < 700", "-c", "200", "-F", ext, "-w", small):
            with open(small, "rb") as f:
                data = f.read()
            put("pipeline", data, stem + "." + ext)
            put("capture_reader", data, stem + "." + ext)
        conv = os.path.join(tmp, stem + ".conv.pcap")
        if not run("editcap", "-F", "pcap", small, conv):
            continue
        link, frames = read_pcap(conv)
        if link is None:
            continue
        # decode: the first 40 frames as records.
        if link in LINKS:
            rec = bytearray()
            for fr in frames[:40]:
                rec += bytes([LINKS.index(link)]) + struct.pack("<H", len(fr)) + fr
            put("decode", bytes(rec), stem)
        segs = [t for t in (tcp_of(link, fr) for fr in frames) if t]
        # tls_conn: each direction of each connection whose payload is TLS records,
        # fed from one side in chunks of 127 bytes (spec bit 7: from the server).
        flows = {}
        for t in segs:
            flows.setdefault((t["sport"], t["dport"]), bytearray()).extend(t["payload"])
        for (sp, dp), b in flows.items():
            tls = bytes(b)
            if tls[:2] != b"\x16\x03":
                i = tls.find(b"\x16\x03\x01")
                tls = tls[i:] if i > 0 else b""
            if tls:
                side = 0xff if sp < dp else 0x7f
                put("tls_conn", bytes([1, side]) + tls, f"{stem}.{sp}-{dp}")
        # listing: what data connections carried that reads as text lines (the
        # listings among them), chunked 7 bytes at a time.
        for (sp, dp), b in flows.items():
            if 21 in (sp, dp) or 2121 in (sp, dp) or not b or len(b) > 20000:
                continue
            if b.count(b"\n") >= 1 and all(c in b"\r\n\t" or 32 <= c < 127 for c in b[:200]):
                put("listing", bytes([6]) + bytes(b), f"{stem}.{sp}-{dp}")
        ctrl = [t for t in segs if 21 in (t["sport"], t["dport"]) or 2121 in (t["sport"], t["dport"])]
        if not ctrl:
            continue
        server = b"".join(t["payload"] for t in ctrl if t["sport"] in (21, 2121))
        client = b"".join(t["payload"] for t in ctrl if t["dport"] in (21, 2121))
        put("reply_stream", b"\x00" + server, stem)
        put("reply_stream", b"\x04\x02\x06\x10\x00" + server, stem + ".chunked")
        for line in client.split(b"\r\n"):
            put("command", line)
            m = re.match(rb"(?i)(PORT|EPRT|LPRT) (.*)", line)
            if m:
                put("address", m.group(2))
        for line in server.split(b"\r\n"):
            if line[:3] in (b"227", b"228", b"229"):
                put("address", line[4:])
        # session_stream: a handshake on connection 0, then the control payloads.
        ops = bytearray([0, 0x40, 0])
        for t in ctrl:
            d = 8 if t["sport"] in (21, 2121) else 0
            p = t["payload"]
            for i in range(0, len(p), 255):
                chunk = p[i:i + 255]
                ops += bytes([d, len(chunk)]) + chunk
            if t["flags"] & 1:
                ops += bytes([0x50 | d, 0])
        put("session_stream", bytes(ops), stem)
        # flow_table: the control segments with their real sequence numbers.
        recs = bytearray([0])
        for t in ctrl[:60]:
            ep = (1 | (0 << 2)) if t["sport"] in (21, 2121) else (0 | (1 << 2))
            n = min(len(t["payload"]) // 3, 255)
            recs += bytes([ep | 0x10, t["flags"]]) + struct.pack("<I", t["seq"]) + b"\0\0" + bytes([n, 0])
        put("flow_table", bytes(recs), stem)
    tls_decrypt_seeds()
    for t in TARGETS:
        d = os.path.join(OUT, t)
        os.makedirs(d, exist_ok=True)
        print(f"{t}: {len(os.listdir(d))} seeds")


if __name__ == "__main__":
    main()
