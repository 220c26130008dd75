#!/usr/bin/env python3
"""tests/soak/gen-soak-zones.py HOSTS OUTDIR — the soak's DNS data, for NSD on loopback.

The plan is the one tests/soak/soak-driver.cpp draws client addresses from:
127.<10+class>.X.Y with host number h = 1..HOSTS (X = h >> 8, Y = h & 255):
  class 0  127.10.X.Y  PTR dyn-127-10-X-Y.pool.isp.test, forward-confirmed: dynamic
  class 1  127.11.X.Y  PTR mail-X-Y.partner.test, forward-confirmed: static
  class 2  127.12.X.Y  no PTR (NXDOMAIN)
  class 3  127.13.X.Y  PTR is a CNAME into broken.test, which NSD answers SERVFAIL
Writes OUTDIR/127.rev.zone, OUTDIR/isp.test.zone, OUTDIR/partner.test.zone; the
server is started with `servfail:broken.test` too (tests/lib/dns-server.sh).
"""
import os
import sys

hosts, outdir = int(sys.argv[1]), sys.argv[2]
if not 0 < hosts <= 65535:
    sys.exit("HOSTS must be 1..65535")
soa = "@ SOA ns.soak.test. hostmaster.soak.test. 1 3600 600 86400 60\n@ NS ns.soak.test.\n"
with open(os.path.join(outdir, "127.rev.zone"), "w") as rev, \
        open(os.path.join(outdir, "isp.test.zone"), "w") as isp, \
        open(os.path.join(outdir, "partner.test.zone"), "w") as partner:
    rev.write("$ORIGIN 127.in-addr.arpa.\n$TTL 300\n" + soa)
    isp.write("$ORIGIN isp.test.\n$TTL 300\n" + soa)
    partner.write("$ORIGIN partner.test.\n$TTL 300\n" + soa)
    for h in range(1, hosts + 1):
        x, y = h >> 8, h & 0xFF
        rev.write(f"{y}.{x}.10 PTR dyn-127-10-{x}-{y}.pool.isp.test.\n")
        isp.write(f"dyn-127-10-{x}-{y}.pool A 127.10.{x}.{y}\n")
        rev.write(f"{y}.{x}.11 PTR mail-{x}-{y}.partner.test.\n")
        partner.write(f"mail-{x}-{y} A 127.11.{x}.{y}\n")
        rev.write(f"{y}.{x}.13 CNAME {x}-{y}.broken.test.\n")
