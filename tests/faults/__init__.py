"""Faults: Redis stopped mid-load, PostgreSQL restarted, a worker killed, a webhook replayed out of order."""
