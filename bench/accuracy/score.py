#!/usr/bin/env python3
"""Corpus reader and scorer for bench/bench-accuracy.sh.

  score.py inputs CORPUS            "IP PTR" per corpus name (the harness's input)
  score.py stats CORPUS             names per label, per region and per batch
  score.py score CORPUS DIR [--json FILE]
                                    the side-by-side table from the contenders'
                                    outputs in DIR, then ip25b's failures

The corpus is TSV: label, ptr, ip, ip_source (source|derived|none), cc, batch;
'#' lines are comments. Exit status 2 means the harness's inputs do not line
up (a harness error), never a poor score.
"""
import json
import os
import sys
from collections import Counter, OrderedDict

LABELS = ["dynamic", "static", "cloud", "mta"]
# Documentation address (RFC 5737) for a name whose source gave no address.
DOC_ADDRESS = "192.0.2.1"
REGIONS = {
    "North America": "US CA",
    "Latin America": "MX BR AR CL CO PE UY VE EC",
    "Europe": "GB DE FR ES IT NL BE CH AT PL CZ HR EE SE NO DK FI LU PT IE GR HU RO BG "
              "RU UA BY MD LT LV SK SI RS",
    "Asia": "JP CN TW HK KR IN ID VN TH PH MY SG MO LK BD PK",
    "Middle East": "IL TR AE SA IR QA",
    "Africa": "ZA EG MA NG KE TN DZ",
    "Oceania": "AU NZ",
}
REGION_OF = {cc: region for region, ccs in REGIONS.items() for cc in ccs.split()}


def die(msg):
    print(f"score.py: {msg}", file=sys.stderr)
    sys.exit(2)


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 6 or cols[0] not in LABELS:
                die(f"{path}:{n}: expected label ptr ip ip_source cc batch")
            label, ptr, ip, ip_source, cc, batch = cols
            rows.append(dict(label=label, ptr=ptr, ip=ip or DOC_ADDRESS, doc_ip=not ip,
                             ip_source=ip_source, cc=cc, batch=batch))
    return rows


def region(cc):
    return "global provider" if cc == "--" else REGION_OF.get(cc, "other")


def cmd_inputs(rows):
    for r in rows:
        print(r["ip"], r["ptr"])


def cmd_stats(rows):
    print(f"{len(rows)} names")
    print("per label: " + ", ".join(f"{l} {sum(r['label'] == l for r in rows)}" for l in LABELS))
    by = Counter((region(r["cc"]), r["label"]) for r in rows)
    regions = sorted({k[0] for k in by}, key=lambda x: -sum(v for k, v in by.items() if k[0] == x))
    print(f"{'region':<16} " + " ".join(f"{l:>8}" for l in LABELS))
    for reg in regions:
        print(f"{reg:<16} " + " ".join(f"{by[(reg, l)]:>8}" for l in LABELS))
    ccs = Counter(r["cc"] for r in rows if r["label"] == "dynamic" and r["cc"] != "--")
    print(f"dynamic names from {len(ccs)} countries; "
          f"{len({r['ptr'].split('.', 1)[-1] for r in rows if r['label'] == 'dynamic'})} parent domains")
    print(f"addresses: {sum(r['ip_source'] == 'source' for r in rows)} from the source, "
          f"{sum(r['ip_source'] == 'derived' for r in rows)} decoded from the name, "
          f"{sum(r['doc_ip'] for r in rows)} none (documentation address {DOC_ADDRESS})")


def matched_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                names.add(line.split("\t", 1)[0].strip().lower().rstrip("."))
    return names


def cmd_score(rows, d, json_out):
    norm = lambda s: s.lower().rstrip(".")
    with open(os.path.join(d, "ip25b.jsonl"), encoding="utf-8") as f:
        verdicts = [json.loads(line) for line in f if line.strip()]
    if len(verdicts) != len(rows):
        die(f"ip25b gave {len(verdicts)} verdicts for {len(rows)} names")
    for r, v in zip(rows, verdicts):
        if "error" in v:
            die(f"ip25b could not judge {r['ptr']}: {v['error']}")
        if norm(v.get("ptr") or "") != norm(r["ptr"]):
            die(f"ip25b output out of line: {v.get('ptr')} for {r['ptr']}")
        r["ip25b"] = v
    fq = matched_names(os.path.join(d, "fqrdns.txt"))
    s25 = matched_names(os.path.join(d, "s25r.txt"))
    sa = {}
    with open(os.path.join(d, "sa.txt"), encoding="utf-8") as f:
        for line in f:
            name, _, hit = line.rstrip("\n").partition("\t")
            sa[norm(name)] = hit == "1"
    if len(sa) != len({norm(r["ptr"]) for r in rows}):
        die(f"SpamAssassin evaluator judged {len(sa)} names, corpus has {len(rows)}")

    table = OrderedDict()
    for label in LABELS:
        rs = [r for r in rows if r["label"] == label]
        act = [r["ip25b"]["action"] for r in rs]
        table[label] = OrderedDict(
            n=len(rs),
            ip25b_refused=sum(a in ("reject", "tempfail") for a in act),
            ip25b_rejected=sum(a == "reject" for a in act),
            fqrdns_rejected=sum(norm(r["ptr"]) in fq for r in rs),
            s25r_tempfailed=sum(norm(r["ptr"]) in s25 for r in rs),
            spamassassin_flagged=sum(sa[norm(r["ptr"])] for r in rs),
        )
    pct = lambda k, n: f"{k:>4} {100.0 * k / n:5.1f}%" if n else f"{k:>4}    - "
    print()
    print("Refused = 5xx or 4xx; rejected = 5xx. fqrdns matches are REJECT, S25R's are 450,")
    print("SpamAssassin only scores (RDNS_DYNAMIC hit = flagged). Wanted: high on dynamic,")
    print("low on static, cloud and mta.")
    print()
    hdr = ["ip25b refused", "ip25b rejected", "fqrdns rejected", "s25r tempfail", "SA flagged"]
    print(f"{'label':<8} {'n':>5} | " + " | ".join(f"{h:>15}" for h in hdr))
    for label, t in table.items():
        vals = list(t.values())[1:]
        print(f"{label:<8} {t['n']:>5} | " + " | ".join(f"{pct(v, t['n']):>15}" for v in vals))
    print(f"{'all':<8} {len(rows):>5}")
    # Where the dynamic names ip25b misses come from, so rule writers see
    # which regions their ISP files do not cover yet.
    dyn = [r for r in rows if r["label"] == "dynamic"]
    by_region = Counter(region(r["cc"]) for r in dyn)
    refused_region = Counter(region(r["cc"]) for r in dyn
                             if r["ip25b"]["action"] in ("reject", "tempfail"))
    print("\nip25b on dynamic names by region: " + ", ".join(
        f"{reg} {refused_region[reg]}/{n}" for reg, n in by_region.most_common()))

    limit = int(os.environ.get("BENCH_ACCURACY_FAILURES", "40"))
    def show(title, rs):
        print(f"\n{title}: {len(rs)}")
        for r in rs[: limit or len(rs)]:
            v = r["ip25b"]
            why = v.get("isp") or v.get("rule") or v.get("evidence", "")
            ip = r["ip"] + (" (doc)" if r["doc_ip"] else "")
            print(f"  {r['ptr']:<58} {ip:<18} {v['action']:<8} {v['class']:<12} {why}")
        if limit and len(rs) > limit:
            print(f"  ... {len(rs) - limit} more (BENCH_ACCURACY_FAILURES=0 lists all)")
    by = lambda label: [r for r in rows if r["label"] == label]
    refused = lambda r: r["ip25b"]["action"] in ("reject", "tempfail")
    print("\nip25b failures (name, address, action, class, deciding ISP/rule/evidence):")
    show("dynamic names not refused", [r for r in by("dynamic") if not refused(r)])
    for label in ("static", "cloud"):
        show(f"{label} names rejected", [r for r in by(label) if r["ip25b"]["action"] == "reject"])
        show(f"{label} names tempfailed", [r for r in by(label) if r["ip25b"]["action"] == "tempfail"])
    show("mta names refused", [r for r in by("mta") if refused(r)])

    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(dict(n=len(rows), labels=table), f, indent=1)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("inputs", "stats", "score"):
        die(__doc__.strip().splitlines()[2])
    rows = load(argv[2])
    if not rows:
        die(f"{argv[2]}: no names")
    if argv[1] == "inputs":
        cmd_inputs(rows)
    elif argv[1] == "stats":
        cmd_stats(rows)
    else:
        if len(argv) < 4:
            die("score needs CORPUS DIR")
        json_out = argv[5] if len(argv) > 5 and argv[4] == "--json" else None
        cmd_score(rows, argv[3], json_out)


if __name__ == "__main__":
    main(sys.argv)
