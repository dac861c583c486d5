"""The documentation builds strictly (every Sphinx warning is an error).

This is the documented command, ``python -m sphinx -W --keep-going -b html docs
docs/_build/html``, run into a temporary directory in a subprocess (Sphinx keeps
global state, and a fresh interpreter is what a user gets).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")
pytest.importorskip("myst_parser")

# Every page of the user guide and the API reference; the build must produce each.
PAGES = [
    "index", "getting_started", "mathematics", "accelerators", "fast_methods", "oracle",
    "backends", "optimisers", "notebooks", "benchmark_results", "api/index",
    "api/matfun", "api/operators", "api/scaling", "api/exact", "api/testing",
    "api/spectrum", "api/lanczos", "api/chebyshev", "api/optim", "api/accel",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    doctrees = tmp_path_factory.mktemp("doctrees")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(doctrees), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=300,
    )
    return proc, out


def test_strict_build_has_no_warnings(built):
    proc, _ = built
    assert proc.returncode == 0, (
        "strict documentation build failed:\n" + proc.stderr[-6000:] + proc.stdout[-2000:]
    )
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]


def test_every_page_is_built(built):
    proc, out = built
    missing = [page for page in PAGES if not (out / f"{page}.html").is_file()]
    assert not missing, f"pages not built: {missing}\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("page, names", [
    ("api/matfun", ["matfun.inv_sqrt_series", "matfun.inv_sqrt_partial_sums", "matfun.inv_sqrt",
                    "matfun.neumann_series", "matfun.as_operator"]),
    ("api/optim", ["matfun.optim.sfn_series", "matfun.optim.exact_sfn"]),
    ("api/accel", ["accel.shanks", "accel.sablonniere", "accel.levin", "accel.pade",
                   "accel.accelerator", "accel.methods"]),
    ("api/exact", ["matfun.exact.abs_inv"]),
    ("api/testing", ["matfun.testing.assert_matches_oracle"]),
    ("api/lanczos", ["matfun.lanczos.lanczos_apply"]),
    ("api/chebyshev", ["matfun.chebyshev.chebyshev_inv_sqrt"]),
])
def test_api_reference_documents_the_public_functions(built, page, names):
    # autodoc failing to import a module is a warning (caught above); this checks
    # that the objects really were documented under their public names.
    _, out = built
    html = (out / f"{page}.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="([\w.]+)"', html))
    assert set(names) <= anchors, sorted(set(names) - anchors)


def test_mathematics_is_rendered_as_maths(built):
    # MyST's dollarmath must turn $$...$$ into MathJax blocks, not literal dollars.
    _, out = built
    html = (out / "mathematics.html").read_text(encoding="utf-8")
    assert 'class="math' in html
    assert "$$" not in html
