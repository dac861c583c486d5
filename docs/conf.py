"""Sphinx configuration of the matfun-accel documentation.

Build (strict: every warning is an error)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Document the source tree this file belongs to, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import accel  # noqa: E402

project = "matfun-accel"
author = "the matfun-accel developers"
copyright = "2026, " + author
# The version of the source being documented (not of whatever happens to be installed).
release = accel.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# benchmarks.md is written by a benchmark script and included (with its headings
# shifted) by benchmark_results.md, so it is not a page of its own.
exclude_patterns = ["_build", "benchmarks.md", "**.ipynb_checkpoints"]

# --- MyST: $...$ and $$...$$ maths, ::: fences, definition lists in the Markdown pages.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- autodoc / numpydoc
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autosummary_generate = False
# Class members are documented by autodoc's :members:; numpydoc's own member
# tables would document every method twice (duplicate-object warnings).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references inside docstrings are best effort: a "See Also" entry naming
# an object outside the documented API must not fail the strict build.
numpydoc_xref_param_type = False

# --- HTML
html_theme = "pydata_sphinx_theme"
html_title = "matfun-accel"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = ["_static"]
templates_path = ["_templates"]
# Every page's left sidebar lists the whole site (see _templates/sidebar-site-nav.html).
html_sidebars = {"**": ["sidebar-site-nav"]}

# --- Mathematics with no network access: the vendored MathJax 3 (a single file, fonts
# included as SVG paths; see _static/mathjax/README.md) instead of Sphinx's default CDN.
# tests/test_docs.py checks that no page loads a remote script or stylesheet.
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {
    # The context menu's speech and exploration options load more components, some
    # from a CDN: without the menu nothing beyond tex-svg.js is ever fetched.
    "options": {"enableMenu": False},
}


# --- Signatures: default values as a reader writes them. autodoc prints repr(), which
# gives ``dtype=<class 'numpy.float64'>`` for a type and ``<ufunc 'absolute'>`` for a
# NumPy ufunc.
_REPRS = (
    (re.compile(r"<class '([\w.]+)'>"), r"\1"),
    (re.compile(r"<ufunc '(\w+)'>"), r"numpy.\1"),
)


def _clean_signature(app, what, name, obj, options, signature, return_annotation):
    if signature:
        for pattern, replacement in _REPRS:
            signature = pattern.sub(replacement, signature)
    return signature, return_annotation


def setup(app):
    """Sphinx extension hook: clean the signatures autodoc shows."""
    app.connect("autodoc-process-signature", _clean_signature)
