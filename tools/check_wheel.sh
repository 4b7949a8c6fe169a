#!/usr/bin/env bash
# Build the sdist and the wheel, install the wheel into a fresh venv outside the repository and
# run what a user runs first: the demo, the shipped data, the type marker. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q build
rm -rf /tmp/ci-dist
python -m build --sdist --wheel --outdir /tmp/ci-dist . > /tmp/ci-dist.log 2>&1 || { cat /tmp/ci-dist.log; exit 1; }
python3 -m venv --clear /tmp/ci-wheel-venv
/tmp/ci-wheel-venv/bin/python -m pip install -q --upgrade pip
/tmp/ci-wheel-venv/bin/python -m pip install -q torch==2.13.0
/tmp/ci-wheel-venv/bin/python -m pip install -q /tmp/ci-dist/*.whl
cd /tmp
/tmp/ci-wheel-venv/bin/sklearn-unlearn demo --quick --out /tmp/ci-wheel-demo
/tmp/ci-wheel-venv/bin/python -c "import sklearn_unlearn; print(sklearn_unlearn.datasets.load_dataco().DESCR.splitlines()[2])"
/tmp/ci-wheel-venv/bin/python - <<'PY'
import tarfile
from importlib import resources
from pathlib import Path

assert resources.files("sklearn_unlearn").joinpath("py.typed").is_file(), "py.typed is missing from the wheel"
sdist = next(Path("/tmp/ci-dist").glob("*.tar.gz"))
names = tarfile.open(sdist).getnames()
for needed in ("sklearn_unlearn/datasets/data/dataco_sample.csv.gz", "sklearn_unlearn/py.typed", "NOTICE"):
    assert any(name.endswith(needed) for name in names), f"{needed} is missing from the sdist"
print("wheel and sdist: demo, data, py.typed and NOTICE present")
PY
