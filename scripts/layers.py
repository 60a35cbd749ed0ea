#!/usr/bin/env python3
"""Fails when a module of a crate imports, directly or through others, a module that imports it.

Imports must run one way (README, "Layout"): from HTTP down to the protocol crate on the server,
from the app down to its state in the page. A module is a top-level file or folder of `src/`
(`rooms/feed.rs` belongs to `rooms`), and `lib.rs` is the module `lib`; a module depends on
another when its code names `crate::other` (in a `use` or a path; an item of `lib.rs` counts as
`lib`), and `lib.rs` on the modules whose paths it uses. Usage: scripts/layers.py CRATE_SRC...  (e.g. server/src frontend/src)
"""
import re
import sys
from pathlib import Path


def code_of(path: Path) -> str:
    # Comments and doc links name modules without depending on them.
    return "\n".join(line.split("//")[0] for line in path.read_text().splitlines())


def modules(src: Path) -> dict[str, set[str]]:
    files: dict[str, list[Path]] = {}
    for path in src.rglob("*.rs"):
        name = path.relative_to(src).parts[0].removesuffix(".rs")
        if name != "main":
            files.setdefault(name, []).append(path)
    known = set(files)
    deps: dict[str, set[str]] = {}
    for name, paths in files.items():
        used: set[str] = set()
        for path in paths:
            code = code_of(path)
            if name == "lib":
                # The crate root declares every module; it depends on those whose paths it uses.
                code = "\n".join(l for l in code.splitlines() if not re.match(r"\s*(pub )?mod ", l))
                used |= set(re.findall(r"\b(\w+)::", code))
                continue
            named = set(re.findall(r"\bcrate::(\w+)", code))
            for group in re.findall(r"\bcrate::\{([^}]*)\}", code, re.S):
                named |= {part.strip().split("::")[0] for part in group.split(",") if part.strip()}
            # `crate::Item` where Item is no module: an item of the crate root.
            used |= {n if n in known or not n[:1].isupper() else "lib" for n in named}
        deps[name] = {d for d in used if d in known and d != name}
    return deps


def cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    found, seen = [], set()

    def walk(node, path):
        if node in path:
            cycle = path[path.index(node):] + [node]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                found.append(cycle)
            return
        for nxt in sorted(deps.get(node, ())):
            walk(nxt, path + [node])

    for start in sorted(deps):
        walk(start, [])
    return found


def main() -> int:
    failed = False
    for src in sys.argv[1:] or ["server/src", "frontend/src"]:
        deps = modules(Path(src))
        for cycle in cycles(deps):
            failed = True
            print(f"{src}: import cycle: {' -> '.join(cycle)}")
    if not failed:
        print("no import cycles among the modules of", ", ".join(sys.argv[1:] or ["server/src", "frontend/src"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
