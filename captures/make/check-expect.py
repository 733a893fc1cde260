#!/usr/bin/env python3
"""check-expect.py CAPTURE EXPECT.json: cross-check an expectation file against a capture.

This is an independent check made with tshark (not with ftpscope): it reassembles
each FTP control connection (TCP streams to the server ports named in the
expectation file), parses the commands and replies itself (a multi-line reply
counts once), and compares them with the expectation file's sessions; for each
data channel it finds the TCP stream to/from the announced endpoint and compares
the payload byte count and the outcome. It prints differences and exits 1 if any.

check-expect.py --dump CAPTURE [PORT]: print the commands, reply codes and
data-channel announcements of every control connection to PORT (default 21).
"""
import json
import re
import subprocess
import sys
from collections import OrderedDict


def tshark(args):
    return subprocess.run(["tshark"] + args, check=True, capture_output=True, text=True).stdout


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def covered_bytes(pk):
    """Payload bytes of a connection, each sequence byte once: a retransmission whose
    first copy is not in the capture (lost before the capture point) counts, a copy
    of bytes already seen does not."""
    total = 0
    for src in {p["src"] for p in pk}:
        spans = sorted((p["seq"], p["seq"] + p["len"]) for p in pk
                       if p["src"] == src and p["len"] > 0 and p["seq"] is not None)
        end = None
        for a, b in spans:
            if end is None or a >= end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
    if total == 0:
        total = sum(p["len"] for p in pk if not p["retrans"])
    return total


def load_streams(cap):
    """tcp.stream -> dict(first client/server endpoints, packet info)."""
    out = tshark(["-r", cap, "-Y", "tcp", "-T", "fields", "-E", "separator=\t",
                  "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                  "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.flags.syn",
                  "-e", "tcp.flags.ack", "-e", "tcp.flags.reset", "-e", "tcp.len",
                  "-e", "tcp.analysis.retransmission", "-e", "tcp.seq",
                  "-e", "icmp.type", "-e", "icmpv6.type"])
    streams = OrderedDict()
    for line in out.splitlines():
        f = line.split("\t")
        st = int(f[0])
        # An ICMP "destination unreachable" error quoting a segment of the stream
        # (tshark files the quote under the stream): the answer to its SYN.
        unreach = (len(f) > 13 and f[13] == "3") or (len(f) > 14 and f[14] == "1")
        if unreach:
            quoted = lambda a: a.split(",")[-1]
            src = endpoint(quoted(f[1] or f[2]), f[3])
            dst = endpoint(quoted(f[4] or f[5]), f[6])
            streams.setdefault(st, {"pkts": []})["pkts"].append(
                {"src": src, "dst": dst, "syn": False, "ack": False, "rst": False, "icmp": True,
                 "len": 0, "retrans": False, "seq": None})
            continue
        src = endpoint(f[1] or f[2], f[3])
        dst = endpoint(f[4] or f[5], f[6])
        s = streams.setdefault(st, {"pkts": []})
        s["pkts"].append({"src": src, "dst": dst, "syn": f[7] in ("1", "True"), "icmp": False,
                          "ack": f[8] in ("1", "True"), "rst": f[9] in ("1", "True"),
                          "len": int(f[10] or 0), "retrans": bool(f[11]),
                          "seq": int(f[12]) if len(f) > 12 and f[12] else None})
    return streams


def follow(cap, stream, decode_args):
    """Return (first_endpoint, [(direction, bytes)]) for a TCP stream, reassembled."""
    out = tshark(["-r", cap] + decode_args + ["-q", "-z", f"follow,tcp,raw,{stream}"])
    node0 = None
    chunks = []
    for line in out.splitlines():
        m = re.match(r"Node 0: (.*)$", line)
        if m:
            node0 = m.group(1).strip()
            continue
        if re.fullmatch(r"\t?[0-9a-fA-F]+", line):
            direction = 1 if line.startswith("\t") else 0
            chunks.append((direction, bytes.fromhex(line.strip())))
    return node0, chunks


def parse_control(chunks, server_is_node):
    cli = b"".join(d for n, d in chunks if n != server_is_node)
    srv = b"".join(d for n, d in chunks if n == server_is_node)
    commands, users, announced = [], [], []
    pos = 0
    while pos < len(cli):
        # TLS records (after AUTH): skip whole records; cleartext may follow them
        # (after CCC the dialogue goes on in clear).
        q = pos
        while q + 5 <= len(cli) and 20 <= cli[q] <= 23 and cli[q + 1] == 3:
            q += 5 + int.from_bytes(cli[q + 3:q + 5], "big")
        if q != pos:
            pos = q
            continue
        end = cli.find(b"\r\n", pos)
        if end < 0:
            end = len(cli)
        line = cli[pos:end]
        pos = end + 2
        line = line.lstrip(b"\xff\xf4\xf2")  # Telnet IP/Synch before ABOR
        if not line:
            continue
        m = re.match(rb"([A-Za-z]{3,4})(?: (.*))?$", line)
        if not m:
            break  # garbage: stop
        verb = m.group(1).decode().upper()
        commands.append(verb)
        arg = (m.group(2) or b"").decode(errors="replace")
        if verb == "USER":
            users.append(arg)
        if verb == "PORT":
            n = [int(x) for x in re.findall(r"\d+", arg)]
            if len(n) == 6:
                announced.append(("PORT", "%d.%d.%d.%d:%d" % (n[0], n[1], n[2], n[3], n[4] * 256 + n[5])))
        if verb == "EPRT" and len(arg) > 1:
            parts = arg.split(arg[0])
            if len(parts) >= 4:
                announced.append(("EPRT", endpoint(parts[2], parts[3])))
    codes, texts = [], []
    lines = srv.split(b"\r\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(rb"(\d{3})([ -])(.*)", line)
        if not m:
            i += 1
            if line and not codes:
                continue
            if line and codes:
                break  # TLS after 234
            continue
        code = int(m.group(1))
        text = [m.group(3)]
        if m.group(2) == b"-":
            i += 1
            while i < len(lines) and not re.match(rb"%d " % code, lines[i]):
                text.append(lines[i])
                i += 1
        if code == 227:
            n = re.search(rb"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", m.group(3))
            if n:
                n = [int(x) for x in n.groups()]
                announced.append(("PASV", "%d.%d.%d.%d:%d" % (n[0], n[1], n[2], n[3], n[4] * 256 + n[5])))
        if code == 229:
            n = re.search(rb"\((.)\1\1(\d+)\1\)", m.group(3))
            if n:
                announced.append(("EPSV", int(n.group(2))))
        codes.append(code)
        texts.append(b"\n".join(text).decode(errors="replace"))
        i += 1
        if code == 234:
            # TLS records follow; a server that failed the handshake may write
            # cleartext replies after them (vsftpd: "500 OOPS: ...").
            rest = b"\r\n".join(lines[i:])
            p = 0
            while p + 5 <= len(rest) and 20 <= rest[p] <= 23 and rest[p + 1] == 3:
                p += 5 + int.from_bytes(rest[p + 3:p + 5], "big")
            after = rest[p:]
            if p > 0 and re.match(rb"\d{3}[ -]", after):
                lines = after.split(b"\r\n")
                i = 0
                continue
            break
    return commands, codes, texts, users, announced


def dump(cap, port):
    """Print what the capture shows, per control connection (for writing/checking by hand)."""
    decode = [] if port == 21 else ["-d", f"tcp.port=={port},ftp"]
    for st, s in load_streams(cap).items():
        p = s["pkts"][0]
        if not (p["dst"].endswith(f":{port}") or p["src"].endswith(f":{port}")):
            continue
        node0, chunks = follow(cap, st, decode)
        srv_ep = p["dst"] if p["dst"].endswith(f":{port}") else p["src"]
        commands, codes, texts, users, announced = parse_control(chunks, 0 if node0 == srv_ep else 1)
        print(f"stream {st}: {node0}")
        print("  commands:", json.dumps(commands))
        print("  reply_codes:", json.dumps(codes))
        print("  announced:", announced)


def check_shape(exp):
    """The expectation file's shape (see captures/README.md)."""
    bad = []
    top = ["about", "made_by", "server_software", "client_software", "sessions", "findings"]
    # Optional keys (read by tests/captures.rs): findings that must not fire, and
    # what the capture covers.
    optional = {"absent_findings", "data_visible", "control_answer", "decrypted", "secrets_inside"}
    if [k for k in exp if k not in optional] != top:
        bad.append(f"top-level keys {list(exp)} != {top}")
    skeys = ["client", "server", "user", "login", "tls", "mid_session", "commands", "reply_codes", "data_channels"]
    dkeys = ["via", "mode", "announced", "command", "arg", "outcome", "bytes"]
    for i, s in enumerate(exp.get("sessions", [])):
        if [k for k in s if k not in ("data_visible", "control_answer", "tls_handshakes")] != skeys:
            bad.append(f"session {i}: keys {list(s)} != {skeys}")
        if s.get("login") not in ("ok", "failed", "none"):
            bad.append(f"session {i}: login {s.get('login')!r}")
        if not all(isinstance(c, str) and c == c.upper() for c in s.get("commands", [])):
            bad.append(f"session {i}: commands must be uppercase strings")
        if not all(isinstance(c, int) and 100 <= c <= 599 for c in s.get("reply_codes", [])):
            bad.append(f"session {i}: reply_codes must be integers 100-599")
        for j, d in enumerate(s.get("data_channels", [])):
            if list(d) != dkeys:
                bad.append(f"session {i} data {j}: keys {list(d)} != {dkeys}")
            mode = {"PASV": "passive", "EPSV": "passive", "PORT": "active", "EPRT": "active"}.get(d.get("via"))
            if d.get("via") in ("encrypted", "unseen"):  # no readable announcement (inside TLS, or before the capture)
                mode = d.get("mode") if d.get("mode") in ("passive", "active") else None
            if mode is None or d.get("mode") != mode:
                bad.append(f"session {i} data {j}: via/mode {d.get('via')}/{d.get('mode')}")
            if d.get("outcome") not in ("completed", "failed", "refused", "unanswered", "not-attempted", "reset", "aborted",
                                        "completed-per-replies", "failed-per-replies", "not-in-capture"):
                bad.append(f"session {i} data {j}: outcome {d.get('outcome')!r}")
            if not isinstance(d.get("bytes"), int):
                bad.append(f"session {i} data {j}: bytes must be an integer")
    for k, f in enumerate(exp.get("findings", [])):
        if list(f) != ["id", "severity", "evidence_contains"] or f["severity"] not in ("error", "warning", "info"):
            bad.append(f"finding {k}: {f}")
    return bad


def main():
    if sys.argv[1] == "--dump":
        dump(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 21)
        return
    cap, exp_path = sys.argv[1], sys.argv[2]
    exp = json.load(open(exp_path))
    problems = check_shape(exp)
    ports = sorted({int(s["server"].rsplit(":", 1)[1]) for s in exp["sessions"]})
    decode = []
    for p in ports:
        if p != 21:
            decode += ["-d", f"tcp.port=={p},ftp"]
    streams = load_streams(cap)
    servers = {s["server"] for s in exp["sessions"]}
    control = []
    for st, s in streams.items():
        for p in s["pkts"]:
            if p["dst"] in servers:
                control.append((st, p["src"], p["dst"]))
                break
            if p["src"] in servers:
                control.append((st, p["dst"], p["src"]))
                break
    if len(control) != len(exp["sessions"]):
        problems.append(f"{len(control)} control connections in capture, {len(exp['sessions'])} sessions expected")
    for idx, (sess, ctl) in enumerate(zip(exp["sessions"], control)):
        st, cli_ep, srv_ep = ctl
        tag = f"session {idx}"
        cli_ip = cli_ep.rsplit(":", 1)[0].strip("[]")
        if sess["client"] != cli_ip:
            problems.append(f"{tag}: client {cli_ip} != {sess['client']}")
        if sess["server"] != srv_ep:
            problems.append(f"{tag}: server {srv_ep} != {sess['server']}")
        node0, chunks = follow(cap, st, decode)
        server_node = 0 if node0 and node0 == srv_ep else 1
        commands, codes, texts, users, announced = parse_control(chunks, server_node)
        srv_ip = srv_ep.rsplit(":", 1)[0].strip("[]")
        announced = [(v, endpoint(srv_ip, a) if v == "EPSV" else a) for v, a in announced]
        ann_pos = 0
        tls = 234 in codes
        # A client whose first bytes are a TLS record (implicit FTPS, even against a
        # server that then greets in clear).
        cli_first = next((d for n, d in chunks if n != server_node), b"")
        if len(cli_first) >= 3 and cli_first[0] == 22 and cli_first[1] == 3:
            tls = True
        # A capture that starts inside TLS (implicit FTPS, or after AUTH): both
        # directions begin with a TLS record header (content type 20-23, version 3.x).
        first = {n: d for n, d in reversed(chunks)}
        if not tls and len(first) == 2 and all(
                len(d) >= 3 and 20 <= d[0] <= 23 and d[1] == 3 for d in first.values()):
            tls = True
            commands, codes, users, announced = [], [], [], []
        if commands != sess["commands"]:
            problems.append(f"{tag}: commands\n   capture: {commands}\n   expected: {sess['commands']}")
        if codes != sess["reply_codes"]:
            problems.append(f"{tag}: reply codes\n   capture: {codes}\n   expected: {sess['reply_codes']}")
        if tls != sess["tls"]:
            problems.append(f"{tag}: tls {tls} != {sess['tls']}")
        user = users[0] if users else None
        if user != sess["user"]:
            problems.append(f"{tag}: user {user!r} != {sess['user']!r}")
        # A login refused by any 4xx/5xx (530, but also 421/550 for want of TLS,
        # vsftpd's 500 OOPS to PASS) failed; the greeting does not count.
        refused = any(c >= 400 for c in codes[1:]) if codes and codes[0] == 220 else 530 in codes
        login = "ok" if 230 in codes else ("failed" if refused and users else "none")
        if sess["mid_session"]:
            login = sess["login"]  # cannot be seen
        if login != sess["login"]:
            problems.append(f"{tag}: login {login} != {sess['login']}")
        # Data channels.
        for dc in sess["data_channels"]:
            ann = dc["announced"]
            if ann is None and dc["via"] == "unseen":
                # Already running when the capture began: a stream between the two
                # control peers without a SYN, other than the control connection.
                srv_ip = sess["server"].rsplit(":", 1)[0].strip("[]")
                ips = {cli_ip, srv_ip}
                found = [t for t, s in streams.items() if t != st and s["pkts"]
                         and not any(p["syn"] for p in s["pkts"])
                         and {s["pkts"][0]["src"].rsplit(":", 1)[0].strip("[]"),
                              s["pkts"][0]["dst"].rsplit(":", 1)[0].strip("[]")} == ips]
                if not found:
                    problems.append(f"{tag}: no connection already running between {ips}")
                    continue
                t = found[0]
                nbytes = covered_bytes(streams[t]["pkts"])
                if nbytes != dc["bytes"]:
                    problems.append(f"{tag}: unseen data: {nbytes} payload bytes != {dc['bytes']} (stream {t})")
                print(f"  data (announced before the capture): stream {t}, {nbytes} bytes")
                del streams[t]
                continue
            if ann is None:
                continue
            ann_ip, ann_port = ann.rsplit(":", 1)
            ann_ip = ann_ip.strip("[]")
            found = [t for t, s in streams.items() if t != st and any(p["dst"] == ann for p in s["pkts"] if p["syn"] and not p["ack"])]
            # A client that ignores the 227's address (curl by default, Python's ftplib)
            # connects to the control address with the announced port.
            if not found and dc["via"] == "PASV":
                ctl = sess["server"].rsplit(":", 1)[0]
                alt = f"{ctl}:{ann_port}"
                found = [t for t, s in streams.items() if t != st and any(p["dst"] == alt for p in s["pkts"] if p["syn"] and not p["ack"])]
            # A server that connects to the client's control address with the
            # announced port (ProFTPD, for a private PORT address from a public one).
            if not found and dc["via"] in ("PORT", "EPRT"):
                cli = sess["client"].strip("[]")
                alt = f"[{cli}]:{ann_port}" if ":" in cli else f"{cli}:{ann_port}"
                found = [t for t, s in streams.items() if t != st and any(p["dst"] == alt for p in s["pkts"] if p["syn"] and not p["ack"])]
            # Payload-only captures (no SYN): the stream that carries bytes to or from it.
            if not found:
                found = [t for t, s in streams.items() if t != st and any(ann in (p["dst"], p.get("src")) for p in s["pkts"])]
            while dc["via"] != "encrypted" and ann_pos < len(announced) and announced[ann_pos] != (dc["via"], ann):
                ann_pos += 1
            if dc["via"] == "encrypted":
                pass  # the announcement is inside TLS: the connection itself is checked below
            elif ann_pos >= len(announced):
                problems.append(f"{tag}: {dc['via']} announcement {ann} not found (in order) among {announced}")
            else:
                ann_pos += 1
            if not found:
                if dc["outcome"] not in ("not-attempted", "completed-per-replies", "failed-per-replies", "not-in-capture"):
                    problems.append(f"{tag}: no connection to {ann} found (expected {dc['outcome']})")
                continue
            # A channel expected with no connection of its own does not take one (a
            # session seen twice, on both sides of a NAT, announces the same address
            # twice; the connection belongs to the side it was seen on).
            if dc["outcome"] in ("not-attempted", "not-in-capture"):
                print(f"  data {dc['command']} {ann}: expected with no connection of its own")
                continue
            # The first stream to that endpoint not yet matched to an earlier channel.
            t = found[0]
            pk = streams[t]["pkts"]
            nbytes = covered_bytes(pk)
            syns = sum(1 for p in pk if p["syn"] and not p["ack"])
            synack = any(p["syn"] and p["ack"] for p in pk)
            rst = any(p["rst"] or p["icmp"] for p in pk)
            if not synack and rst:
                outcome = "refused"
            elif not synack and not any(p["syn"] for p in pk) and nbytes > 0:
                outcome = "completed"  # payload-only capture: no handshake, bytes moved
            elif not synack:
                outcome = "unanswered"
            else:
                outcome = "completed"
            if dc["outcome"] in ("completed", "refused", "unanswered") and outcome != dc["outcome"]:
                problems.append(f"{tag}: data {ann}: outcome {outcome} != {dc['outcome']}")
            # "failed": the connection was made, the server's replies say the transfer
            # failed (a 4xx/5xx final reply is among the session's codes).
            if dc["outcome"] == "failed":
                if outcome != "completed":
                    problems.append(f"{tag}: data {ann}: expected a made connection (failed per the reply), found {outcome}")
                if not any(400 <= c < 600 for c in codes):
                    problems.append(f"{tag}: data {ann}: outcome failed, but no 4xx/5xx reply in {codes}")
            if dc["outcome"] in ("completed", "failed", "aborted", "reset") and nbytes != dc["bytes"]:
                problems.append(f"{tag}: data {ann}: {nbytes} payload bytes != {dc['bytes']} (stream {t})")
            print(f"  data {dc['command']} {ann}: stream {t}, {nbytes} bytes, {syns} SYN, outcome {outcome}")
            del streams[t]
        print(f"{tag}: {srv_ep} <- {cli_ep}: {len(commands)} commands, {len(codes)} replies")
    for p in problems:
        print("MISMATCH:", p)
    if not problems:
        print("OK: capture matches", exp_path)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
