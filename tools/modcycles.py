#!/usr/bin/env python3
"""Import cycles between the files of each crate of the workspace.

For every target of every member crate (library, binaries, integration tests, benches) it follows
the `mod` declarations from the root file, reads each file's references to the crate's own
modules -- `use` trees, and paths starting with `crate::`, `$crate::`, `super::`, `self::` or a
child module the file declares -- and resolves each to the file that defines what it names. A
name reached through a re-export (`pub use x::Y` in lib.rs, then `crate::Y` elsewhere) is
followed to the file that defines it, and a `pub use` that only re-exports is not itself an edge:
a crate's facade is not a dependency. `--strict` counts both as edges instead (then any file
that uses something of lib.rs while lib.rs re-exports something of it is in a cycle). `mod x;`
lines are structure, never edges.

It prints every strongly connected component of more than one file with the references that
form it; references inside `#[cfg(test)]` code are marked `[test]` (`--no-tests` drops them).
Comments and string literals are ignored. It is a lexical check, not the compiler: a macro that
assembles a path from fragments escapes it.

Usage: tools/modcycles.py [--strict] [--no-tests] [WORKSPACE]; exit status 1 if a cycle exists.
"""

import re
import sys
import tomllib
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
VIS = r"(?:pub(?:\s*\([^)]*\))?\s+)?"
CFG_TEST = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*" + VIS + "$")
MOD_DECL = re.compile(rf"(?<![\w])mod\s+({IDENT})\s*([;{{])")
USE_STMT = re.compile(rf"(?<![\w])({VIS})use\s+([^;]+);")
ITEM_DEF = re.compile(rf"(?<![\w])(?:fn|struct|enum|trait|type|const|static|union|mod|macro_rules!)\s+({IDENT})")
PATH_REF = re.compile(rf"(?<![\w:$])(\$crate|crate|super|self)((?:\s*::\s*{IDENT})+)")
LITERAL = re.compile(
    r"""//[^\n]*|/\*(?:[^*]|\*(?!/))*\*/|b?r(#*)".*?"\1|b?"(?:\\.|[^"\\])*"|'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'""",
    re.S,
)


def strip(src):
    """Comments and literals blanked, newlines kept so offsets and line numbers stay valid."""
    return LITERAL.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), src)


def closing_brace(text, at):
    depth = 0
    for j in range(at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j
    return len(text)


def use_tree(tree):
    """`a::{b, c::{self, D as E}}` -> [(["a","b"], "b"), (["a","c"], "c"), (["a","c","D"], "E")]."""
    tree = re.sub(r"\s+", " ", tree).strip()

    def parts(s):
        out, depth, cur = [], 0, ""
        for ch in s:
            if ch == "," and depth == 0:
                out.append(cur)
                cur = ""
            else:
                depth += (ch == "{") - (ch == "}")
                cur += ch
        return [p.strip() for p in out + [cur] if p.strip()]

    def expand(prefix, s):
        if "{" in s:
            head, _, rest = s.partition("{")
            segs = prefix + [x.strip() for x in head.split("::") if x.strip()]
            for p in parts(rest[: rest.rfind("}")]):
                yield from expand(segs, p)
            return
        s, _, alias = s.partition(" as ")
        segs = prefix + [x.strip() for x in s.split("::") if x.strip()]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        if segs and segs[-1] == "*":
            yield segs[:-1], None
        elif segs:
            yield segs, alias.strip() or segs[-1]

    yield from expand([], tree)


class File:
    def __init__(self, path, modpath, is_test, owns):
        self.path, self.modpath, self.is_test, self.owns = path, modpath, is_test, owns
        self.text = strip(path.read_text(encoding="utf-8"))
        self.inline = []  # (open, close, name, is_test)
        self.children = []  # file modules declared here: (name, is_test)
        for m in MOD_DECL.finditer(self.text):
            test = bool(CFG_TEST.search(self.text[max(0, m.start() - 300) : m.start()]))
            if m.group(2) == "{":
                self.inline.append((m.end() - 1, closing_brace(self.text, m.end() - 1), m.group(1), test))
        for m in MOD_DECL.finditer(self.text):
            if m.group(2) == ";" and not self.scope(m.start())[0]:
                self.children.append((m.group(1), bool(CFG_TEST.search(self.text[max(0, m.start() - 300) : m.start()]))))
        top = lambda p: not self.scope(p)[0]
        self.defined = {m.group(1) for m in ITEM_DEF.finditer(self.text) if top(m.start())}
        self.imports = {}  # name -> path segments, for names `use`d at file scope
        for m in USE_STMT.finditer(self.text):
            if top(m.start()):
                for segs, alias in use_tree(m.group(2)):
                    if alias:
                        self.imports[alias] = segs

    def scope(self, pos):
        names, test = [], False
        for start, end, name, t in self.inline:
            if start < pos < end:
                names.append(name)
                test = test or t
        return names, test

    def line(self, pos):
        return self.text.count("\n", 0, pos) + 1


def load(root):
    files, todo = {}, [(root, (), False, root.parent)]
    while todo:
        path, modpath, test, owns = todo.pop()
        if modpath in files or not path.exists():
            continue
        f = files[modpath] = File(path, modpath, test, owns)
        for name, t in f.children:
            flat = owns / f"{name}.rs"
            todo.append((flat if flat.exists() else owns / name / "mod.rs", modpath + (name,), test or t, owns / name))
    return files


class Crate:
    def __init__(self, files, strict):
        self.files, self.strict = files, strict
        self.macros = {}  # #[macro_export] macros live at the root but are written in one file
        for mp, f in files.items():
            for m in re.finditer(rf"#\[macro_export\]\s*macro_rules!\s*({IDENT})", f.text):
                self.macros[m.group(1)] = mp

    def absolute(self, here, segs, children):
        """The path from the crate root that `segs`, written in module `here`, names; None if
        it names something outside the crate."""
        head = segs[0]
        if head in ("crate", "$crate"):
            return segs[1:]
        if head == "self":
            return list(here) + segs[1:]
        if head == "super":
            k = 0
            while k < len(segs) and segs[k] == "super":
                k += 1
            return list(here[: len(here) - k]) + segs[k:]
        if head in children:
            return list(here) + segs
        return None

    def target(self, full, depth=0):
        """The file (module path) that defines what the absolute path `full` names."""
        if full and full[0] in self.macros and len(full) == 1:
            return self.macros[full[0]]
        cut = max(c for c in range(len(full) + 1) if tuple(full[:c]) in self.files)
        mp, rest = tuple(full[:cut]), full[cut:]
        f = self.files[mp]
        if self.strict or not rest or rest[0] in f.defined or depth > 8:
            return mp
        if rest[0] in f.imports:  # a re-export (or an import reached through super::*): follow it
            via = self.absolute(mp, f.imports[rest[0]], {c for c, _ in f.children})
            return None if via is None else self.target(via + rest[1:], depth + 1)
        return mp

    def edges(self):
        out = {}  # (from, to) -> [(line, shown, is_test)]
        for mp, f in self.files.items():
            children = {c for c, _ in f.children} | {n for _, _, n, _ in f.inline}
            refs = []
            for m in USE_STMT.finditer(f.text):
                rest_of_file = f.text[: m.start()] + f.text[m.end() :]
                for segs, alias in use_tree(m.group(2)):
                    # A `pub use` whose name the file never uses itself only re-exports.
                    if m.group(1) and not self.strict and alias and not re.search(rf"(?<![\w]){alias}(?![\w])", rest_of_file):
                        continue
                    refs.append((m.start(), segs, "use " + "::".join(segs)))
            code = USE_STMT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), f.text)
            for m in PATH_REF.finditer(code):
                refs.append((m.start(), [m.group(1)] + re.split(r"\s*::\s*", m.group(2).strip(" :")), None))
            for m in re.finditer(rf"(?<![\w:$])({IDENT})((?:\s*::\s*{IDENT})+)", code):
                if m.group(1) in children:
                    refs.append((m.start(), [m.group(1)] + re.split(r"\s*::\s*", m.group(2).strip(" :")), None))
            for pos, segs, shown in refs:
                inline, test = f.scope(pos)
                full = self.absolute(mp + tuple(inline), segs, children)
                to = None if full is None else self.target(full)
                if to is not None and to != mp:
                    out.setdefault((mp, to), []).append((f.line(pos), shown or "::".join(segs), test or f.is_test))
        return out


def sccs(nodes, adj):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in adj.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on.discard(comp[-1])
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def roots(crate):
    manifest = tomllib.loads((crate / "Cargo.toml").read_text())
    found = [crate / manifest.get("lib", {}).get("path", "src/lib.rs"), crate / "src/main.rs"]
    found += sorted((crate / "src/bin").glob("*.rs")) + sorted((crate / "tests").glob("*.rs"))
    for kind, folder in (("bin", "src/bin"), ("test", "tests"), ("bench", "benches")):
        found += [crate / t.get("path", f"{folder}/{t['name']}.rs") for t in manifest.get(kind, [])]
    unique = {}
    for r in found:
        if r.exists():
            unique.setdefault(r.resolve(), r)
    return list(unique.values())


def main():
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ws = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    cycles = 0
    for member in tomllib.loads((ws / "Cargo.toml").read_text())["workspace"]["members"]:
        for root in roots(ws / member):
            crate = Crate(load(root), "--strict" in flags)
            edges = {k: [r for r in v if not (r[2] and "--no-tests" in flags)] for k, v in crate.edges().items()}
            edges = {k: v for k, v in edges.items() if v}
            adj = {}
            for a, b in edges:
                adj.setdefault(a, []).append(b)
            name = lambda mp: str(crate.files[mp].path.relative_to(ws))
            for comp in sccs(list(crate.files), adj):
                if len(comp) > 1:
                    cycles += 1
                    print(f"cycle in {member}: " + ", ".join(sorted(map(name, comp))))
                    for (a, b), refs in sorted(edges.items()):
                        if a in comp and b in comp:
                            for line, shown, test in refs:
                                print(f"  {name(a)}:{line} -> {name(b)}  {shown}{' [test]' if test else ''}")
            print(f"checked {root.relative_to(ws)}: {len(crate.files)} files, {len(edges)} edges", file=sys.stderr)
    print(f"{cycles} cycle(s)" if cycles else "no import cycle between the files of any crate")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
