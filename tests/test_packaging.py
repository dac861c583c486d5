"""The distribution is adoptable: one version, typed packages, a licence, a complete sdist.

The cheap checks read the configuration (``pyproject.toml``, ``MANIFEST.in``) and the
tree; building the source distribution itself takes a few seconds and a build backend
from the package index, so it runs under ``-m slow``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

import accel
import matfun

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
# What the source distribution must carry for a user to run the suite, build the docs
# and run the notebooks and benchmarks from it.
SDIST_TREES = ("tests", "docs", "benchmarks", "notebooks")
SDIST_FILES = ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml",
               "tests/_helpers.py", "tests/conftest.py", "docs/conf.py",
               "docs/_static/mathjax/tex-svg.js", "docs/_static/mathjax/LICENSE",
               "matfun/py.typed", "accel/py.typed")


def _version_in_source():
    """The string ``[tool.setuptools.dynamic]`` points the build at, read as setuptools does."""
    attribute = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attribute.rpartition(".")
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{attribute} is not assigned a literal in {path}")


def test_version_is_single_sourced():
    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT
    assert matfun.__version__ == accel.__version__ == _version_in_source()
    # PEP 440, as pip and PyPI require.
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?",
                        matfun.__version__), matfun.__version__


def test_version_matches_the_installed_metadata():
    try:
        distribution = importlib.metadata.distribution("matfun-accel")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("matfun-accel is not installed (running from a bare source tree)")
    direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
    installed_from = direct_url.get("url", "")
    if direct_url.get("dir_info", {}).get("editable") and \
            Path(installed_from.removeprefix("file://")).resolve() != ROOT:
        pytest.skip(f"the installed matfun-accel is an editable install of {installed_from}, "
                    f"not of this tree ({ROOT}): its metadata describes that tree")
    assert distribution.version == matfun.__version__, (
        f"installed metadata says {distribution.version}, the source says "
        f"{matfun.__version__}: reinstall (pip install -e . or pip install .)")


@pytest.mark.parametrize("package", ["matfun", "accel"])
def test_packages_are_typed(package):
    assert (ROOT / package / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"][package]


def test_licence():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    assert "the matfun-accel developers" in text
    assert "Neither the name of the copyright holder" in text  # clause 3
    assert PROJECT["license"] == "BSD-3-Clause"  # an SPDX expression (PEP 639)
    assert PROJECT["license-files"] == ["LICENSE"]
    # PEP 639: a licence expression and a licence classifier must not both be given.
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]
    requires = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in requires), requires


def test_oracle_extra_brings_what_matfun_testing_imports():
    extras = PROJECT["optional-dependencies"]
    assert [r.split(">")[0] for r in extras["oracle"]] == ["hypothesis"]
    assert set(extras["oracle"]) <= set(extras["test"])


def test_manifest_grafts_what_the_sdist_needs():
    lines = [line.split() for line in (ROOT / "MANIFEST.in").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    grafted = {words[1] for words in lines if words[0] == "graft"}
    included = {word for words in lines if words[0] == "include" for word in words[1:]}
    assert set(SDIST_TREES) <= grafted
    assert {"LICENSE", "CHANGELOG.md"} <= included
    for name in SDIST_FILES:
        assert (ROOT / name).is_file(), name


def test_changelog_has_the_unreleased_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    major_minor = ".".join(matfun.__version__.split(".")[:3]).removesuffix(".dev0")
    assert f"## [{major_minor}]" in text
    assert "rtol" in text and "atol" in text


@pytest.mark.slow
def test_sdist_carries_the_tests_docs_and_notebooks(tmp_path):
    pytest.importorskip("build", reason="building the sdist needs `pip install build`")
    # Build from a copy of the work tree (tracked and new files, as git sees them): the
    # build writes an egg-info directory into its source, which must not land in the repo.
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git work tree: cannot tell which files are the source")
    files = [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]
    source = tmp_path / "source"
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                           str(tmp_path / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (archive,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(archive) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for name in SDIST_FILES:
        assert name in names, name
    wanted = [name for name in files if name.split("/")[0] in SDIST_TREES
              and "__pycache__" not in name]
    missing = [name for name in wanted if name not in names]
    assert wanted and not missing, missing
