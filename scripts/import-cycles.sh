#!/usr/bin/env bash
# Finds import cycles between the files of a crate: file A names an item of file B
# (`use crate::...`, `use super::...`, or a `crate::`/`super::` path in code) while B, directly
# or through other files, names one of A's. Boundary types belong in one file that the others
# import (quinn-proto's `shared.rs`), so no two files of a crate depend on each other.
#
# Paths are resolved to the file that defines the module; a name re-exported by a `mod.rs` or
# `lib.rs` facade (`pub use child::Name`) resolves to the child that defines it, so facades are
# not counted as part of a cycle. Inline `mod tests { use super::*; }` blocks count as their
# file. Binaries (`src/bin/`, `src/main.rs`) are crates of their own and are skipped.
#
# Usage: scripts/import-cycles.sh [crate dir...]   (default: mgm control dataplane bench)
# Exit status 1 when a cycle is found.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- mgm control dataplane bench; fi
exec python3 - "$@" <<'PY'
import os, re, sys

def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return re.sub(r'//[^\n]*', '', text)

def module_files(src):
    """module path (tuple) -> file, for lib.rs and every module file under src/."""
    mods = {}
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel.split(os.sep)[0] == 'bin':
            continue
        parts = () if rel == '.' else tuple(rel.split(os.sep))
        for f in files:
            if not f.endswith('.rs'):
                continue
            if parts == () and f in ('lib.rs', 'main.rs'):
                if f == 'lib.rs':
                    mods[()] = os.path.join(root, f)
                continue
            if f == 'mod.rs':
                mods[parts] = os.path.join(root, f)
            else:
                mods[parts + (f[:-3],)] = os.path.join(root, f)
    # `#[path = "x.rs"] mod name;`
    for m, path in list(mods.items()):
        text = open(path).read()
        for p, name in re.findall(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', text):
            base = os.path.dirname(path) if path.endswith(('mod.rs', 'lib.rs')) else path[:-3]
            target = os.path.normpath(os.path.join(base, p))
            for k, v in list(mods.items()):
                if v == target:
                    del mods[k]
            mods[m + (name,)] = target
    return mods

def use_paths(tree):
    """Expands a use tree `a::{b, c::{d, e as f}}` into paths (lists of segments)."""
    out = []
    def expand(prefix, s):
        s = s.strip()
        if not s:
            return
        i = s.find('{')
        if i < 0:
            s = re.sub(r'\s+as\s+\w+$', '', s)
            out.append(prefix + [x for x in s.split('::') if x])
            return
        head = [x for x in s[:i].split('::') if x]
        body = s[i + 1:s.rfind('}')]
        depth, start = 0, 0
        for j, ch in enumerate(body):
            if ch == '{': depth += 1
            elif ch == '}': depth -= 1
            elif ch == ',' and depth == 0:
                expand(prefix + head, body[start:j]); start = j + 1
        expand(prefix + head, body[start:])
    expand([], tree)
    return out

def references(text):
    """(inline module depth, path segments) of every crate::/super::/self:: path."""
    refs = []
    depth_stack = []  # brace depths at which inline modules opened
    depth = 0
    pos = 0
    token = re.compile(r'\bmod\s+\w+\s*\{|\{|\}|\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);|\b(?:crate|super)(?:::\w+)+')
    for m in token.finditer(text):
        t = m.group(0)
        if t.startswith('mod'):
            depth += 1; depth_stack.append(depth)
        elif t == '{':
            depth += 1
        elif t == '}':
            if depth_stack and depth_stack[-1] == depth:
                depth_stack.pop()
            depth -= 1
        elif m.group(1) is not None:
            for p in use_paths(m.group(1)):
                refs.append((len(depth_stack), p, t.lstrip().startswith('pub')))
        else:
            refs.append((len(depth_stack), t.split('::'), False))
    return refs

def resolve(mods, here, inline, segs):
    """The module path a reference starting in module `here` names, or None (extern crate)."""
    if not segs:
        return None
    if segs[0] == 'crate':
        cur, rest = (), segs[1:]
    elif segs[0] in ('super', 'self'):
        cur, rest = here, segs
        # inline modules are part of their file: their first `super` is the file itself
        while rest and rest[0] in ('super', 'self'):
            if rest[0] == 'super':
                if inline > 0:
                    inline -= 1
                else:
                    cur = cur[:-1]
            rest = rest[1:]
    else:
        cur, rest = here, segs  # `use child::x` relative (edition 2018 uniform paths)
        if (here + (segs[0],)) not in mods:
            return None
    for s in rest:
        if cur + (s,) in mods:
            cur = cur + (s,)
        else:
            return cur, s
    return cur, None

def crate_graph(src):
    mods = module_files(src)
    parsed = {m: references(strip_comments(open(f).read())) for m, f in mods.items()}
    # re-exports of facades: (module, name) -> module that defines it
    reexport = {}
    for m, refs in parsed.items():
        for inline, segs, is_pub in refs:
            if is_pub and inline == 0 and segs and segs[-1] not in ('*', 'self'):
                r = resolve(mods, m, 0, segs)
                if r and r[0] != m:
                    reexport[(m, segs[-1])] = r[0]
    edges = {m: set() for m in mods}
    for m, refs in parsed.items():
        for inline, segs, is_pub in refs:
            if is_pub and mods[m].endswith(('mod.rs', 'lib.rs')):
                continue  # a facade re-exporting its children is not a dependency of theirs
            r = resolve(mods, m, inline, segs)
            if not r:
                continue
            target, name = r
            seen = set()
            while name and (target, name) in reexport and (target, name) not in seen:
                seen.add((target, name))
                target = reexport[(target, name)]
            if target != m:
                edges[m].add(target)
    return mods, edges

def sccs(edges):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index: visit(v)
    return out

found = False
for crate in sys.argv[1:]:
    src = os.path.join(crate, 'src')
    if not os.path.isdir(src):
        print(f"{crate}: no src/ folder", file=sys.stderr); continue
    mods, edges = crate_graph(src)
    cycles = sccs(edges)
    if not cycles:
        print(f"{crate}: no import cycles ({len(mods)} files)")
    for comp in cycles:
        found = True
        names = sorted(os.path.relpath(mods[m], src) for m in comp)
        print(f"{crate}: cycle between {', '.join(names)}")
        for m in sorted(comp):
            for w in sorted(edges[m] & set(comp)):
                print(f"    {os.path.relpath(mods[m], src)} -> {os.path.relpath(mods[w], src)}")
sys.exit(1 if found else 0)
PY
