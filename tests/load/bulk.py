"""API ingestion at its widest: survey responses sent to ``POST /api/v1/channels/post_ticket_survey/feedback/batch``
in batches of PLAUDIT_INGEST_BATCH_LIMIT, timed until every batch is acknowledged, to hold against a raw bulk
INSERT of the rows it stored (:mod:`tests.load.baseline`)."""
from __future__ import annotations

import json
import random
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from .seed import AGENTS, NAMESPACE, agent_email
from .stack import plaudit

BATCH = 1000  # PLAUDIT_INGEST_BATCH_LIMIT's default
PATH = "/api/v1/channels/post_ticket_survey/feedback/batch"


def api_token(environment: dict) -> str:
    """A service account holding hr, and a feedback:write token for it, made with the real commands."""
    plaudit(environment, "users", "create", "bridge@load.example", "--name", "Load bridge", "--role", "hr",
            "--service")
    out = plaudit(environment, "tokens", "create", "bridge@load.example", "--name", "load test",
                  "--scope", "feedback:write")
    return out.strip().splitlines()[-1]


def payloads(count: int, seed: int = 9) -> list[dict]:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    return [{"response_id": f"{NAMESPACE}:bulk:{n}", "kind": "csat", "rating": rng.randint(1, 5),
             "answered_at": (now - timedelta(minutes=rng.randint(1, 5000))).isoformat(),
             "comment": rng.choice(["Quick.", "Slow, but fixed.", None]),
             "respondent": f"customer{rng.randrange(5000)}@example.org",
             "agent": {"provider": "email", "id": agent_email(rng.randrange(AGENTS))}} for n in range(count)]


def send(base_url: str, token: str, items: list[dict]) -> dict:
    """POST the items in batches, one after another; return the seconds taken and what was acknowledged."""
    created = errors = 0
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        body = json.dumps(items[start:start + BATCH]).encode()
        request = urllib.request.Request(base_url + PATH, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                created += len(json.load(response)["created"])
        except OSError:  # HTTPError included: a refused batch is an error, its items unacknowledged
            errors += 1
    return {"items": len(items), "seconds": time.perf_counter() - started, "acknowledged": created,
            "errors": errors}
