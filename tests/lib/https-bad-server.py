#!/usr/bin/env python3
"""A deliberately misbehaving HTTPS server for the feed tests (loopback only).

    https-bad-server.py MODE PORT CERT KEY

MODE
  stall     completes TLS, reads the request, sends headers and a few body
            bytes, then says nothing more (a server too slow to finish)
  truncate  announces a Content-Length, sends half of it, closes
  endless   no Content-Length, streams bytes until the client gives up
            (a size cap must stop it without a length to go by)
"""
import socket
import ssl
import sys
import threading
import time

mode, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)


def serve(conn):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(4096)
            if not chunk:
                return
            data += chunk
        if mode == "stall":
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n[feed]\n")
            time.sleep(300)
        elif mode == "truncate":
            body = b"# ip25b feed\n" * 400
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            tls.sendall(body[: len(body) // 2])
            tls.close()
        elif mode == "endless":
            tls.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            line = b"# " + b"x" * 1000 + b"\n"
            for _ in range(100000):
                tls.sendall(line)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
