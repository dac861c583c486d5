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
    "backends", "optimisers", "training", "notebooks", "benchmark_results", "api/index",
    "api/matfun", "api/operators", "api/scaling", "api/exact", "api/testing",
    "api/spectrum", "api/lanczos", "api/chebyshev", "api/optim", "api/problems", "api/accel",
    "testing_your_implementation", "optim_torch", "optim_optax", "dask",
    "bench_overhead",
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
    ("api/problems", ["matfun.optim.problems.rosenbrock", "matfun.optim.problems.mlp_regression",
                      "matfun.optim.problems.Problem"]),
    ("api/matfun", ["matfun.series.DAMPING_KINDS"]),
    ("api/scaling", ["matfun.scaling.SCALE_STRATEGIES"]),
    ("api/accel", ["accel.shanks", "accel.sablonniere", "accel.levin", "accel.pade",
                   "accel.accelerator", "accel.methods"]),
    ("api/exact", ["matfun.exact.abs_inv"]),
    ("api/testing", ["matfun.testing.assert_matches_oracle", "matfun.testing.DISTRIBUTIONS",
                     "matfun.testing.problems", "matfun.testing.assert_coefficients_match",
                     "matfun.testing.assert_truncated_series_matches"]),
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


# A script, stylesheet, font or @import fetched from another host would make the site
# depend on the network (and on that host's uptime and privacy policy): the mathematics
# must render from the vendored MathJax. Matched on the built files themselves.
_REMOTE_TAG = re.compile(r"<(script|link)\b[^>]*?\b(src|href)\s*=\s*[\"']?((https?:)?//[^\"' >]+)",
                         re.I)
_REMOTE_CSS = re.compile(r"@import\s+(url\()?\s*[\"']?((https?:)?//[^\"')]+)|"
                         r"url\(\s*[\"']?((https?:)?//[^\"')]+)", re.I)


def test_the_checker_sees_remote_assets():
    # Guards the patterns: each of these must be caught.
    assert _REMOTE_TAG.search('<script defer src="https://cdn.example/mathjax.js"></script>')
    assert _REMOTE_TAG.search("<link rel='stylesheet' href='//cdn.example/a.css'>")
    assert _REMOTE_CSS.search('@import "https://fonts.example/css";')
    assert _REMOTE_CSS.search("src: url(https://fonts.example/a.woff2)")
    assert not _REMOTE_TAG.search('<script src="_static/mathjax/tex-svg.js"></script>')
    assert not _REMOTE_TAG.search('<a href="https://example.org">a link is fine</a>')


def test_the_site_loads_nothing_from_the_network(built):
    _, out = built
    remote = []
    for path in sorted(out.rglob("*.html")):
        remote += [f"{path.relative_to(out)}: {m.group(3)}"
                   for m in _REMOTE_TAG.finditer(path.read_text(encoding="utf-8"))]
    for path in sorted(out.rglob("*.css")):
        remote += [f"{path.relative_to(out)}: {m.group(0)}"
                   for m in _REMOTE_CSS.finditer(path.read_text(encoding="utf-8"))]
    assert not remote, "\n".join(remote[:20])


def test_maths_is_typeset_by_the_vendored_mathjax(built):
    _, out = built
    html = (out / "mathematics.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', html, re.I)
    assert [s.split("?")[0] for s in scripts] == ["_static/mathjax/tex-svg.js"], scripts
    assert (out / "_static" / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000
    # MathJax 3's configuration (window.MathJax) comes before the component loads.
    assert html.index("window.MathJax") < html.index("_static/mathjax/tex-svg.js")


def test_every_page_has_the_site_navigation_in_its_sidebar(built):
    _, out = built
    for page in ("getting_started", "mathematics", "testing_your_implementation", "api/matfun"):
        html = (out / f"{page}.html").read_text(encoding="utf-8")
        nav = html[html.index('aria-label="Site navigation"'):]
        nav = nav[:nav.index("</nav>")]
        links = set(re.findall(r'href="([^"]*)"', nav))
        prefix = "../" if "/" in page else ""
        # Every user-guide page and the API index, the current page as "#".
        wanted = {f"{prefix}{other}.html" for other in PAGES if "/" not in other
                  and other not in ("index", page)}
        wanted.add("index.html" if prefix else "api/index.html")
        assert wanted <= links, (page, sorted(wanted - links))


def test_signatures_show_defaults_as_written(built):
    _, out = built
    for page in PAGES:
        html = (out / f"{page}.html").read_text(encoding="utf-8")
        assert "&lt;class" not in html, page  # e.g. dtype=<class 'numpy.float64'>


# --- The code examples of the user guide run and print what the pages say they print.
#
# Every ```python block of a page runs, in order, in one namespace per page (as a reader
# would paste them into one session). A block whose last lines are comments ("# ...")
# right after the code states its printed output: the test compares it with what the
# block prints. Functions named test_* that a block defines (the oracle page's
# hypothesis example) are called.

EXAMPLE_PAGES = [
    "getting_started", "accelerators", "fast_methods", "oracle", "backends",
    "testing_your_implementation", "training", "dask",
    pytest.param("optimisers", marks=pytest.mark.slow),  # trains an MLP for 100 steps (~7 s)
]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$", re.I)


def _blocks(page):
    return _BLOCK.findall((DOCS / f"{page}.md").read_text(encoding="utf-8"))


def _expected_output(block):
    """The trailing comment lines of a block (its stated output), or None."""
    lines = block.rstrip("\n").split("\n")
    tail = []
    while lines and lines[-1].startswith("# "):
        tail.insert(0, lines.pop()[2:])
    return tail or None


def _same_output(printed, expected):
    # Words must match exactly (a status such as "not accelerating", a method name).
    # Numbers within 10%: the examples are deterministic up to the summation order of
    # the BLAS, which can move a stopping decision by a term and a printed two-digit
    # value by a few percent; a wrong default, formula or status changes them by far
    # more (orders of magnitude, or different words).
    got, want = printed.split(), " ".join(expected).split()
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if _NUMBER.match(a) and _NUMBER.match(b):
            if abs(float(a) - float(b)) > 0.1 * abs(float(b)):
                return False
        elif a != b:
            return False
    return True


def test_the_pages_have_examples():
    # Guards the parser: a change of fence style must not silently skip every example.
    for page in ("getting_started", "accelerators", "fast_methods", "oracle", "optimisers",
                 "testing_your_implementation"):
        assert _blocks(page), page
        assert any(_expected_output(b) for b in _blocks(page)) or page == "oracle", page


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_code_examples_run_and_print_what_the_page_says(page, monkeypatch, tmp_path):
    import contextlib
    import io

    blocks = _blocks(page)
    if any("import torch" in block for block in blocks):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # an example that writes a file must not write into the repo
    namespace = {"__name__": f"docs_{page}"}
    for number, block in enumerate(blocks):
        before = set(namespace)
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(block, f"docs/{page}.md, python block {number}", "exec"), namespace)
            for name in sorted(set(namespace) - before):
                if name.startswith("test_") and callable(namespace[name]):
                    namespace[name]()
        expected = _expected_output(block)
        if expected is not None:
            assert _same_output(stdout.getvalue(), expected), (
                f"docs/{page}.md, python block {number} printed\n{stdout.getvalue()}"
                f"but the page says\n" + "\n".join(expected))
