#!/usr/bin/env python3
"""Fails when the `use crate::` imports between corral-core's top-level modules form a cycle.

A top-level module is `core/src/<name>.rs` or `core/src/<name>/`. An edge A -> B is a
`use crate::B...` (or `pub use`, or `use crate::{B, ...}`) anywhere in A's files. The
intended order is written at the top of core/IMPLEMENTATION.md; this check keeps the graph
acyclic, and prints the order it found (each module after everything it imports).
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src")


def modules():
    found = {}
    for entry in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, entry)
        if entry == "lib.rs":
            continue
        if entry.endswith(".rs"):
            found[entry[:-3]] = [path]
        elif os.path.isdir(path):
            found[entry] = [
                os.path.join(d, f)
                for d, _, files in os.walk(path)
                for f in sorted(files)
                if f.endswith(".rs")
            ]
    return found


USE = re.compile(
    r"^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+crate::(\{[^;]*\}|[A-Za-z_][A-Za-z0-9_]*)", re.M
)


def root_reexports(names):
    """Items lib.rs re-exports at the crate root, by the module they come from, so that a
    `use crate::Registry` counts as an edge to `registry`."""
    text = open(os.path.join(ROOT, "lib.rs"), encoding="utf-8").read()
    owner = {}
    for match in re.finditer(r"pub use ([a-z_]+)(::[^;]*);", text, re.S):
        module, rest = match.group(1), match.group(2)
        if module not in names:
            continue
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rest):
            owner.setdefault(item, module)
    return owner


def imports(files, names, owner):
    out = set()

    def add(head):
        if head in names:
            out.add(head)
        elif head in owner:
            out.add(owner[head])

    for path in files:
        text = open(path, encoding="utf-8").read()
        for match in USE.finditer(text):
            target = match.group(1)
            if target.startswith("{"):
                for part in re.split(r"[,{}\s]+", target):
                    if part:
                        add(part.split("::")[0])
            else:
                add(target)
    return out


def main():
    mods = modules()
    owner = root_reexports(mods)
    graph = {name: imports(files, mods, owner) - {name} for name, files in mods.items()}
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            sccs.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = [scc for scc in sccs if len(scc) > 1]
    if cycles:
        for scc in cycles:
            print("module cycle:", " <-> ".join(scc))
            for v in scc:
                inside = sorted(graph[v] & set(scc))
                print(f"  {v} uses {', '.join(inside)}")
        sys.exit(1)
    # Tarjan emits components dependencies-first.
    print("core modules, each after what it imports:", " -> ".join(s[0] for s in sccs))


if __name__ == "__main__":
    main()
