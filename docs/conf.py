"""Sphinx configuration of the matfun-accel documentation.

Build (strict: every warning is an error)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib.metadata

project = "matfun-accel"
author = "the matfun-accel authors"
copyright = "2024-2025, " + author
release = importlib.metadata.version("matfun-accel")
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
html_static_path: list[str] = []
