#!/usr/bin/env python3
"""timeline.py: the critical path of a decode step from a device timeline.

A libmlxn built with EXTRA_NVCCFLAGS=-DMLXN_TIMELINE records one entry per
block of the instrumented kernels (kernels/params/timeline.h) on a device
created with mlxn_device_params.timeline; `mlxn bench --timeline FILE`
writes them to FILE after its runs:

    make BUILD=build-tl EXTRA_NVCCFLAGS=-DMLXN_TIMELINE
    build-tl/mlxn bench -p 0 -r 1 --timeline /tmp/tl.bin
    python3 scripts/timeline.py /tmp/tl.bin

Blocks are grouped into launches (a launch's blocks pass griddepcontrol.wait
only after the previous launch ended, so at most two launches overlap; a
block index seen again starts the next launch of the same product, as in
`bench_matmul --decode --format F --shape NxK --timeline FILE`);
steps end at each launch of the widest product (the output projection of
a decode step). For each kind of launch, per step: the time from the end
of the launch before it to its own end (its share of the critical path),
then how that splits: release (previous end to the first block past its
wait), x (first wait to the last block's x rounded: products), the rest;
and per-block medians. Times from %globaltimer (32 ns steps on an H200);
the instrumented build runs ~5% slower than the plain one.
"""
import argparse
import os
import re
import sys

import numpy as np

X8 = {1: "", 2: "", 3: "swiglu ", 4: "swiglu ", 5: "", 6: "swiglu "}


def mm_flag(name):
    """A bit of mlxn_matmul_params.flags, from kernels/params/matmul.h."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernels", "params",
                        "matmul.h")
    m = re.search(name + r" = 1u << (\d+)", open(path).read())
    if not m:
        sys.exit("%s: no %s" % (path, name))
    return 1 << int(m.group(1))


def kind(tag, a, b, flags_norm, flags_add):
    if tag in X8:
        k, fl = b & 0xFFFFFFFF, b >> 32
        pre = ("norm+" if fl & flags_norm else "") + X8[tag]
        return "%sproduct %dx%d%s" % (pre, a, k, " +add" if fl & flags_add else "")
    return {10: "attention decode", 20: "rope_kv"}.get(tag, "tag %d" % tag)


def attention_phases(r):
    """Medians over the active blocks (those that reached the mark) of the
    attention's phases after the wait: q in, tiles, states stored, merge."""
    a = r[(r[:, 6] > 0) & (r[:, 2] > 0) & (r[:, 3] > 0)]
    if not len(a):
        return None
    return [np.median(v) for v in (a[:, 6] - a[:, 5], a[:, 2] - a[:, 6], a[:, 3] - a[:, 2],
                                   a[:, 7] - a[:, 3])]


def launches(r):
    """Launches as index arrays, in start order."""
    tag, a, b = r[:, 0], r[:, 2], r[:, 3]
    key = np.where(tag[:, None] == 10, 0, np.stack([a, b], 1))  # attention: a, b are stamps
    order = np.argsort(r[:, 4], kind="stable")
    blk = r[:, 1] & 0xFFFFFFFF
    out, last, seen = [], {}, []
    for i in order:
        k = (int(tag[i]), int(key[i, 0]), int(key[i, 1]))
        j = last.get(k)
        # the same kind again: the same launch unless this block index was
        # seen in it (back-to-back launches of one product, as in
        # bench_matmul --timeline)
        if j is not None and j >= len(out) - 2 and int(blk[i]) not in seen[j]:
            out[j][1].append(i)
            seen[j].add(int(blk[i]))
        else:
            last[k] = len(out)
            out.append((k, [i]))
            seen.append({int(blk[i])})
    return [(k, np.array(ix)) for k, ix in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--steps", type=int, default=40, help="last N whole steps (default 40)")
    args = ap.parse_args()
    norm, add = mm_flag("MLXN_MM_NORM"), mm_flag("MLXN_MM_ADD")
    w = np.fromfile(args.file, dtype=np.uint64)
    if len(w) < 8:
        sys.exit("%s: not a timeline (too short)" % args.file)
    taken = int(w[0])
    n = min(taken, len(w) // 8 - 1)
    r = w[8:8 + 8 * n].reshape(n, 8).astype(np.int64)
    print("records: %d of %d taken" % (n, taken))
    L = []
    for k, ix in launches(r):
        t0, t1, t2, t3 = r[ix, 4], r[ix, 5], r[ix, 6], r[ix, 7]
        waited, marked = t1 > 0, (t2 > 0) & (r[ix, 0] != 10)
        L.append(dict(
            kind=kind(k[0], k[1], r[ix[0], 3], norm, add), tag=k[0], n=k[1],
            start=t0.min(), wait0=t1[waited].min() if waited.any() else 0,
            x1=t2[marked].max() if marked.any() else 0, end=t3.max(), emed=np.median(t3),
            pre=np.median((t1 - t0)[waited]) if waited.any() else 0,
            xb=np.median((t2 - t1)[marked]) if marked.any() else 0,
            sb=np.median((t3 - t2)[marked]) if marked.any() else 0,
            attn=attention_phases(r[ix]) if k[0] == 10 else None))
    widest = max((x["n"] for x in L if x["tag"] in X8), default=None)
    ends = [i for i, x in enumerate(L) if x["tag"] in X8 and x["n"] == widest]
    if len(ends) < 2:
        sys.exit("fewer than two steps in the records")
    ends = ends[-(args.steps + 1):]
    steps = len(ends) - 1
    step_us = [(L[ends[j + 1]]["end"] - L[ends[j]]["end"]) / 1e3 for j in range(steps)]
    med = float(np.median(step_us))
    print("steps: %d; step time median %.1f us (%.1f steps/s)" % (steps, med, 1e6 / med))
    agg = {}
    for j in range(steps):
        prev = L[ends[j]]["end"]
        for x in L[ends[j] + 1:ends[j + 1] + 1]:
            g = agg.setdefault(x["kind"], dict(n=0, crit=[], rel=[], x=[], rest=[], pre=[], xb=[],
                                               sb=[], tail=[], attn=[]))
            g["n"] += 1
            g["crit"].append(x["end"] - prev)
            if x["wait0"]:
                g["rel"].append(x["wait0"] - prev)
                g["pre"].append(x["pre"])
            if x["x1"]:
                g["x"].append(x["x1"] - x["wait0"])
                g["rest"].append(x["end"] - x["x1"])
                g["xb"].append(x["xb"])
                g["sb"].append(x["sb"])
            g["tail"].append(x["end"] - x["emed"])
            if x["attn"]:
                g["attn"].append(x["attn"])
            prev = x["end"]

    def us(v):
        return "%7.2f" % (np.mean(v) / 1e3) if len(v) else "      -"

    print("\nper launch (us, means over the steps); crit/step: the kind's share of a step")
    print("%-34s %5s %8s %6s %7s %7s %7s %7s %7s %7s %7s" % (
        "kind", "/step", "crit/step", "%", "crit", "release", "x", "rest", "blk:x", "blk:rest",
        "tail"))
    total = 0.0
    for k, g in sorted(agg.items(), key=lambda kv: -sum(kv[1]["crit"])):
        per = sum(g["crit"]) / steps / 1e3
        total += per
        print("%-34s %5.1f %9.1f %5.1f%% %s %s %s %s %s %s %s" % (
            k, g["n"] / steps, per, 100 * per / med, us(g["crit"]), us(g["rel"]), us(g["x"]),
            us(g["rest"]), us(g["xb"]), us(g["sb"]), us(g["tail"])))
    print("%-34s %5s %9.1f (the rest of a step runs in kernels without stamps, inside these)" %
          ("sum", "", total))
    for k, g in agg.items():
        if g["attn"]:
            a = np.mean(np.array(g["attn"], dtype=float), 0) / 1e3
            print("\n%s, active blocks after the wait (us): q and the position's row %.2f, "
                  "tiles %.2f, states to shared memory %.2f, merge and output %.2f" % (k, *a))


if __name__ == "__main__":
    main()
