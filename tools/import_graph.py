"""Print the package's internal import graph, its cycles and any import of another module's private name.

Private means a name starting with ``_`` imported from another module, or a private module
(``pkg/_impl.py``) imported from outside its own package: other packages go through
``pkg/__init__.py``, the package's public surface.

    python tools/import_graph.py

Exit status 1 when there is a cycle or a private-name import (CI runs it).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_unlearn"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def own_package(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _private_owner(module: str) -> str | None:
    """The package whose private module ``module`` is (or lies in), or None for a public path."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def graph() -> tuple[dict[str, set[str]], list[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = resolve(name, path.name == "__init__.py", node)
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    imported = full if full in modules else target
                    owner = _private_owner(imported) if imported in modules else None
                    if owner is not None and owner != own_package(name, path):
                        private.append(f"{name} imports the private module {imported}")
                    if full in modules:  # `from . import module`
                        edges[name].add(full)
                    elif target in modules:
                        edges[name].add(target)
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            private.append(f"{name} imports {target}.{alias.name}")
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name in modules)
    # A package's __init__ re-exports its submodules; a submodule importing its own package is not a cycle to it.
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # package <-> own submodule
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def main() -> int:
    edges, private = graph()
    for name in sorted(edges):
        targets = sorted(t for t in edges[name] if t != name)
        print(f"{name} -> {', '.join(targets) if targets else '(nothing internal)'}")
    loops = cycles(edges)
    print(f"\n{len(edges)} modules; cycles: {len(loops)}; private-name imports: {len(private)}")
    for loop in loops:
        print("cycle:", " -> ".join(loop))
    for line in private:
        print("private:", line)
    return 1 if loops or private else 0


if __name__ == "__main__":
    sys.exit(main())
