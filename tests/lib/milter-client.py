#!/usr/bin/env python3
"""A minimal MTA side of the milter protocol (version 6), for the benchmark.

  milter-client.py flood --port P [--host 127.0.0.1] --count N --net 10.0.0.0
                         [--concurrency C] [--timeout S]

Runs N milter sessions, each: option negotiation, CONNECT from the N
distinct addresses NET+0 .. NET+N-1 (IPv4), MAIL, RCPT (the default
enforcement stage, so the milter waits for its PTR lookup), QUIT. The
addresses are only data inside milter messages: nothing is sent to them.
Prints how many sessions got which answer at RCPT, and the rate.

  milter-client.py hold --port P [--host 127.0.0.1] [--addr 10.0.0.1] [--seconds S]

Opens one session (negotiation, CONNECT from ADDR), prints "held" and keeps
it open, as an MTA in the middle of a slow SMTP session would, until the
milter closes it (prints "closed by milter") or S seconds pass ("timeout").
For the tests of the milter's drain at stop.
"""

import argparse
import ipaddress
import socket
import struct
import sys
import threading
import time

SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOMAIL = 0x4
SMFIP_NORCPT = 0x8
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
# Everything an MTA may offer: the milter takes what it needs.
ALL_ACTIONS = 0x1FF
ALL_PROTOCOL = 0x1FFFFF


class MilterError(Exception):
    pass


class Session:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # Like an MTA: each stage's macros and command leave in one write,
        # and no Nagle delay waits for the milter's delayed ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.flags = 0

    @staticmethod
    def packet(cmd, data=b""):
        return struct.pack("!I", len(data) + 1) + cmd + data

    def send(self, cmd, data=b""):
        self.sock.sendall(self.packet(cmd, data))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MilterError("milter closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self):
        """Next answer that is not a progress note: (code, data)."""
        for _ in range(1000):
            (size,) = struct.unpack("!I", self._read(4))
            if size < 1 or size > 1 << 20:
                raise MilterError(f"bad reply length {size}")
            pkt = self._read(size)
            code, data = pkt[:1], pkt[1:]
            if code != b"p":
                return code, data
        raise MilterError("too many progress replies")

    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, ALL_ACTIONS, ALL_PROTOCOL))
        code, data = self.reply()
        if code != b"O" or len(data) < 12:
            raise MilterError(f"negotiation answered {code!r}")
        _, _, self.flags = struct.unpack("!III", data[:12])

    @staticmethod
    def macros(stage, pairs):
        body = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)
        return Session.packet(b"D", stage + body)

    def step(self, skip_flag, nr_flag, cmd, data, stage_macros):
        """Send one stage; return the milter's answer code (b'c' if none)."""
        if self.flags & skip_flag:
            return b"c"
        self.sock.sendall(self.macros(cmd, stage_macros) + self.packet(cmd, data))
        if self.flags & nr_flag:
            return b"c"
        code, _ = self.reply()
        return code

    def quit(self):
        try:
            self.send(b"Q")
            # Let the milter close first, so TIME_WAIT stays on its side.
            self.sock.settimeout(5)
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()


def one_session(args, addr, serial):
    s = Session(args.host, args.port, args.timeout)
    try:
        s.negotiate()
        ip = str(addr)
        code = s.step(
            SMFIP_NOCONNECT, SMFIP_NR_CONN, b"C",
            f"[{ip}]".encode() + b"\0" + b"4" + struct.pack("!H", 40000 + serial % 20000)
            + ip.encode() + b"\0",
            [("j", "mx.bench.test"), ("{daemon_name}", "smtpd"), ("{daemon_port}", "25"),
             ("{client_addr}", ip), ("{client_name}", "unknown"), ("{client_ptr}", "")],
        )
        if code != b"c":
            return code
        s.step(SMFIP_NOHELO, SMFIP_NR_HELO, b"H", b"client.example\0", [])
        code = s.step(SMFIP_NOMAIL, SMFIP_NR_MAIL, b"M", b"<bench@example.net>\0",
                      [("i", f"Q{serial:08X}"), ("{mail_addr}", "bench@example.net")])
        if code != b"c":
            return code
        return s.step(SMFIP_NORCPT, SMFIP_NR_RCPT, b"R", b"<rcpt@bench.test>\0",
                      [("{rcpt_addr}", "rcpt@bench.test")])
    finally:
        s.quit()


def flood(args):
    base = int(ipaddress.IPv4Address(args.net))
    counts = {}
    errors = []
    lock = threading.Lock()
    next_i = [0]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                if i >= args.count or len(errors) > 10:
                    return
                next_i[0] += 1
            try:
                code = one_session(args, ipaddress.IPv4Address(base + i), i)
                key = code.decode(errors="replace")
            except (OSError, MilterError) as e:
                key = "error"
                with lock:
                    errors.append(f"session {i}: {e}")
            with lock:
                counts[key] = counts.get(key, 0) + 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    names = {"c": "continue", "r": "reject", "t": "tempfail", "y": "reply code",
             "a": "accept", "d": "discard", "error": "error"}
    done = sum(counts.values())
    for e in errors[:5]:
        print(e, file=sys.stderr)
    print("answers at RCPT: " + ", ".join(f"{names.get(k, k)} {v}" for k, v in sorted(counts.items())))
    print(f"{done} sessions in {dt:.1f} s ({done / dt:.0f}/s)")
    return 0 if not errors and done == args.count else 1


def hold(args):
    s = Session(args.host, args.port, args.seconds)
    s.negotiate()
    code = s.step(
        SMFIP_NOCONNECT, SMFIP_NR_CONN, b"C",
        f"[{args.addr}]".encode() + b"\0" + b"4" + struct.pack("!H", 40000) + args.addr.encode()
        + b"\0",
        [("j", "mx.hold.test"), ("{daemon_name}", "smtpd"), ("{client_addr}", args.addr)],
    )
    print(f"held (CONNECT answered {code.decode(errors='replace')})", flush=True)
    try:
        while s.sock.recv(4096):
            pass
        print("closed by milter", flush=True)
    except socket.timeout:
        print("timeout", flush=True)
    except OSError as e:
        print(f"closed by milter ({e})", flush=True)
    s.sock.close()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--net", default="10.0.0.0")
    f.add_argument("--concurrency", type=int, default=16)
    f.add_argument("--timeout", type=float, default=30)
    h = sub.add_parser("hold")
    h.add_argument("--host", default="127.0.0.1")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--addr", default="10.0.0.1")
    h.add_argument("--seconds", type=float, default=60)
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost") and not args.host.startswith("127."):
        p.error("--host must be a loopback address")
    return flood(args) if args.cmd == "flood" else hold(args)


if __name__ == "__main__":
    sys.exit(main())
