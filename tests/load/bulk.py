"""API ingestion at its widest: survey responses sent to ``POST /api/v1/channels/post_ticket_survey/feedback/batch``
in batches of PLAUDIT_INGEST_BATCH_LIMIT, timed until every batch is acknowledged, to hold against a raw bulk
INSERT of the rows it stored (:mod:`tests.load.baseline`): once one request at a time, and once from as many
clients at once as the Procfile has web processes, as a bridge would send with a connection per worker."""
from __future__ import annotations

import json
import random
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from .seed import AGENTS, agent_email
from .stack import plaudit

BATCH = 1000  # PLAUDIT_INGEST_BATCH_LIMIT's default
PREFIX = "bridge"  # the batch API's response ids begin so
PATH = "/api/v1/channels/post_ticket_survey/feedback/batch"


def api_token(environment: dict) -> str:
    """A service account holding hr, and a feedback:write token for it, made with the real commands."""
    plaudit(environment, "users", "create", "bridge@load.example", "--name", "Load bridge", "--role", "hr",
            "--service")
    out = plaudit(environment, "tokens", "create", "bridge@load.example", "--name", "load test",
                  "--scope", "feedback:write")
    return out.strip().splitlines()[-1]


def payloads(count: int, seed: int = 9, run: str = "bulk") -> list[dict]:
    """``count`` survey responses with ids ``bridge:<run>:<n>``, from 5,000 customers about the seeded agents.

    Not under the generic integration's namespace: ids there are its webhook's, which an API token may not take."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    return [{"response_id": f"{PREFIX}:{run}:{n}", "kind": "csat", "rating": rng.randint(1, 5),
             "answered_at": (now - timedelta(minutes=rng.randint(1, 5000))).isoformat(),
             "comment": rng.choice(["Quick.", "Slow, but fixed.", None]),
             "respondent": f"customer{rng.randrange(5000)}@example.org",
             "agent": {"provider": "email", "id": agent_email(rng.randrange(AGENTS))}} for n in range(count)]


def send(base_url: str, token: str, items: list[dict], clients: int = 1) -> dict:
    """POST the items in batches, each of ``clients`` clients sending its batches one after another; return the
    seconds from the first request until the last batch was acknowledged, and what was acknowledged."""
    batches = [items[start:start + BATCH] for start in range(0, len(items), BATCH)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(lambda share: [_post(base_url, token, batch) for batch in share],
                                [batches[client::clients] for client in range(clients)]))
    seconds = time.perf_counter() - started
    created = [count for share in answers for count in share]
    return {"items": len(items), "clients": clients, "seconds": seconds,
            "acknowledged": sum(count for count in created if count is not None),
            "errors": sum(count is None for count in created)}


def _post(base_url: str, token: str, batch: list[dict]) -> int | None:
    """POST one batch; return how many items it created, or None if it was refused or failed."""
    request = urllib.request.Request(base_url + PATH, data=json.dumps(batch).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return len(json.load(response)["created"])
    except OSError:  # HTTPError included: a refused batch is an error, its items unacknowledged
        return None
