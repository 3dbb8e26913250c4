"""Server-rendered pages, one module per area; every module here with a ``bp`` blueprint is registered."""
from __future__ import annotations

import importlib
import pkgutil


def blueprints():
    """Yield the blueprint of every page module in this package, in name order."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        blueprint = getattr(importlib.import_module(f"{__name__}.{module.name}"), "bp", None)
        if blueprint is not None:
            yield blueprint
