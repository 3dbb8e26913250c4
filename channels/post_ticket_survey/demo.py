"""Demo survey answers: twelve weeks of CSAT, NPS and CES about the demo agents, and the tickets they rate."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import select

from core import local_time
from core.channel import IdentityRef
from core.demo import SEED, demo_roster, demo_window
from core.models import Feedback
from core.tickets import TicketUpdate, upsert_tickets

WEEKS = 12
PER_WEEK = 150
#: The demo helpdesk, which the answers' tickets belong to.
DESK = "demo"
#: Ticket categories, and how often each comes with a good and with a poor answer: refunds and bugs go worse
#: than how-to questions, so the case mix and the training needs by category have something to show.
CATEGORIES = {"How-to": (30, 10), "Billing": (25, 20), "Login": (20, 15), "Refunds": (10, 30),
              "Bug report": (15, 25)}
TICKET_BATCH = 300
#: The share of each kind among an agent's answers in a week: NPS and CES too few for a week's score, enough
#: for a month's (NPS nearly always, CES about every other month).
KINDS = {"csat": 0.68, "nps": 0.2, "ces": 0.12}
#: The fewest CSATs an agent has in a complete week: one more than the demo guideline's minimum, so a duplicate
#: the integrity checks quarantine leaves them ranked.
MIN_CSAT = 6
#: Answers for the integrity checks to quarantine, besides the weeks' (:func:`_suspicious`).
SUSPICIOUS = 2
#: How often an NPS or CES answer names an agent nobody knows, for the attribution queue to show.
UNKNOWN_AGENT = 0.06
COMMENTS = {
    "good": ["Quick and friendly, problem solved.", "Explained everything clearly.", "Went the extra mile!",
             "Very patient with my questions.", "Fixed it on the first reply."],
    "bad": ["Took days to get an answer.", "Had to repeat myself three times.", "Closed my ticket without fixing it.",
            "Felt like a canned reply.", "Transferred me around."],
}


def survey_responses(now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> Iterator[dict]:
    """Yield answers in the generic format; agents differ in skill, a few name an agent nobody knows, and two
    are for the integrity checks to quarantine (:func:`_suspicious`)."""
    answers = list(_answers(now, rng, agents))
    yield from answers
    yield from _suspicious(answers, agents)


def _suspicious(answers: list[dict], agents: Sequence[IdentityRef]) -> Iterator[dict]:
    """A customer answering a second time about the same agent within the hour, and an agent rating themself
    from their own address: the integrity queue was empty in the demo, and HR had nothing to try it on."""
    roster = demo_roster()
    known = {agent.external_id for agent in agents}
    middle = next(answer for answer in answers[len(answers) // 2:]
                  if answer["kind"] == "csat" and answer["agent"]["id"] in known)
    answered = datetime.fromisoformat(middle["answered_at"])
    again = {key: value for key, value in middle.items() if key != "comment"}  # a complaint would not fit a 5
    yield {**again, "response_id": "demo-again", "ticket_id": f"{DESK}:T-39998", "rating": 5,
           "answered_at": (answered + timedelta(minutes=40)).isoformat()}
    yield {"response_id": "demo-self", "kind": "csat", "rating": 5, "ticket_id": f"{DESK}:T-39999",
           "answered_at": (answered + timedelta(minutes=50)).isoformat(),
           "respondent": roster[middle["agent"]["id"]].email, "agent": middle["agent"]}


def _answers(now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> Iterator[dict]:
    skill = {agent: rng.uniform(-0.9, 0.6) for agent in agents}
    for index, (answered, agent, kind) in enumerate(_schedule(now, rng, agents), 1):
        mood = rng.gauss(skill[agent], 1.0)
        if kind == "csat":
            rating = max(1, min(5, round(4 + mood)))
        elif kind == "nps":
            rating = max(0, min(10, round(8 + 2 * mood)))
        else:
            rating = max(1, min(7, round(5.5 + mood)))
        # Only answers the ranking can spare name an agent nobody knows: an NPS or a CES, never one of the
        # CSATs an agent's week stands on.
        named = agent if kind == "csat" or rng.random() > UNKNOWN_AGENT else IdentityRef(agent.provider,
                                                                                           "unknown-agent")
        payload = {"response_id": f"demo-{index:05d}", "kind": kind, "rating": rating,
                   "answered_at": answered.isoformat(), "ticket_id": f"{DESK}:T-{40000 + index}",
                   "respondent": f"customer{rng.randint(1, 900)}@example.com",
                   "agent": {"provider": named.provider, "id": named.external_id}}
        # Favourable as the report tells praise (appraisal.comments.positive): the top of the scale.
        favourable = rating >= {"csat": 4, "nps": 9, "ces": 6}[kind]
        unfavourable = rating <= {"csat": 2, "nps": 6, "ces": 3}[kind]
        # A comment agrees with its score, as customers' do: praise with a good one, a complaint with a bad one.
        if (favourable or unfavourable) and rng.random() < 0.35:
            payload["comment"] = rng.choice(COMMENTS["good" if favourable else "bad"])
        yield payload


def _schedule(now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> list[tuple[datetime, IdentityRef, str]]:
    """When each answer came, about whom, of which kind: ``WEEKS * PER_WEEK`` answers over the demo's weeks
    and the days of this one, each week's shared evenly among the agents, of kinds in the mix of ``KINDS``.

    Drawn at random for the whole span, an agent had a week with too few CSATs now and then (the README's
    employee login, some days, in the latest week), and whoever showed the demo could not say why.
    """
    start, span = demo_window(now, WEEKS)
    this_week = local_time.midnight(local_time.day_of(start) + timedelta(weeks=WEEKS))
    # This week so far gets its share of the answers by its length; the complete weeks share the rest.
    current = round(WEEKS * PER_WEEK * (now - this_week).total_seconds() / span)
    rest = WEEKS * PER_WEEK - current
    per_week = [rest // WEEKS + (week < rest % WEEKS) for week in range(WEEKS)] + [current]
    schedule = []
    for week, count in enumerate(per_week):
        begins = local_time.midnight(local_time.day_of(start) + timedelta(weeks=week))
        ends = min(now, local_time.midnight(local_time.day_of(begins) + timedelta(weeks=1)))
        order = list(agents)
        rng.shuffle(order)
        dealt = [order[number % len(order)] for number in range(count)]
        for agent in order:
            kinds = _kinds(rng, dealt.count(agent))
            schedule += [(begins + (ends - begins) * rng.random(), agent, kind) for kind in kinds]
    return schedule


def _kinds(rng: Random, answers: int) -> list[str]:
    """The kinds of an agent's ``answers`` in a week, in random order: NPS and CES in their shares of ``KINDS``
    (rounded up or down at random, so a month's add up to them), the rest CSAT, at least ``MIN_CSAT``."""
    others = {kind: int(answers * share + rng.random()) for kind, share in KINDS.items() if kind != "csat"}
    while answers - sum(others.values()) < min(MIN_CSAT, answers) and any(others.values()):
        others[max(others, key=others.get)] -= 1
    kinds = [kind for kind, count in others.items() for _ in range(count)]
    kinds += ["csat"] * (answers - len(kinds))
    rng.shuffle(kinds)
    return kinds


def demo_ticket_steps() -> int:
    return WEEKS * PER_WEEK + SUSPICIOUS


def open_demo_tickets(session_factory, progress=None) -> int:
    """Demo step: store the helpdesk tickets the demo's answers rate (category, times, who solved them), as a
    helpdesk's deliveries would; the answers are linked to them. Return how many were new (none on a re-run)."""
    with session_factory() as session:
        answers = session.execute(
            select(Feedback.ticket_ref, Feedback.kind, Feedback.value, Feedback.occurred_at, Feedback.payload)
            .where(Feedback.channel == "post_ticket_survey", Feedback.ticket_ref.like(f"{DESK}:%"),
                   Feedback.ticket_id.is_(None))
            .order_by(Feedback.ticket_ref)).all()
    updates = [_ticket(*answer) for answer in answers]
    if progress and not updates:  # a re-run: every answer's ticket is stored already
        progress(demo_ticket_steps())
    for start in range(0, len(updates), TICKET_BATCH):
        with session_factory() as session, session.begin():
            upsert_tickets(session, updates[start:start + TICKET_BATCH])
        if progress:
            progress(len(updates[start:start + TICKET_BATCH]))
    return len(updates)


def _ticket(ticket_ref: str, kind: str, rating: float, answered: datetime, payload: dict) -> TicketUpdate:
    """The ticket an answer rates: solved by the agent it names, some minutes to two days before the answer."""
    rng = Random(f"{SEED}:{ticket_ref}")  # the same ticket on every run
    good = rating >= {"csat": 4, "nps": 9, "ces": 5}[kind]
    category = rng.choices(list(CATEGORIES), weights=[w[0 if good else 1] for w in CATEGORIES.values()])[0]
    solved = answered - timedelta(minutes=rng.uniform(5, 2 * 24 * 60))
    opened = solved - timedelta(minutes=rng.lognormvariate(6.2, 1.0))
    agent = payload.get("agent") or {}
    return TicketUpdate(provider=DESK, external_id=ticket_ref.partition(":")[2], subject=f"{category} question",
                        category=category, status="solved", opened_at=opened,
                        first_response_at=opened + (solved - opened) * rng.uniform(0.05, 0.5), resolved_at=solved,
                        assignee=IdentityRef(agent["provider"], agent["id"]) if agent else None,
                        assigned_at=opened)
