"""Every measured figure in the README and on a docs page is held by a results file that page names.

A page names its sources in three ways: the tables it includes (``<!-- results: beyond/real_errors.md -->``,
replaced by the tables at build time), the results files its text cites (``benchmarks/results/mia/mia.md``)
and a line ``<!-- figures: audit/audit.md beyond/beyond.md -->`` for the files its prose quotes. A figure is a number with a unit (``16 %``, ``+1.3 pt``, ``7.2×``,
``14 s``), either end of a range (``50–70 %``) or a decimal number (``0.16``) in the prose or in a
hand-written table. It is traced when a number in one of the page's sources (its ``.md`` or the
``.csv`` beside it) rounds to it at the figure's precision — directly, or times 100 for a percentage
or percentage points written as fractions in the results. Signs are compared as magnitudes: prose
says "costs 0.8 pt" for a ``-0.8``.

Code, inline code, formulas, links and layer sizes (``5×250``) are not figures. A number that is a
setting rather than a measurement (a noise rate, a false-positive level) is usually in its sources too
(the rate column); one that is not is written inside backticks or given a ``<!-- setting: 1e-3 -->``
line (the figure as written), so what is exempt is visible in the page.

Run ``python tools/check_figures.py``: it lists every untraced figure and exits 1 if there is one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

_NUMBER = re.compile(r"[-+−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SOURCES = re.compile(r"<!-- (?:results|figures): ([^>]*?)(?: \d+)? -->")
_CITED = re.compile(r"(?:benchmarks/|\]\()results/([\w/.-]+?\.md)")
_SETTINGS = re.compile(r"<!-- setting: ([^>]*?) -->")
_FIGURE = re.compile(
    r"(?P<first>[+−-]?\d+(?:\.\d+)?)(?:\s*(?:–|to)\s*(?P<last>[+−-]?\d+(?:\.\d+)?))?\s*(?P<unit>%|pt\b|×|s\b)"
    r"|(?<![\d.])(?P<decimal>[+−-]?\d+\.\d+)(?![\d.×])"
)
_NOT_PROSE = [
    re.compile(r"^```.*?^```", re.M | re.S),  # code blocks
    re.compile(r"<!--.*?-->", re.S),  # comments (the source lines themselves)
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$|\$[^$\n]+\$", re.S),  # formulas
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"\d+(?:×\d+)+"),  # layer sizes such as 5×250
    re.compile(r"^\|[\s:|-]+\|$", re.M),  # table rules
]


def _numbers(path: Path) -> list[float]:
    return [float(m.group(0).replace("−", "-")) for m in _NUMBER.finditer(path.read_text(encoding="utf-8"))]


def _traced(figure: str, unit: str | None, values: list[float]) -> bool:
    written = abs(float(figure.replace("−", "-")))
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    tolerance = 0.5 * 10**-decimals + 1e-9
    scales = (1.0, 100.0) if unit in ("%", "pt") else (1.0,)
    return any(abs(abs(value) * scale - written) <= tolerance for value in values for scale in scales)


def page_sources(text: str) -> list[Path]:
    """The results files a page names as the sources of its figures (each ``.md`` and its ``.csv``)."""
    names = [name for group in _SOURCES.findall(text) for name in group.split()]
    names += _CITED.findall(text)
    files = []
    for name in dict.fromkeys(names):
        markdown = RESULTS / name
        files += [markdown] + ([markdown.with_suffix(".csv")] if markdown.with_suffix(".csv").is_file() else [])
    return files


def untraced_figures(page: Path) -> list[str]:
    """The figures on ``page`` that none of its sources holds (a missing source is reported too)."""
    text = page.read_text(encoding="utf-8")
    sources = page_sources(text)
    problems = [
        f"{page.name}: names {s.relative_to(RESULTS)}, which does not exist" for s in sources if not s.is_file()
    ]
    values = [v for source in sources if source.is_file() for v in _numbers(source)]
    settings = {s for group in _SETTINGS.findall(text) for s in group.split(", ")}
    prose = text
    for pattern in _NOT_PROSE:
        prose = pattern.sub(" ", prose)
    for line in prose.splitlines():
        for match in _FIGURE.finditer(line):
            if match.group(0).strip() in settings:
                continue
            unit = match.group("unit")
            ends = [match.group(k) for k in ("first", "last", "decimal") if match.group(k)]
            if not all(_traced(end, unit, values) for end in ends):
                problems.append(f"{page.name}: {match.group(0).strip()!r} in “{line.strip()[:90]}”")
    return problems


def main() -> int:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    problems = [p for page in pages for p in untraced_figures(page)]
    print("\n".join(problems) or "every figure traced")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
