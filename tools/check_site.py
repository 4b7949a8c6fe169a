"""Check a built docs site: no raw TeX, no Sphinx roles, no notes meant for developers.

    python tools/check_site.py SITE_DIR

Exit status 1, with the offending pages and snippets, when any built page still holds
``\\(``/``\\[`` (a formula KaTeX did not render), ``:class:``/``:meth:``/``:func:`` (a Sphinx
role mkdocstrings does not read), a reference to an issue number or to ``../shared``, or raw
reST double backticks (or ``array - like``) in a rendered docstring.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CHECKS = {
    "raw TeX": re.compile(r"\\\(|\\\[|\\\)|\\\]"),
    "Sphinx role": re.compile(r":(class|meth|func|mod|data|attr):`"),
    "developer note": re.compile(r"[Ii]ssue\s+\d+|\.\./shared|[Ll]ent to the session"),
    # mkdocstrings leaves a type's reST as it is, and reads "array-like" as a subtraction
    "raw reST in the API": re.compile(r"``|array - like"),
}
_SKIP = re.compile(r"<(script|style)\b.*?</\1>", re.S)
_TAGS = re.compile(r"<[^>]+>")


def problems(site: Path) -> list[str]:
    found = []
    for page in sorted(site.rglob("*.html")):
        text = _TAGS.sub(" ", _SKIP.sub(" ", page.read_text(encoding="utf-8")))
        for name, pattern in CHECKS.items():
            for match in list(pattern.finditer(text))[:3]:
                snippet = " ".join(text[max(match.start() - 40, 0) : match.end() + 40].split())
                found.append(f"{page.relative_to(site)}: {name}: ...{snippet}...")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__)
        return 2
    found = problems(Path(args[0]))
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
