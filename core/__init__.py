"""Plaudit's kernel: app factory, configuration, models, plugins, ingestion, jobs, auth and CLI.

Plugin authors need only ``hookimpl`` from here, plus the contracts in ``core.channel``, ``core.scoring``
and ``core.integrity``.
"""
from .plugins import hookimpl


def create_app(*args, **kwargs):
    """Create a Plaudit app (see :func:`core.app.create_app`)."""
    from .app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app", "hookimpl"]
