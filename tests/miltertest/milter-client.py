#!/usr/bin/env python3
"""milter-client.py — speak the MTA side of the milter protocol (v6) to see reply texts.

miltertest reports only the reply code of a step (SMFIR_REPLYCODE), not the
text a milter set with smfi_setreply, so this small client plays an MTA for
one session and prints each step's reply: "rcpt y 550 5.7.1 <text>".

usage: milter-client.py [--xclient-proxy PROXY_IP] [--auth LOGIN] [--daemon-port PORT]
                        HOST PORT CLIENT_IP SENDER RCPT [RCPT...]
--auth sends {auth_authen} with MAIL FROM, as an MTA does after SMTP AUTH;
--daemon-port is the port the client connected to (default 25).
With --xclient-proxy the session starts as Postfix does for XCLIENT: a first
milter session for the proxy's own address (connect, HELO, quit), then the
real client's session on a new milter connection. (libmilter accepts
QUIT_NC only after end-of-message, so a session that ends after HELO cannot
be continued on the same milter connection.)
Loopback only: HOST must be 127.0.0.1 or ::1. Every read is bounded (10 s).
"""
import ipaddress
import socket
import struct
import sys

SMFI_VERSION = 6
ACTIONS = 0x1FF          # everything libmilter 8.17 knows
PROTOCOL = 0x1FFFFF      # every step and "no reply" bit offered; the milter picks


def send(sock, cmd, data=b""):
    sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)


def recv(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise SystemExit("milter closed the connection")
            buf += chunk
        return buf
    (length,) = struct.unpack("!I", exact(4))
    if not 1 <= length <= 65536:
        raise SystemExit(f"bad packet length {length}")
    body = exact(length)
    return body[:1], body[1:]


def reply_text(cmd, data):
    if cmd == b"y":
        return "y " + data.rstrip(b"\0").decode("ascii", "replace")
    return cmd.decode()


def connect(sock, ip, proto, label, daemon_port="25"):
    addr = ipaddress.ip_address(ip)
    family = b"4" if addr.version == 4 else b"6"
    send(sock, b"D", b"C" + b"{daemon_name}\0smtpd\0{daemon_port}\0" + daemon_port.encode() + b"\0")
    send(sock, b"C", f"[{ip}]".encode() + b"\0" + family + struct.pack("!H", 40000)
         + str(addr).encode() + b"\0")
    print(label + "connect", reply_text(*recv(sock)))
    if not proto & 0x2:  # SMFIP_NOHELO
        send(sock, b"H", b"client.example\0")
        print(label + "helo", reply_text(*recv(sock)))


def main():
    args = sys.argv[1:]
    opts = {"--xclient-proxy": None, "--auth": None, "--daemon-port": "25"}
    while args[:1] and args[0] in opts:
        opts[args[0]], args = args[1], args[2:]
    proxy = opts["--xclient-proxy"]
    host, port, client, sender, *rcpts = args
    if host not in ("127.0.0.1", "::1"):
        raise SystemExit("loopback only")
    def negotiate():
        sock = socket.create_connection((host, int(port)), timeout=10)
        send(sock, b"O", struct.pack("!III", SMFI_VERSION, ACTIONS, PROTOCOL))
        cmd, data = recv(sock)
        if cmd != b"O":
            raise SystemExit(f"negotiation answered {cmd!r}")
        _, _, proto = struct.unpack("!III", data[:12])
        print(f"negotiate protocol=0x{proto:x}")
        return sock, proto

    if proxy:
        sock, proto = negotiate()
        connect(sock, proxy, proto, "proxy ")
        send(sock, b"Q")
        sock.close()
    sock, proto = negotiate()
    connect(sock, client, proto, "", opts["--daemon-port"])
    auth = b"{auth_authen}\0" + opts["--auth"].encode() + b"\0" if opts["--auth"] else b""
    send(sock, b"D", b"M" + auth + b"i\0QCLIENT\0")
    send(sock, b"M", f"<{sender}>".encode() + b"\0")
    print("mail", reply_text(*recv(sock)))
    for r in rcpts:
        send(sock, b"R", f"<{r}>".encode() + b"\0")
        print("rcpt", reply_text(*recv(sock)))
    send(sock, b"Q")
    sock.close()


if __name__ == "__main__":
    main()
