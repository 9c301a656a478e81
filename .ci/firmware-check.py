#!/usr/bin/env python3
"""Checks one firmware run's console output (read from the file named first).

The firmware records on a fixed schedule (core/examples/firmware/common/src/lib.rs and
tour.rs), so every value is known here, the timer interrupt's increments included. Each
exposition section must pass `promtool check metrics` (Prometheus text) and parse with
prometheus_client's parser for its format, and hold exactly the expected samples.
Prints the `### STACK` lines it found. With `--tour`, the firmware was built with the
`tour` feature (every metric type, exemplars, OpenMetrics as well).
"""
import subprocess
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as prom_parse

MAIN, TICKS = 40, 10
BOUNDS = [1.0, 5.0, 10.0, 50.0, 100.0]
VALUES = [0.5, 2.25, 7.0, 12.5, 60.0, 99.75, 250.0, 3.0]
PATHS = ["/a", "/b", "/c"]
TRACE_IDS = ["4bf92f3577b34da6", "a3ce929d0e0e4736", "00f067aa0ba902b7", "0af7651916cd43dd"]


def histogram(name, observed):
    samples = {}
    for bound in BOUNDS + [float("inf")]:
        samples[(name + "_bucket", (("le", bound),))] = float(sum(v <= bound for v in observed))
    samples[(name + "_sum", ())] = float(sum(observed))
    samples[(name + "_count", ())] = float(len(observed))
    return samples


def expected(tour):
    observed = [VALUES[i % len(VALUES)] for i in range(MAIN)]
    e = {("ticks_total", ()): float(TICKS)}
    for path in PATHS:
        e[("requests_total", (("path", path),))] = float(sum(PATHS[i % 3] == path for i in range(MAIN)))
    e[("requests_total", (("path", "/isr"),))] = float(TICKS)
    e.update(histogram("latency_seconds", observed))
    exemplars = {}
    if tour:
        e[("temperature_celsius", ())] = observed[-1]
        e[("queue_depth", ())] = float(MAIN - MAIN // 4)
        e[("energy_joules_total", ())] = 0.25 * MAIN
        e[("bytes_total", (("port", "uart"),))] = 64.0 * (MAIN // 2)
        e[("bytes_total", (("port", "spi"),))] = 64.0 * (MAIN // 2) + TICKS
        e[("settle_seconds_sum", ())] = float(sum(observed))
        e[("settle_seconds_count", ())] = float(MAIN)
        e[("wakeups_total", ())] = float(MAIN + TICKS)
        e[("events_total", ())] = float(MAIN)
        e.update(histogram("trip_seconds", observed))
        # The exemplar each series keeps is the last one recorded into it.
        exemplars[("events_total", ())] = (TRACE_IDS[(MAIN - 1) % 4], 1.0)
        for i, v in enumerate(observed):
            bound = next(b for b in BOUNDS + [float("inf")] if v <= b)
            exemplars[("trip_seconds_bucket", (("le", bound),))] = (TRACE_IDS[i % 4], v)
    return e, exemplars


def key(sample):
    labels = tuple(sorted((k, float(v) if k == "le" else v) for k, v in sample.labels.items()))
    return (sample.name, labels)


def check(fmt, text, tour, failures):
    want, want_exemplars = expected(tour)
    if fmt == "prometheus":
        run = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                             capture_output=True)
        if run.returncode != 0:
            failures.append(f"promtool rejects the {fmt} output: {run.stdout}{run.stderr}")
        families = list(prom_parse(text))
    else:
        families = list(om_parse(text))
    got, got_exemplars = {}, {}
    for family in families:
        for sample in family.samples:
            if sample.name.startswith("settle_seconds") and "quantile" in sample.labels:
                continue  # sketch estimates: their count and sum are checked
            if sample.name.endswith("_created"):
                continue
            got[key(sample)] = sample.value
            if getattr(sample, "exemplar", None):
                ex = sample.exemplar
                got_exemplars[key(sample)] = (ex.labels.get("trace_id"), ex.value)
    if got != want:
        for k in sorted(set(got) | set(want), key=str):
            if got.get(k) != want.get(k):
                failures.append(f"{fmt}: {k}: rendered {got.get(k)}, recorded {want.get(k)}")
    if fmt == "openmetrics" and got_exemplars != want_exemplars:
        failures.append(f"{fmt}: exemplars {got_exemplars} != {want_exemplars}")
    print(f"  {fmt}: {len(got)} samples and {len(got_exemplars)} exemplars checked")


def main():
    path, tour = sys.argv[1], "--tour" in sys.argv[2:]
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines(keepends=True)
    sections, current, stacks, done = {}, None, [], False
    for line in lines:
        if line.startswith("### BEGIN "):
            current = line.split()[2]
            sections[current] = ""
        elif line.startswith("### END"):
            current = None
        elif line.startswith("### STACK "):
            stacks.append(line.split()[2:4])
        elif line.startswith("### DONE"):
            done = True
        elif line.startswith("### "):
            sys.exit(f"{path}: firmware reported {line.strip()}")
        elif current is not None:
            sections[current] += line
    failures = []
    formats = ["prometheus", "openmetrics"] if tour else ["prometheus"]
    if not done:
        failures.append("the firmware did not finish (no ### DONE line)")
    for fmt in formats:
        if fmt not in sections:
            failures.append(f"no {fmt} section in the output")
        else:
            check(fmt, sections[fmt], tour, failures)
    for name, size in stacks:
        print(f"  stack {name}: {size} bytes")
    if failures:
        sys.exit(f"{path}:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
