"""Turning marshmallow's nested error messages into one line a person can read."""
from __future__ import annotations

from typing import Any


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """Return ``field.sub: message`` strings for a marshmallow ``messages`` structure."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            lines.extend(flatten_errors(value, name))
        return lines
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{prefix or 'payload'}: {' '.join(errors)}"]
    if isinstance(errors, list):
        return [line for e in errors for line in flatten_errors(e, prefix)]
    return [f"{prefix or 'payload'}: {errors}"]
