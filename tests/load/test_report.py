"""The load section's verdict says which batch API figure meets the throughput goal and which misses it."""
from __future__ import annotations

from datetime import UTC, datetime

from . import report

WRK = {"duration_us": 60e6, "requests": 600, "client_errors": 0, "server_errors": 0, "socket_errors": 0,
       "timeouts": 0, "wrapped": False, "acked": 600, "sent": 604, "p50_us": 3e5, "p99_us": 5e5, "max_us": 6e5}
MACHINE = {"cpu": "a CPU", "cpus": 2, "system": "Linux", "python": "3.11", "postgres": "PostgreSQL 15",
           "commit": "abc1234"}


def _figures(one_seconds: float, concurrent_seconds: float) -> dict:
    raw = {"rows": 20000, "executemany_seconds": 1.0, "copy_seconds": 0.5}
    sent = {"items": 20000, "acknowledged": 20000, "errors": 0}
    return report.figures({"webhook": WRK, "survey": WRK}, {"ratings": 602, "answers": 602, "feedback": 2400},
                          {"rows": 2400, "executemany_seconds": 0.1, "copy_seconds": 0.05},
                          {"one": ({**sent, "clients": 1, "seconds": one_seconds}, raw),
                           "concurrent": ({**sent, "clients": 4, "seconds": concurrent_seconds}, raw)},
                          10.0, datetime(2026, 11, 26, tzinfo=UTC), MACHINE,
                          {"seconds": 60, "connections": 4, "web_processes": 4, "workers": 2})


def test_both_batch_runs_are_reported_against_their_own_raw_insert():
    page = report.markdown(_figures(4.0, 1.8))
    assert "one request at a time | 20,000 | 5,000 | 20,000 | 40,000 | **4.0x** | 8.0x |" in page
    assert "from 4 clients at once (one per web process) | 20,000 | 11,111 | 20,000 | 40,000 | **1.8x** |" in page


def test_the_verdict_names_the_figure_that_meets_the_goal_and_the_one_that_misses_it():
    page = report.markdown(_figures(4.0, 1.8))
    assert ("batch API ingestion, one request at a time, 4.0x slower than a raw INSERT of its rows "
            "(goal at most 2x)") in page.split("**Goals not met:**")[1].split("\n\n")[0]
    assert "**Goal met:** batch API ingestion from 4 clients at once 1.8x a raw INSERT of its rows" in page
    both_missed = report.markdown(_figures(4.0, 2.5))
    assert "**Goal met:**" not in both_missed
    assert "batch API ingestion from 4 clients at once 2.5x slower" in both_missed
