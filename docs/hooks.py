"""mkdocs hook: publish the benchmark plots (benchmarks/results/*.png) under results/.

The docs never hold a copy of a figure; every plot comes from the benchmark that drew it.
"""

from pathlib import Path

from mkdocs.structure.files import File


def on_files(files, config):
    results = Path(config["docs_dir"]).parent / "benchmarks" / "results"
    for png in sorted(results.glob("*.png")):
        files.append(File.generated(config, f"results/{png.name}", abs_src_path=str(png)))
    return files
