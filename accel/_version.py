"""The version of the matfun-accel distribution, which ships both ``accel`` and ``matfun``.

The single source: ``pyproject.toml`` reads it (``[tool.setuptools.dynamic]``) and
``matfun`` re-exports it. It lives in ``accel`` because ``accel`` is the bottom layer
(it never imports ``matfun``).
"""

__version__ = "0.2.0.dev0"
