"""Build the DataCo sample that ships inside the package (``load_dataco()`` with no path).

    python tools/make_dataco_sample.py [--source ../shared/data/dataco_sample_6000.csv.gz]

Source: a random sample of 6,000 rows of "DataCo Smart Supply Chain for Big Data Analysis"
(Constante, Silva, Pereira 2019, Mendeley Data, CC BY 4.0). What this script does, and
nothing else:

1. read the source (latin-1, as published);
2. keep only the columns the package uses: the label's two day columns, the two dates,
   ``Delivery Status``, every column of the "order_time" feature set, and the columns whose
   encoded features survive the "paper" preprocessing on this sample (the rest are dropped by
   its variance filter, so leaving them out changes no feature);
3. write them, rows in the source's order, as UTF-8 CSV compressed with gzip (mtime 0, so the
   file is byte-for-byte reproducible) to ``sklearn_unlearn/datasets/data/dataco_sample.csv.gz``;
4. check that both feature sets built from the written file equal those built from the source.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_unlearn import datasets as dataco

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "dataco_sample_6000.csv.gz"
TARGET = ROOT / "sklearn_unlearn" / "datasets" / "data" / "dataco_sample.csv.gz"


def needed_columns(frame: pd.DataFrame) -> list[str]:
    paper = dataco.dataco_task(frame, features="paper")
    from_paper = {name.split("=", 1)[0] for name in paper.feature_names}
    keep = set(dataco.REQUIRED_COLUMNS) | from_paper
    return [c for c in frame.columns if c in keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    source = pd.read_csv(args.source, encoding="latin-1", low_memory=False)
    reduced = source[needed_columns(source)]
    text = reduced.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as archive:
        archive.write(text)
    args.target.parent.mkdir(parents=True, exist_ok=True)
    args.target.write_bytes(buffer.getvalue())
    written = pd.read_csv(args.target, encoding="utf-8", low_memory=False)
    for features in dataco.FEATURE_SETS:
        a, b = dataco.dataco_task(source, features=features), dataco.dataco_task(written, features=features)
        if list(a.feature_names) != list(b.feature_names) or not np.array_equal(a.data, b.data):
            raise SystemExit(f"The reduced file changes the {features!r} features.")
        if not np.array_equal(a.target, b.target):
            raise SystemExit("The reduced file changes the label.")
    print(
        f"{args.target}: {len(written)} rows, {written.shape[1]} of {source.shape[1]} columns, "
        f"{args.target.stat().st_size / 1024:.0f} KiB; both feature sets and the label unchanged."
    )
    print("Columns:", ", ".join(written.columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
