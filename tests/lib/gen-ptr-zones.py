#!/usr/bin/env python3
"""tests/lib/gen-ptr-zones.py COUNT OUTDIR — zones for many distinct, confirming addresses.

Writes OUTDIR/18.198.in-addr.arpa.zone and OUTDIR/bench.test.zone: the addresses
198.18.0.1 .. 198.18.0.COUNT (counting on through the /16, RFC 2544 benchmark range) each have
a PTR h-198-18-X-Y.bench.test whose A record is the address, so every lookup is Confirmed.
Used by the resolver concurrency test and bench/bench-resolver.sh.
"""
import os
import sys

count, outdir = int(sys.argv[1]), sys.argv[2]
if not 0 < count < 65535:
    sys.exit("COUNT must be 1..65534")
soa = "@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60\n@ NS ns.bench.test.\n"
with open(os.path.join(outdir, "18.198.in-addr.arpa.zone"), "w") as rev, \
        open(os.path.join(outdir, "bench.test.zone"), "w") as fwd:
    rev.write("$ORIGIN 18.198.in-addr.arpa.\n$TTL 3600\n" + soa)
    fwd.write("$ORIGIN bench.test.\n$TTL 3600\n" + soa + "ns A 127.0.0.1\n")
    for i in range(1, count + 1):
        x, y = i >> 8, i & 0xFF
        rev.write(f"{y}.{x} PTR h-198-18-{x}-{y}.bench.test.\n")
        fwd.write(f"h-198-18-{x}-{y} A 198.18.{x}.{y}\n")
