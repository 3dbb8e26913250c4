"""Demo survey answers: twelve weeks of CSAT, NPS and CES about the demo agents."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from random import Random

from core.channel import IdentityRef

WEEKS = 12
PER_WEEK = 150
COMMENTS = {
    "good": ["Quick and friendly, problem solved.", "Explained everything clearly.", "Went the extra mile!",
             "Very patient with my questions.", "Fixed it on the first reply."],
    "bad": ["Took days to get an answer.", "Had to repeat myself three times.", "Closed my ticket without fixing it.",
            "Felt like a canned reply.", "Transferred me around."],
}


def survey_responses(now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> Iterator[dict]:
    """Yield answers in the generic format; agents differ in skill, and a few name an agent nobody knows."""
    skill = {agent: rng.uniform(-0.9, 0.6) for agent in agents}
    start = now - timedelta(weeks=WEEKS)
    for index in range(1, WEEKS * PER_WEEK + 1):
        agent = rng.choice(agents)
        answered = start + timedelta(seconds=rng.uniform(0, WEEKS * 7 * 86400))
        kind = rng.choices(["csat", "nps", "ces"], weights=[70, 20, 10])[0]
        mood = rng.gauss(skill[agent], 1.0)
        if kind == "csat":
            rating = max(1, min(5, round(4 + mood)))
        elif kind == "nps":
            rating = max(0, min(10, round(8 + 2 * mood)))
        else:
            rating = max(1, min(7, round(5.5 + mood)))
        named = agent if rng.random() > 0.02 else IdentityRef(agent.provider, "unknown-agent")
        payload = {"response_id": f"demo-{index:05d}", "kind": kind, "rating": rating,
                   "answered_at": answered.isoformat(), "ticket_id": f"T-{40000 + index}",
                   "respondent": f"customer{rng.randint(1, 900)}@example.com",
                   "agent": {"provider": named.provider, "id": named.external_id}}
        favourable = rating >= {"csat": 4, "nps": 9, "ces": 5}[kind]
        unfavourable = rating <= {"csat": 2, "nps": 6, "ces": 3}[kind]
        # A comment agrees with its score, as customers' do: praise with a good one, a complaint with a bad one.
        if (favourable or unfavourable) and rng.random() < 0.35:
            payload["comment"] = rng.choice(COMMENTS["good" if favourable else "bad"])
        yield payload
