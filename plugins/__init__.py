"""Built-in plugins that are not channels: scoring rules, integrity checks, notifiers."""
