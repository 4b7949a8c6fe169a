"""Every public class, function and method has a numpydoc docstring that matches its signature."""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PUBLIC_PACKAGES = [
    "sklearn_unlearn",
    "sklearn_unlearn.nets",
    "sklearn_unlearn.unlearning",
    "sklearn_unlearn.metrics",
    "sklearn_unlearn.research",
    "sklearn_unlearn.datasets",
    "sklearn_unlearn.persistence",
]
# numpydoc's checks we hold every public docstring to: it exists, documents every parameter
# (with a type and a description) and nothing else, says what it returns or yields.
ENFORCED = {"GL08", "PR01", "PR02", "PR04", "PR07", "RT01", "RT03", "YD01"}
# The estimators and methods users meet first also point to their neighbours and papers.
REFERENCED = [
    "sklearn_unlearn.UnlearnableClassifier",
    "sklearn_unlearn.AcceleratedUnlearnableClassifier",
    "sklearn_unlearn.ASSD",
    "sklearn_unlearn.SSD",
    "sklearn_unlearn.PathGradient",
    "sklearn_unlearn.SingleGradient",
    "sklearn_unlearn.NewtonStep",
    "sklearn_unlearn.EWCAscent",
    "sklearn_unlearn.SDLoss",
]


# Public, but outside ``__all__``: they need the optional ``accelerate`` extra.
OPTIONAL = {"sklearn_unlearn": ["AcceleratedUnlearnableClassifier", "AcceleratedUnlearnableRegressor"]}


def _public_objects() -> list[str]:
    names: set[str] = set()
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in [*module.__all__, *OPTIONAL.get(package, [])]:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            path = f"{obj.__module__}.{obj.__qualname__}"
            names.add(path)
            if inspect.isclass(obj):
                for attribute, value in vars(obj).items():
                    if not attribute.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
                        names.add(f"{path}.{attribute}")
    return sorted(names)


def _inherits_its_docstring(name: str) -> bool:
    """A method that overrides a documented one (a skorch hook, a strategy's ``forget``) keeps its docs."""
    owner_path, _, attribute = name.rpartition(".")
    module_path, _, owner_name = owner_path.rpartition(".")
    owner = getattr(importlib.import_module(module_path), owner_name, None)
    if not inspect.isclass(owner):
        return False
    own = vars(owner).get(attribute)
    return getattr(own, "__doc__", None) is None and any(
        getattr(getattr(base, attribute, None), "__doc__", None) for base in owner.__mro__[1:]
    )


def _foreign_signature(name: str, code: str) -> bool:
    """Signatures we do not write: a Protocol's or NamedTuple's generated ``__init__``, skorch's own.

    Their fields are documented as Attributes instead (what the docs' renderer expects).
    """
    module_path, _, attribute = name.rpartition(".")
    obj = getattr(importlib.import_module(module_path), attribute, None)
    if code != "PR01" or not inspect.isclass(obj):
        return False
    init_owner = next((base for base in obj.__mro__ if "__init__" in vars(base)), object)
    generated = getattr(obj, "_is_protocol", False) or issubclass(obj, tuple)
    return generated or not init_owner.__module__.startswith("sklearn_unlearn")


@pytest.mark.parametrize("name", _public_objects())
def test_public_docstring(name):
    if _inherits_its_docstring(name):
        return
    errors = [
        f"{code}: {message}"
        for code, message in numpydoc_validate.validate(name)["errors"]
        if code in ENFORCED and not _foreign_signature(name, code)
    ]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("name", REFERENCED)
def test_main_api_points_to_neighbours_and_papers(name):
    module, _, attribute = name.rpartition(".")
    doc = inspect.getdoc(getattr(importlib.import_module(module), attribute)) or ""
    assert "See Also" in doc and "References" in doc


def test_every_public_class_and_function_is_in_the_api_reference():
    """docs/api.md lists every public class and function, and nothing that no longer exists."""
    import re
    from pathlib import Path

    api = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    entries = re.findall(r"^::: (\S+)", api, re.M)
    short = [entry.rsplit(".", 1)[-1] for entry in entries]
    assert len(set(short)) == len(short), f"listed twice: {sorted({n for n in short if short.count(n) > 1})}"
    listed = set(entries)
    missing = []
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in [*module.__all__, *OPTIONAL.get(package, [])]:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not any(
                entry.rsplit(".", 1)[-1] == name for entry in listed
            ):
                missing.append(f"{package}.{name}")
    assert not missing, f"not in docs/api.md: {missing}"
    for entry in listed:
        module, _, name = entry.rpartition(".")
        assert hasattr(importlib.import_module(module), name), f"docs/api.md lists {entry}, which does not exist"


def test_every_results_file_the_docs_name_exists():
    """A results file named in README or docs/ exists: figures are cited from files that are there."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    results = root / "benchmarks" / "results"
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        for name in re.findall(r"(?:results/)?([\w.-]+/[\w.*-]+\.(?:md|csv|png))", page.read_text()):
            if "*" in name or name.startswith(("docs/", "assets/")):
                continue
            name = name.removeprefix("results/")
            if not (results / name).exists() and not list(results.glob(f"*/{name}")):
                missing.append(f"{page.name}: {name}")
    assert not missing, missing


def _documented_defaults(obj) -> dict[str, str]:
    from numpydoc.docscrape import ClassDoc, FunctionDoc

    doc = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) else FunctionDoc(obj)
    found = {}
    for param in doc["Parameters"]:
        match = re.search(r"default\s*=\s*(.+)$", param.type)
        if match:
            for name in param.name.split(","):
                found[name.strip()] = match.group(1).strip()
    return found


def _same_default(documented: str, actual) -> bool:
    if actual is inspect.Parameter.empty:
        return False
    if repr(actual) == "<factory>":  # a dataclass field built per instance: nothing to compare
        return True
    try:
        if ast.literal_eval(documented) == actual:
            return True
    except (ValueError, SyntaxError):
        pass
    candidates = {repr(actual), str(actual), f'"{actual}"', f"'{actual}'"}
    if isinstance(actual, type):
        candidates |= {actual.__name__, f"{actual.__module__}.{actual.__qualname__}"}
        if "." in documented:  # a public path, such as torch.nn.CrossEntropyLoss
            try:
                return _resolve(documented) is actual
            except (ImportError, AttributeError):
                return False
    if isinstance(actual, float):
        candidates |= {f"{actual:g}", f"{actual:.0e}", f"{actual:.0e}".replace("e-0", "e-")}
    return documented in candidates or documented.replace(" ", "") in {c.replace(" ", "") for c in candidates}


def _resolve(dotted: str):
    """The object at a dotted path: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("name", _public_objects())
def test_documented_defaults_are_the_signatures(name):
    """A ``default=`` in a docstring is the default the signature has."""
    obj = _resolve(name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        pytest.skip("a property: no signature")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        pytest.skip("no signature")
    wrong = {
        param: (documented, signature.parameters[param].default)
        for param, documented in _documented_defaults(obj).items()
        if param in signature.parameters and not _same_default(documented, signature.parameters[param].default)
    }
    assert not wrong, wrong


def _figure_checker():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "check_figures.py"
    spec = importlib.util.spec_from_file_location("check_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_figure_on_the_docs_pages_is_held_by_a_results_file():
    """A measured figure in the README or docs/ is one that a results file the page names holds."""
    from pathlib import Path

    checker = _figure_checker()
    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    problems = [problem for page in pages for problem in checker.untraced_figures(page)]
    assert not problems, "\n".join(problems)


def test_the_figure_check_finds_a_figure_no_source_holds(tmp_path):
    checker = _figure_checker()
    page = tmp_path / "page.md"
    page.write_text(
        "The retrain reaches 83.67 % and the baseline 82.83 % (`x = 0.125` is code).\n\n"
        "<!-- figures: demo/demo.md -->\n"
    )
    assert checker.untraced_figures(page) == []
    page.write_text("The default reaches 82.97 % and 8.33 %; a range 0.51–0.99 s.\n\n<!-- figures: demo/demo.md -->\n")
    assert [p.split(": ", 1)[1].split(" in ")[0] for p in checker.untraced_figures(page)] == [
        "'82.97 %'",
        "'0.51–0.99 s'",
    ]
    page.write_text("Reaches 83.67 %.\n\n<!-- figures: demo/missing.md -->\n")
    assert any("does not exist" in p for p in checker.untraced_figures(page))
