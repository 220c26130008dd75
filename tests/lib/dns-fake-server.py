#!/usr/bin/env python3
"""tests/lib/dns-fake-server.py — a scripted DNS "server" for answers no real server gives.

Real behaviour (answers, NXDOMAIN, SERVFAIL, REFUSED, TCP fallback) comes from NSD via
tests/lib/dns-server.sh. This script exists only for broken peers: silence, garbage,
truncation, bad labels. It listens on 127.0.0.1:PORT (and [::1]:PORT when present), UDP and
TCP, loopback only, and exits after --max-seconds (default 900) so it can never linger.

  dns-fake-server.py serve PORT [--ready-file F] [--max-seconds N]
  dns-fake-server.py probe ADDR PORT NAME     # exit 0 if ADDR:PORT answers an SOA query in 1 s

What it answers is chosen by the FIRST LABEL of the query name, so the reverse name of
198.51.100.N selects behaviour N (the label "N"):
  1  short        a 5-byte datagram (shorter than a DNS header)
  2  junk         valid header and question, ANCOUNT=1, then bytes that are no record
  3  truncated    a PTR record cut off inside its RDATA (TC not set)
  4  labeltype    PTR target with a label length byte 0x41 (reserved label type)
  5  loop         PTR target that is a compression pointer to itself
  6  overrun      RDLENGTH pointing 200 bytes past the end of the message
  7  tcclose      UDP: TC set, no answer; TCP: accepts, reads, closes without answering
  8  wrongid      a well-formed answer with the wrong message ID
  9  othername    NOERROR with a PTR record owned by a different name
  10 nonhost      PTR target with a 0xff byte and a space in a label
  11 fwdpointer   PTR target that is a compression pointer past the end of the message
  12 longname     PTR target of 5 labels of 63 bytes (over 255 bytes on the wire)
  13 servfail     RCODE 2 from the scripted server (for harness self-tests)
anything else     silence: the query is read and never answered (UDP and TCP)
"""
import os
import selectors
import socket
import struct
import sys
import time


def parse_query(msg):
    """Returns (id, qname labels as bytes, question end offset) or None."""
    if len(msg) < 12:
        return None
    qid, _flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return None
    pos, labels = 12, []
    while pos < len(msg) and len(labels) < 128:
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n])
        pos += n
    if pos + 4 > len(msg):
        return None
    return qid, labels, pos + 4


def header(qid, rcode=0, an=0, tc=False):
    flags = 0x8000 | 0x0400 | 0x0100 | rcode | (0x0200 if tc else 0)  # QR AA RD
    return struct.pack("!HHHHHH", qid, flags, 1, an, 0, 0)


def encode(name_labels):
    return b"".join(bytes([len(l)]) + l for l in name_labels) + b"\0"


def ptr_rr(rdata, owner=b"\xc0\x0c", rdlen=None):
    return owner + struct.pack("!HHIH", 12, 1, 60, len(rdata) if rdlen is None else rdlen) + rdata


def answer(msg, over_tcp):
    """Returns bytes to send, b"" to close (TCP) or None for silence."""
    q = parse_query(msg)
    if q is None:
        return None
    qid, labels, qend = q
    question = msg[12:qend]
    first = labels[0].decode("ascii", "replace") if labels else ""
    ok_name = encode([b"host", b"example", b"test"])
    if first == "1":
        return b"\x00\x01\x81\x80\x00"
    if first == "2":
        return header(qid, an=1) + question + b"\xde\xad\xbe\xef\x00"
    if first == "3":
        rr = ptr_rr(ok_name)
        return header(qid, an=1) + question + rr[: len(rr) - 6]
    if first == "4":
        return header(qid, an=1) + question + ptr_rr(b"\x41" + b"a" * 65 + b"\0")
    if first == "5":
        # the RDATA starts at 12 + len(question) + 12 (owner pointer 2 + type/class/ttl/len 10)
        off = 12 + len(question) + 12
        return header(qid, an=1) + question + ptr_rr(struct.pack("!H", 0xC000 | off))
    if first == "6":
        return header(qid, an=1) + question + ptr_rr(ok_name, rdlen=len(ok_name) + 200)
    if first == "7":
        return b"" if over_tcp else header(qid, tc=True) + question
    if first == "8":
        return header(qid ^ 0x5A5A, an=1) + question + ptr_rr(ok_name)
    if first == "9":
        return header(qid, an=1) + question + ptr_rr(ok_name, owner=encode([b"other", b"invalid"]))
    if first == "10":
        return header(qid, an=1) + question + ptr_rr(encode([b"ho\xffst", b"a b", b"test"]))
    if first == "11":
        return header(qid, an=1) + question + ptr_rr(b"\xc3\xff")
    if first == "12":
        return header(qid, an=1) + question + ptr_rr(encode([b"a" * 63] * 5))
    if first == "13":
        return header(qid, rcode=2) + question
    return None


def serve(port, ready_file, max_seconds):
    sel = selectors.DefaultSelector()
    addrs = [(socket.AF_INET, "127.0.0.1")]
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", port))
        s.close()
        addrs.append((socket.AF_INET6, "::1"))
    except OSError:
        pass
    for fam, addr in addrs:
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, port))
        u.setblocking(False)
        sel.register(u, selectors.EVENT_READ, ("udp", None))
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        t.bind((addr, port))
        t.listen(64)
        t.setblocking(False)
        sel.register(t, selectors.EVENT_READ, ("listen", None))
    if ready_file:
        with open(ready_file + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(ready_file + ".tmp", ready_file)
    conns = []  # silent TCP connections kept open, bounded
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            kind, buf = key.data
            sock = key.fileobj
            if kind == "udp":
                try:
                    msg, peer = sock.recvfrom(4096)
                except OSError:
                    continue
                out = answer(msg, False)
                if out:
                    sock.sendto(out, peer)
            elif kind == "listen":
                try:
                    c, _ = sock.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("tcp", bytearray()))
                conns.append(c)
                if len(conns) > 256:
                    old = conns.pop(0)
                    sel.unregister(old)
                    old.close()
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    conns.remove(sock)
                    sock.close()
                    continue
                buf += data
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    msg = bytes(buf[2:2 + n])
                    del buf[:2 + n]
                    out = answer(msg, True)
                    if out == b"":
                        sel.unregister(sock)
                        conns.remove(sock)
                        sock.close()
                        break
                    if out:
                        try:
                            sock.sendall(struct.pack("!H", len(out)) + out)
                        except OSError:
                            pass


def probe(addr, port, name):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    q = struct.pack("!HHHHHH", 0x1234, 0, 1, 0, 0, 0)
    q += encode([l.encode() for l in name.strip(".").split(".") if l]) + struct.pack("!HH", 6, 1)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.sendto(q, (addr, int(port)))
        r = s.recv(4096)
        return 0 if r[:2] == q[:2] else 1
    except OSError:
        return 1


def main(argv):
    if len(argv) >= 2 and argv[1] == "probe" and len(argv) == 5:
        return probe(argv[2], argv[3], argv[4])
    if len(argv) >= 3 and argv[1] == "serve":
        port, ready, max_s = int(argv[2]), None, 900.0
        rest = argv[3:]
        while rest:
            if rest[0] == "--ready-file" and len(rest) > 1:
                ready, rest = rest[1], rest[2:]
            elif rest[0] == "--max-seconds" and len(rest) > 1:
                max_s, rest = float(rest[1]), rest[2:]
            else:
                print("unknown argument: " + rest[0], file=sys.stderr)
                return 2
        serve(port, ready, max_s)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
