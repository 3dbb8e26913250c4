"""Built-in channels, one package each; every one is an ordinary plugin registered by module name."""
