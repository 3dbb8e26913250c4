"""Ingestion load for fault tests: threads posting survey answers through the real API, counting answers."""
from __future__ import annotations

import queue
import threading
import time
from collections import Counter

from core.db import transaction
from core.models import ApiToken, Employee, EmployeeIdentity, Team, User

URL = "/api/v1/channels/post_ticket_survey/feedback"
#: Ann's helpdesk id: every answer is hers, so a low one alerts her manager, Lea.
AGENT = ("helpdesk", "101")
#: The admin who owns the API token can also sign in, to open pages.
BOT_EMAIL, BOT_PASSWORD = "bot@example.com", "a password for the fault tests"


def build_org(app) -> str:
    """Lea leads Support, where Ann works; an admin's API token for ingestion is returned."""
    with app.app_context(), transaction() as session:
        support = Team(name="Support", slug="support")
        lea = Employee(name="Lea Lead", email="lea@example.com", team=support)
        ann = Employee(name="Ann Agent", email="ann@example.com", team=support,
                       identities=[EmployeeIdentity(provider=AGENT[0], external_id=AGENT[1])])
        bot = User(email=BOT_EMAIL, name="Bot", active=True)
        bot.roles = ["admin"]
        bot.set_password(BOT_PASSWORD)
        token, plain = ApiToken.issue(bot, "faults", ["feedback:write"])
        session.add_all([support, lea, ann, bot, token])
        session.flush()
        support.manager_id = lea.id
    return plain


class Load:
    """Post ``payloads`` from ``threads`` test clients, each payload until it is acknowledged or given up.

    :param retry_unavailable: answer a 503 as a client honouring Retry-After does: wait, send again.
    """

    def __init__(self, app, token: str, payloads: list[dict], threads: int = 4, retry_unavailable: bool = False,
                 retry_wait: float = 0.2):
        self.app, self.token, self.threads = app, token, threads
        self.retry_unavailable, self.retry_wait = retry_unavailable, retry_wait
        self.todo: queue.Queue = queue.Queue()
        for payload in payloads:
            self.todo.put(payload)
        self.sent = len(payloads)
        self.lock = threading.Lock()
        self.requests = 0
        self.statuses: Counter = Counter()
        self.acknowledged: dict[str, tuple[int, float]] = {}  # response_id -> (status, when)
        self.unavailable: list[tuple[float, dict, dict]] = []  # (when, headers, body) of each 503
        self.unexpected: list[tuple[int, str]] = []
        self._workers = [threading.Thread(target=self._post, daemon=True) for _ in range(threads)]

    def start(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def join(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0))
        assert not any(w.is_alive() for w in self._workers), "the load did not finish in time"

    def wait_for_acknowledged(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} of {count} acknowledged"
            time.sleep(0.01)

    def _post(self) -> None:
        client = self.app.test_client()
        headers = {"Authorization": f"Bearer {self.token}"}
        while True:
            try:
                payload = self.todo.get_nowait()
            except queue.Empty:
                return
            while True:
                response = client.post(URL, json=payload, headers=headers)
                now = time.monotonic()
                with self.lock:
                    self.requests += 1
                    self.statuses[response.status_code] += 1
                    if response.status_code in (200, 201):
                        self.acknowledged[payload["response_id"]] = (response.status_code, now)
                    elif response.status_code == 503:
                        self.unavailable.append((now, dict(response.headers), response.get_json(silent=True)))
                    else:
                        self.unexpected.append((response.status_code, response.get_data(as_text=True)[:300]))
                if response.status_code == 503 and self.retry_unavailable:
                    time.sleep(self.retry_wait)
                    continue
                break
