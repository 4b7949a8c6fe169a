"""mkdocs hooks: benchmark plots and tables published from the results, formulas rendered at build time.

The docs never hold a copy of a figure or of a results table: every plot comes from the
benchmark that drew it, and a line ``<!-- results: processes/batch256.md -->`` in a page is
replaced by the tables (and fenced blocks) of ``benchmarks/results/processes/batch256.md`` with
the command that wrote them (``<!-- results: audit/audit.md 1 -->`` takes the first table only).
Formulas (``pymdownx.arithmatex`` in generic mode leaves them as ``\\(...\\)`` and ``\\[...\\]``)
are rendered to HTML with the vendored KaTeX (``docs/assets/katex``) by Node.js while the site
is built, so pages need no script and no network to show them. Without Node.js the build
fails with a clear message rather than publish raw TeX.
"""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

_MATH = re.compile(r'<(span|div) class="arithmatex">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>', re.S)
_RENDER = """
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = items.map(([tex, display]) => katex.renderToString(tex, {displayMode: display, throwOnError: true}));
process.stdout.write(JSON.stringify(out));
"""


def on_files(files, config):
    # Plots, and the results files themselves as pages, so a figure's source opens from the site.
    results = Path(config["docs_dir"]).parent / "benchmarks" / "results"
    for path in sorted([*results.glob("*/*.png"), *results.glob("*/**/*.md")]):
        files.append(File.generated(config, f"results/{path.relative_to(results).as_posix()}", abs_src_path=str(path)))
    return files


_RESULTS_LINE = re.compile(r"^<!-- results: (\S+?\.md)(?: (\d+))? -->$", re.M)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("results/"):
        page.meta["hide"] = ["navigation", "toc"]  # results tables are wide: give them the page
        return markdown
    results = Path(config["docs_dir"]).parent / "benchmarks" / "results"

    def tables(match: re.Match) -> str:
        source = results / match.group(1)
        if not source.is_file():
            raise PluginError(f"{page.file.src_path} includes {match.group(1)}, which is not under benchmarks/results.")
        text = source.read_text(encoding="utf-8")
        # Markdown tables and fenced blocks (the demo's printed table), in the order they come.
        found = [m.group(0) for m in re.finditer(r"(?:^\|.*\|\n?)+|^```\n.*?^```$", text, re.M | re.S)]
        if not found:
            raise PluginError(f"{match.group(1)} (included by {page.file.src_path}) holds no table.")
        keep = found[: int(match.group(2))] if match.group(2) else found
        command = re.search(r"^Command: `([^`]+)`", text, re.M)
        link = "/".join([".."] * page.file.src_uri.count("/") + ["results", match.group(1)])
        origin = f"[`benchmarks/results/{match.group(1)}`]({link})" + (
            f", written by `{command.group(1)}`" if command else ""
        )
        return "\n\n".join(t.strip() for t in keep) + f"\n\n<small>From {origin}.</small>"

    return _RESULTS_LINE.sub(tables, markdown)


def on_page_content(content, page, config, files):
    found = list(_MATH.finditer(content))
    if not found:
        return content
    node = shutil.which("node")
    if node is None:
        raise PluginError("Rendering the formulas needs Node.js (`node` on PATH); install it to build the docs.")
    katex = str(Path(config["docs_dir"]) / "assets" / "katex" / "katex.min.js")
    items = [[html.unescape(m.group(3)), m.group(2) == "\\["] for m in found]
    run = subprocess.run([node, "-e", _RENDER, katex], input=json.dumps(items), capture_output=True, text=True)
    if run.returncode != 0:
        raise PluginError(f"KaTeX could not render a formula on {page.file.src_path}: {run.stderr.strip()[:500]}")
    rendered = iter(json.loads(run.stdout))
    return _MATH.sub(lambda m: next(rendered), content)
