"""Hostile input: nobody gets in, and what attackers send is harmless (docs/security.md)."""
