#!/usr/bin/env python3
"""Summarises criterion runs into the README's markdown tables.

    python3 benches/summarize.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a copy of `target/criterion` (or of its `render_*` folders) taken after one
`cargo bench --bench record` (or `--bench render --bench render_peers`).
Per benchmark it prints the median over runs of criterion's median, the largest deviation of
one run from it, and ratios computed within each run, then their median over runs (so a
ratio never mixes a quiet run with a noisy one). It reads only criterion's own JSON files.
"""

import json
import os
import statistics
import sys

RAW = ("raw-atomic", "raw-cell")
STRING_PEERS = (
    "prometheus",
    "prometheus-client",
    "prometheus-client(String)",
    "metrics",
    "measured",
    "opentelemetry",
)
TYPED_PEERS = ("prometheus-client(enum)", "measured(enum)")
ORDER = (
    "raw-atomic",
    "raw-cell",
    "corral",
    "corral-typed",
    "corral-dynamic",
    "prometheus",
    "prometheus-client",
    "prometheus-client(String)",
    "prometheus-client(enum)",
    "metrics",
    "metrics(+upkeep)",
    "measured",
    "measured(enum)",
    "opentelemetry",
)
GROUPS = (
    "counter_inc_unlabelled",
    "counter_inc_cached_handle",
    "counter_inc_labelled",
    "histogram_observe",
)


def load(run_dir):
    """{group: {function: median ns}} for one run."""
    out = {}
    for root, _dirs, files in os.walk(run_dir):
        if not root.endswith(os.sep + "new") or "benchmark.json" not in files:
            continue
        with open(os.path.join(root, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(root, "estimates.json")) as f:
            estimates = json.load(f)
        out.setdefault(bench["group_id"], {})[bench["function_id"]] = estimates["median"][
            "point_estimate"
        ]
    return out


def median_and_spread(values):
    m = statistics.median(values)
    spread = max(abs(v - m) / m for v in values) * 100 if m else 0.0
    return m, spread


def fmt_ns(ns):
    return f"{ns:.2f}" if ns < 10 else f"{ns:.1f}" if ns < 100 else f"{ns:.0f}"


RENDER_CORRAL = "corral-dynamic/prometheus"
# Not an encoder: OpenTelemetry's collect without any text, a floor, not a peer's render.
NOT_ENCODERS = ("opentelemetry(collect)",)


def render_tables(runs):
    groups = sorted(
        {g for r in runs for g in r if g.startswith("render")},
        key=lambda g: ("100k" in g, g),
    )
    if not groups:
        return
    print(f"criterion median ms/render, median of {len(runs)} runs (± = largest deviation of one run)\n")
    for group in groups:
        names = sorted(runs[0][group], key=lambda n: (not n.startswith("corral"), n))
        print(f"### {group}\n\n| encoder | ms/render | its time ÷ {RENDER_CORRAL}'s |\n|---|---:|---:|")
        for name in names:
            values = [r[group][name] / 1e6 for r in runs if name in r.get(group, {})]
            m, spread = median_and_spread(values)
            per_run = [r[group][name] / r[group][RENDER_CORRAL] for r in runs if name in r[group]]
            print(f"| {name} | {m:.3f} ±{spread:.0f}% | {statistics.median(per_run):.2f}x |")
        print()
    print("### Render goal: at least 2x faster than the fastest peer's encoder (ratios within each run)\n")
    print("| size | fastest peer encoder | its time ÷ Corral's | met |\n|---|---|---:|---|")
    for size in ("10k", "100k"):
        # Every group of this size, each peer's time divided by Corral's in its own group.
        sized = [g for g in groups if f"_{size}_" in g]
        if not sized:
            continue
        ratios, whos = [], []
        for r in runs:
            best = min(
                (r[g][p] / r[g][RENDER_CORRAL], p)
                for g in sized
                for p in r[g]
                if not p.startswith("corral") and p not in NOT_ENCODERS
            )
            ratios.append(best[0])
            whos.append(best[1])
        m = statistics.median(ratios)
        print(
            f"| {size} series ({', '.join(sized)}) | {statistics.mode(whos)} "
            f"| {m:.2f}x (runs {min(ratios):.2f}–{max(ratios):.2f}) | {'yes' if m >= 2 else 'no'} |"
        )
    print()


def main(run_dirs):
    runs = [load(d) for d in run_dirs]
    render_tables(runs)
    if not any("counter_inc_labelled" in r for r in runs):
        return
    print(f"criterion median ns/op, median of {len(runs)} runs (± = largest deviation of one run)\n")
    for group in GROUPS:
        names = sorted(runs[0].get(group, {}), key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
        corrals = [n for n in names if n.startswith("corral")]
        header = "| library | ns/op | " + " | ".join(f"its time ÷ {c}'s" for c in corrals) + " |"
        print(f"### {group}\n\n{header}\n|---|---:|" + "---:|" * len(corrals))
        for name in names:
            values = [r[group][name] for r in runs if name in r.get(group, {})]
            m, spread = median_and_spread(values)
            ratios = []
            for c in corrals:
                per_run = [r[group][name] / r[group][c] for r in runs if name in r[group] and c in r[group]]
                ratios.append(f"{statistics.median(per_run):.2f}x")
            print(f"| {name} | {fmt_ns(m)} ±{spread:.0f}% | " + " | ".join(ratios) + " |")
        print()

    def ratio(num, den):
        """Median over runs of num(run) / den(run); num and den pick a time from one run."""
        return statistics.median(num(r) / den(r) for r in runs)

    def fastest(group, peers):
        return lambda r: min(r[group][p] for p in peers if p in r[group])

    def one(group, name):
        return lambda r: r[group][name]

    def fastest_name(group, peers):
        return statistics.mode(
            min((r[group][p], p) for p in peers if p in r[group])[1] for r in runs
        )

    print("### Goals (ratios within each run, median over runs)\n")
    print("| goal | measured | met |\n|---|---:|---|")
    u = ratio(one("counter_inc_unlabelled", "corral"), one("counter_inc_unlabelled", "raw-atomic"))
    print(f"| unlabelled increment within 1.1x of the raw atomic | {u:.2f}x | {'yes' if u <= 1.1 else 'no'} |")
    t = ratio(one("counter_inc_labelled", "corral-typed"), one("counter_inc_unlabelled", "raw-atomic"))
    print(f"| typed-label per-call increment within 1.5x of the raw atomic increment | {t:.2f}x | {'yes' if t <= 1.5 else 'no'} |")
    g = "counter_inc_labelled"
    d = ratio(fastest(g, STRING_PEERS), one(g, "corral-dynamic"))
    print(
        f"| dynamic two-label per-call increment at least 2x faster than the fastest peer ({fastest_name(g, STRING_PEERS)}) "
        f"| {d:.2f}x | {'yes' if d >= 2 else 'no'} |"
    )
    ty = ratio(fastest(g, TYPED_PEERS), one(g, "corral-typed"))
    print(
        f"| (not a goal) typed per-call vs the fastest peer's enum labels ({fastest_name(g, TYPED_PEERS)}) | {ty:.2f}x | — |"
    )
    g = "histogram_observe"
    peers = [p for p in runs[0][g] if p not in RAW and not p.startswith("corral")]
    h = ratio(fastest(g, peers), one(g, "corral"))
    print(
        f"| histogram observe at least 1.5x faster than the fastest peer ({fastest_name(g, peers)}) "
        f"| {h:.2f}x | {'yes' if h >= 1.5 else 'no'} |"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
