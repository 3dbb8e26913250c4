"""The load test (``python -m tests.load.run``): the Procfile's stack under webhook and survey load."""
