#!/usr/bin/env python3
"""check-layers.py: the layer rules, checked (make check-layers; make test runs it).

  check-layers.py [--root DIR] [--objdir DIR] [--known FILE]
  check-layers.py --self-test

Reads every #include "..." in engine/ shm/ daemon/ libclient/ tools/ bench/ and fails,
naming file:line and the rule, on an include the rules below forbid.  Fails on
circles too: (a) include circles between units (a unit is foo.c + foo.h; A -> B
when A's .c or .h includes B's .h), anywhere in those folders; (b) call circles
between the units of engine/ and daemon/, read from the objects' symbol tables
(nm on OBJDIR/engine/... and OBJDIR/daemon/...: A -> B when A's object leaves a
symbol undefined that B's object defines).  A circle is reported as its units
(one strongly connected set) and one loop through them with the names used.

Known violations, being removed, are listed in scripts/layers-known.txt; each
is reported as known, not failed.  A known circle also covers any smaller
circle among its units, so the list only ever shrinks.
"""
import os
import re
import subprocess
import sys
import tempfile

# ---- the rules ---------------------------------------------------------------
# Engine folders, lowest first: a folder may include its own and lower ones.
ENGINE_RANK = {"base": 0, "io": 1, "wal": 2, "memtable": 2, "table": 2,
               "version": 3, "compaction": 4, "db": 5,
               "inspect": 6}
# Declared exceptions to the folder order: (from folder, included path prefix).
ENGINE_EXCEPTIONS = [("memtable", "engine/table/bloom.h"),  # memtable filters
                     ("version", "engine/wal/")]            # MANIFEST framing
# The SVG/JSON code lsmctl and lsmbench share sits below both.
SHARED_TOOLS = ["libclient/viz/"]

# Outside the engine: what each component may include, by path prefix.
ALLOWED = {
    "shm": ["engine/lsm.h", "engine/base/", "shm/"],
    "daemon": ["shm/", "engine/lsm.h", "engine/base/log.h", "daemon/"],
    "libclient": ["shm/", "engine/lsm.h", "libclient/",
                  "engine/wal/batch_format.h"] + SHARED_TOOLS,
    "tools": ["engine/lsm.h", "libclient/lsmd.h", "tools/",
              "engine/inspect/inspect.h"] + SHARED_TOOLS,
    "bench": ["engine/lsm.h", "libclient/lsmd.h", "bench/",
              "engine/base/histogram.h", "engine/base/log.h"] + SHARED_TOOLS,
}
RULE_TEXT = {
    "shm": "shm/ may include lsm.h, engine/base/ and its own headers",
    "daemon": "daemon/ may include shm/, lsm.h, engine/base/log.h and its own headers",
    "libclient": "libclient/ may include shm/, lsm.h, engine/wal/batch_format.h "
                 "and its own headers",
    "tools": "tools/ may include lsm.h, libclient/lsmd.h, libclient/viz/, "
             "engine/inspect/inspect.h and its own headers",
    "bench": "bench/ may include lsm.h, libclient/lsmd.h, engine/base/histogram.h, "
             "engine/base/log.h, libclient/viz/ and its own headers",
}
COMPONENTS = ["engine", "shm", "daemon", "libclient", "tools", "bench"]
CALL_COMPONENTS = ["engine", "daemon"]
# Where a quoted include is looked for after the including file's folder
# (the -I list of the Makefile fragments).
SEARCH = ["engine", "shm", "libclient", "daemon", "bench", "tools/lsmctl"]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def engine_rule(src, inc):
    """None if engine file src may include inc, else the rule it breaks."""
    if not inc.startswith("engine/"):
        return "engine/ may include only engine/ headers"
    if inc == "engine/lsm.h":
        return None
    parts, iparts = src.split("/"), inc.split("/")
    if len(parts) < 3:          # engine/errors.c: beside the public header
        return None
    mine, theirs = parts[1], iparts[1] if len(iparts) > 2 else None
    if theirs is None or mine == theirs:
        return None
    if mine not in ENGINE_RANK or theirs not in ENGINE_RANK:
        return "engine folders: %s and %s have no place in the order" % (mine, theirs)
    if ENGINE_RANK[theirs] < ENGINE_RANK[mine]:
        return None
    if any(mine == f and inc.startswith(p) for f, p in ENGINE_EXCEPTIONS):
        return None
    return ("engine folders: %s/ may include only lower folders "
            "(base <- io <- {wal, memtable, table} <- version <- compaction <- db)" % mine)


def rule_for(src, inc):
    comp = src.split("/")[0]
    if comp == "engine":
        return engine_rule(src, inc)
    if any(inc.startswith(p) for p in ALLOWED[comp]):
        return None
    return RULE_TEXT[comp]


# ---- reading the tree ----------------------------------------------------------
def sources(root):
    out = []
    for comp in COMPONENTS:
        for d, _, files in os.walk(os.path.join(root, comp)):
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def resolve(root, src, name):
    for d in [os.path.dirname(src)] + SEARCH:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, p)):
            return p
    return None


def includes(root, src):
    """(line number, written name, resolved path or None) for each #include "..."."""
    with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE_RE.match(line)
            if m:
                yield n, m.group(1), resolve(root, src, m.group(1))


def unit(path):
    return os.path.splitext(path)[0]


def nm_graph(root, objdir):
    """Unit -> {unit: first symbol} from the objects of engine/ and daemon/."""
    defs, undef, objs = {}, {}, []
    for comp in CALL_COMPONENTS:
        for d, _, files in os.walk(os.path.join(objdir, comp)):
            # Only objects of sources that exist: a build tree keeps the
            # objects of files since moved or deleted.
            objs += [os.path.join(d, f) for f in files if f.endswith(".o") and
                     os.path.exists(os.path.join(root, os.path.relpath(
                         os.path.join(d, f[:-2] + ".c"), objdir)))]
    for path in objs:
        undef[unit(os.path.relpath(path, objdir))] = []
    # nm -A: "FILE: SYMBOL TYPE ...", one nm for all objects
    out = subprocess.run(["nm", "-P", "-A"] + sorted(objs), check=True,
                         capture_output=True, text=True).stdout if objs else ""
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        u = unit(os.path.relpath(fields[0].rstrip(":"), objdir))
        sym, kind = fields[1], fields[2]
        if kind == "U":
            undef[u].append(sym)
        elif kind.isupper() or kind in "vw":
            defs.setdefault(sym, u)
    if not undef:
        raise SystemExit("check-layers: no objects under %s/{%s}: build them first"
                         % (objdir, ",".join(CALL_COMPONENTS)))
    graph = {u: {} for u in undef}
    for u, syms in undef.items():
        for s in syms:
            v = defs.get(s)
            if v and v != u:
                graph[u].setdefault(v, s)
    return graph


def circles(graph):
    """Strongly connected sets of more than one unit (Tarjan), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
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
            if len(scc) > 1:
                out.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def one_loop(graph, scc):
    """A shortest loop from scc[0] back to itself, as 'a -> b (name) -> ... -> a'."""
    start, members = scc[0], set(scc)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path.reverse()
                path.append(start)
                return " -> ".join(
                    a if i == 0 else "%s (%s)" % (a, graph[path[i - 1]][a])
                    for i, a in enumerate(path))
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return " -> ".join(scc)


# ---- the check -------------------------------------------------------------------
def read_known(path):
    known = []
    if path and os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if line:
                    known.append(tuple(line))
    return known


def check(root, objdir=None, known=(), out=sys.stdout):
    """Prints what breaks the rules; returns the number of unknown violations."""
    bad, used = 0, set()

    def report(key, text):
        nonlocal bad
        hit = next((k for k in known if k == key or
                    (k[0] == key[0] and key[0].startswith("circle")
                     and set(key[1:]) <= set(k[1:]))), None)
        if hit:
            used.add(hit)
            print("check-layers: known: " + text, file=out)
        else:
            bad += 1
            print("check-layers: " + text, file=out)

    inc_graph = {}
    for src in sources(root):
        u = unit(src)
        inc_graph.setdefault(u, {})
        for n, name, path in includes(root, src):
            if path is None:
                report(("include", src, name),
                       '%s:%d: #include "%s" is no file of %s' % (src, n, name,
                                                                  " ".join(COMPONENTS)))
                continue
            rule = rule_for(src, path)
            if rule:
                report(("include", src, path),
                       '%s:%d: #include "%s" (%s): %s' % (src, n, name, path, rule))
            if path.endswith(".h") and path.split("/")[0] in COMPONENTS and unit(path) != u:
                inc_graph[u].setdefault(unit(path), os.path.basename(path))
    for scc in circles(inc_graph):
        report(("circle-includes",) + tuple(scc), "include circle: %s; e.g. %s"
               % (" ".join(scc), one_loop(inc_graph, scc)))
    if objdir:
        call_graph = nm_graph(root, objdir)
        for scc in circles(call_graph):
            report(("circle-calls",) + tuple(scc), "call circle: %s; e.g. %s"
                   % (" ".join(scc), one_loop(call_graph, scc)))
    for k in known:
        if k not in used and (objdir or k[0] != "circle-calls"):
            print("check-layers: gone, remove from the known list: " + " ".join(k), file=out)
    return bad


# ---- self-test: planted fixtures -------------------------------------------------
def self_test():
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        def tree(files):
            root = tempfile.mkdtemp(dir=tmp)
            for path, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                with open(os.path.join(root, path), "w") as f:
                    f.write(text)
            return root

        clean = {"engine/lsm.h": "", "engine/base/log.h": "",
                 "engine/base/log.c": '#include "base/log.h"\n',
                 "engine/table/bloom.h": '#include "base/log.h"\n',
                 "engine/memtable/mem.c": '#include "table/bloom.h"\n',
                 "engine/db/db_impl.h": '#include "lsm.h"\n#include "table/bloom.h"\n',
                 "shm/ring.h": '#include "lsm.h"\n',
                 "shm/ring.c": '#include "ring.h"\n#include "base/log.h"\n',
                 "daemon/worker.c": '#include "ring.h"\n#include "base/log.h"\n',
                 "bench/worker.c": '#include "lsm.h"\n'}
        planted_include = dict(clean)
        planted_include["shm/ring.c"] += '#include "db/db_impl.h"\n'
        planted_folder = dict(clean)
        planted_folder["engine/table/bloom.h"] += '#include "memtable/mem.h"\n'
        planted_folder["engine/memtable/mem.h"] = ""
        planted_circle = dict(clean)
        planted_circle.update({"daemon/a.h": '#include "b.h"\n', "daemon/b.h": "",
                               "daemon/b.c": '#include "b.h"\n#include "a.h"\n'})
        call_src = {"engine/db/p.c": "void q(void);\nvoid p(void) { q(); }\n",
                    "engine/db/q.c": "void p(void);\nvoid q(void) { p(); }\n"}
        with_calls = dict(clean)
        with_calls.update(call_src)
        q_moved = dict(clean)  # q.c gone, its object left in the build tree
        q_moved["engine/db/p.c"] = call_src["engine/db/p.c"]
        calls = tree({"p.c": call_src["engine/db/p.c"], "q.c": call_src["engine/db/q.c"]})
        obj = os.path.join(calls, "obj")
        os.makedirs(os.path.join(obj, "engine/db"))
        for n in ("p", "q"):
            subprocess.run([cc, "-c", os.path.join(calls, n + ".c"), "-o",
                            os.path.join(obj, "engine/db", n + ".o")], check=True)
        cases = [  # name, files, objdir, known, expect failures, expected words
            ("clean tree passes", clean, None, [], 0, ""),
            ("planted bad include fails", planted_include, None, [], 1,
             'shm/ring.c:3: #include "db/db_impl.h"'),
            ("include into a higher engine folder fails", planted_folder, None, [], 1,
             "table/ may include only lower folders"),
            ("planted include circle fails", planted_circle, None, [], 1,
             "include circle: daemon/a daemon/b"),
            ("planted call circle fails", with_calls, obj, [], 1,
             "call circle: engine/db/p engine/db/q; e.g. engine/db/p -> engine/db/q (q)"),
            ("an object whose source is gone is ignored", q_moved, obj, [], 0, ""),
            ("a known include passes", planted_include, None,
             [("include", "shm/ring.c", "engine/db/db_impl.h")], 0, "known:"),
            ("a known circle covers a smaller one", with_calls, obj,
             [("circle-calls", "engine/db/o", "engine/db/p", "engine/db/q")], 0, "known:"),
        ]
        failed = 0
        for name, files, objdir, known, want, words in cases:
            log = open(os.path.join(tmp, "log"), "w+")
            got = check(tree(files), objdir, known, out=log)
            log.seek(0)
            text = log.read()
            if (got > 0) != (want > 0) or words not in text:
                failed += 1
                print("check-layers self-test FAILED: %s (%d violations)\n%s"
                      % (name, got, text), end="")
    if failed:
        return 1
    print("check-layers: self-test passed (%d planted cases)" % len(cases))
    return 0


def main(argv):
    root, objdir, known = ".", None, None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--self-test":
            return self_test()
        if a in ("--root", "--objdir", "--known") and args:
            v = args.pop(0)
            if a == "--root":
                root = v
            elif a == "--objdir":
                objdir = v
            else:
                known = v
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if known is None:
        known = os.path.join(root, "scripts/layers-known.txt")
    bad = check(root, objdir, read_known(known))
    if bad:
        print("check-layers: %d violation(s) of the layer rules (scripts/check-layers.py)" % bad)
        return 1
    print("check-layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
