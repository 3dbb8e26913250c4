"""The twcs sample, imported as a brand would: replies credited by sign-off, reply times, follow-ups proposed.

Every number here is worked out by hand from the file's ``created_at`` cells (../shared/data/social).
"""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from channels.social_monitoring import imports
from channels.social_monitoring.imports import import_posts
from core.models import Feedback

# Reply -> the customer post it answers, both times as in the file, and the minutes between.
REPLY_MINUTES = {
    "119238": 25 + 40 / 60,       # ChaseSupport ^RR 13:25:49 <- 119239 13:00:09 (Oct 11)
    "119243": 7 + 53 / 60,        # VirginTrains ^MM 15:25:14 <- 119241 15:17:21 (Oct 10)
    "119308": 2 + 1 / 60,         # Tesco - Paige   13:33:07 <- 119310 13:31:06
    "119320": 1 + 51 / 60,        # Tesco Thanks - Mike 13:45:00 <- 119318 13:43:09
    "119254": 47 + 56 / 60,       # SpotifyCares /AY 13:41:25 <- 119256 12:53:29
    "119264": 173 + 48 / 60,      # British_Airways "1/2" 13:36:31 <- 119265 10:42:43
    "119266": 174 + 32 / 60,      # British_Airways "2/2 ^JR" 13:37:15 <- 119265 10:42:43: every reply counts
    "119335": 92 + 49 / 60,       # Tesco Thanks - Lee 2/2 15:38:07 <- 119333 14:05:18
}
#: VirginTrains' ^HP reply answers 119247, which the sample does not hold.
ORPHAN_REPLY = "119246"

SIGNOFFS = {"rita": "ChaseSupport/RR", "mo": "virgintrains/mm", "mike": "Tesco/Mike", "ayo": "spotifycares/ay",
            "jo": "british_airways/jr"}
SIGNED_BY = {"rita": {"119238"}, "mo": {"119243", "119245"}, "mike": {"119320", "119322"},
             "ayo": {"119254", "119257", "119259", "119286", "119288"}, "jo": {"119266"}}
#: Customers' posts answering a signed reply of a mapped agent: the agent is proposed, not credited.
FOLLOW_UPS = {"119244": "mo", "119321": "mike", "119255": "ayo", "119258": "ayo", "119260": "ayo",
              "119287": "ayo", "119302": "jo"}


@pytest.fixture
def sample(shared_data):
    path = shared_data / "social" / "twcs_kaggle_sample.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture
def agents(create_employee):
    people = {name: create_employee(name.title(), identities=[("social_signoff", signoff)])
              for name, signoff in SIGNOFFS.items()}
    # 119256 names @76495 first, then @91226: the second is the employee's.
    people["hana"] = create_employee("Hana", identities=[("social_handle", "91226")])
    return people


def _posts(session, source):
    return {f.external_id.split(":", 1)[1]: f for f in session.scalars(
        select(Feedback).where(Feedback.channel == "social_monitoring", Feedback.external_id.like(f"{source}:%")))}


def test_brand_replies_credited_by_signoff_and_timed_from_their_post(app, session, sample, agents):
    factory = app.extensions["plaudit.db"].sessionmaker
    with sample.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    report = import_posts(factory, sample, "twcs", "twcs")
    assert (report.created, report.duplicates, report.rejected) == (len(rows), 0, [])
    posts = _posts(session, "twcs")
    ids = {name: person.id for name, person in agents.items()}

    replies = {tweet: f for tweet, f in posts.items() if f.kind == "social_reply"}
    assert set(replies) == {row["tweet_id"] for row in rows if row["inbound"] == "False"}
    for name, tweets in SIGNED_BY.items():
        credited = {t for t, f in replies.items() if f.employee_id == ids[name]}
        assert credited == tweets, name
        assert {replies[t].attribution_policy for t in tweets} == {"author"}
    # Signed but unmapped, and unsigned: both wait, the former with the identity a manager can map.
    assert (replies["119308"].employee_id, replies["119308"].attributed_identity) == (None, "social_signoff:tesco/paige")
    assert (replies["119240"].employee_id, replies["119240"].attributed_identity) == (None, None)
    assert (replies["119311"].employee_id, replies["119311"].attribution_policy) == (None, None)  # "... Amanda"

    for tweet, minutes in REPLY_MINUTES.items():
        assert replies[tweet].value == pytest.approx(minutes, abs=1e-9), tweet
    assert replies[ORPHAN_REPLY].value is None
    # A customer's post naming a mapped handle after another is credited; one naming nobody mapped waits.
    assert (posts["119256"].employee_id, posts["119256"].attribution_policy,
            posts["119256"].attributed_identity) == (ids["hana"], "subject", "social_handle:91226")
    assert (posts["119237"].employee_id, posts["119237"].attributed_identity) == (None, "social_handle:applesupport")
    # A follow-up to a signed reply waits in the queue, with the agent proposed.
    proposed = {t: f.proposed_employee_id for t, f in posts.items() if f.proposed_employee_id is not None}
    assert proposed == {tweet: ids[name] for tweet, name in FOLLOW_UPS.items()}
    assert all(posts[t].employee_id is None and posts[t].attribution_policy is None for t in FOLLOW_UPS)
    assert posts["119310"].proposed_employee_id is None  # it answers the unsigned "... Amanda" reply
    session.rollback()

    again = import_posts(factory, sample, "twcs", "twcs")
    assert (again.created, again.duplicates) == (0, len(rows))
    assert {t: (f.value, f.employee_id, f.proposed_employee_id) for t, f in _posts(session, "twcs").items()} == {
        t: (f.value, f.employee_id, f.proposed_employee_id) for t, f in posts.items()}


def test_reversed_in_small_batches_threads_the_same(app, session, sample, agents, tmp_path, monkeypatch):
    """Replies now arrive before the posts they answer, in earlier transactions: the outcome is the same."""
    factory = app.extensions["plaudit.db"].sessionmaker
    with sample.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    reversed_copy = tmp_path / "reversed.csv"
    with reversed_copy.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *reversed(rows)])

    import_posts(factory, sample, "twcs", "forward")
    monkeypatch.setattr(imports, "BATCH", 7)
    assert import_posts(factory, reversed_copy, "twcs", "backward").created == len(rows)

    def outcome(source):
        return {t: (f.kind, f.value, f.employee_id, f.attribution_policy, f.proposed_employee_id)
                for t, f in _posts(session, source).items()}

    forward, backward = outcome("forward"), outcome("backward")
    assert backward == forward
    assert {t: v[1] for t, v in backward.items() if t in REPLY_MINUTES} == pytest.approx(REPLY_MINUTES)
    assert backward[ORPHAN_REPLY][1] is None
    assert {t for t, v in backward.items() if v[4] is not None} == set(FOLLOW_UPS)
