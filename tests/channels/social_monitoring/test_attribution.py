"""Who a post is credited to: agents' sign-offs on brand replies, named handles, and tickets a post names."""
from __future__ import annotations

import csv
import html
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from channels.social_monitoring.signoffs import signoff
from channels.social_monitoring.store import store_posts
from core.channel import IdentityRef
from core.models import Feedback
from core.tickets import TicketUpdate, upsert_tickets
from tests.fixtures.app import counted_statements

# Real brand replies of the twcs sample, as written (HTML entities and all), and the sign-off each ends with.
REAL_REPLIES = [
    (("@105835 Your business means a lot to us. Please DM your name, zip code and additional details about your "
     "concern. ^RR https://t.co/znUu1VJn9r"), "RR"),
    ("@105836 Have you tried from another device, Miriam ^MM", "MM"),
    ("@105836 It's working OK from here, Miriam. Does this link help https://t.co/0m2mpH15eh ? ^MM", "MM"),
    ("@105838 Sure thing. We'll keep an eye out for your update /MU", "MU"),
    ("@105843 Please send a DM with your account information so I can look into this matter for you. -AD", "AD"),
    (("@105845 We understand how frustrating this situation can be. Please follow us by sending a DM for further "
     "assistance. Sprint Cares. -AC"), "AC"),
    ("@105842 Very sorry to hear this.  We hope you get everything sorted.   Kind Regards ^Jools", "Jools"),
    (("@105853 Hi there, if a customer buying alcohol looks under 25, they will be challenged for ID to prove "
     "they're of age. - Paige"), "Paige"),
    ("@105856 Prior to deleting your cache &amp; cookies, you'll still have a full basket :) Thanks - Mike", "Mike"),
    ("@105857 Can I ask if it's the lay out or just the speed of the website responding? TY - Chris", "Chris"),
    (("@105858 Could you DM us your name, address and email including the browser and device so we can log this. "
     "Thanks - Lee 2/2"), "Lee"),
    ("@105840 We'll be sure to pass this on. We're sorry for any inconvenience the delay has caused. 2/2 ^JR", "JR"),
    (("@105861 Please go to https://t.co/BSsgjZARTc &amp; click the link to reply back. ^Rashmi "
     "https://t.co/a2xkfCrUG1"), "Rashmi"),
    ("@105862 Packages to be delivered to UPS Store. ^ML  https://t.co/BPZKndqww1 https://t.co/wKJHDXWGRQ", "ML"),
    # A bare last word is too ambiguous to be anybody's sign-off.
    ("@105854 This helps our store colleagues judge age and protect them from making underage sales. Amanda", None),
    ("@105840 Are you travelling on the BA8733? If so, the updated departure time we have is 15:30. 1/2", None),
    ("@105839 We'd be happy to help. Send us a DM and we can start there. https://t.co/GDrqU22YpT", None),
    (("@105852 Please DM the full service address and name on the account, as we ass... "
     "https://t.co/JEZhqGdBMd"), None),
]

MADE_UP = [
    ("All the details are at tesco.com/AY", None),       # a URL path, not a sign-off
    ("See our help pages /help", None),
    ("We hope that helps - Thanks", None),               # a courtesy after the dash, nobody's name
    ("Sorry about that! -JD (1/2)", "JD"),
    ("Have a look, and let us know \u2013 Sam http://example.com/x", "Sam"),
    ("", None),
    # Endings people add after the sign-off, which hid it
    ("On its way ^JW.", "JW"), ("On its way ^JW!", "JW"), ("On its way (^JW)", "JW"),
    ("On its way ^JW \U0001F60A", "JW"), ("On its way ^JW #ACME", "JW"), ("On its way ^JW @jonas_weber", "JW"),
    ("Thanks for waiting - Mike :)", "Mike"),
    ("We are on it... thanks!", None),
]


@pytest.mark.parametrize(("text", "expected"), REAL_REPLIES + MADE_UP)
def test_signoff_of_a_reply(text, expected):
    assert signoff(html.unescape(text)) == expected


# Every brand reply (inbound False) of the twcs sample, by tweet id.
SAMPLE_SIGNOFFS = {
    "119238": "RR", "119240": None, "119243": "MM", "119245": "MM", "119246": "HP", "119248": None,
    "119252": None, "119254": "AY", "119257": "AY", "119259": "AY", "119261": "CP", "119262": None,
    "119264": None, "119267": None, "119269": None, "119271": None, "119273": None, "119275": "AD",
    "119277": "AC", "119279": None, "119281": "MU", "119284": "MU", "119286": "AY", "119288": "AY",
    "119289": None, "119293": None, "119295": "AC", "119298": None, "119300": None, "119266": "JR",
    "119303": "Jools", "119304": None, "119308": "Paige", "119311": None, "119314": "Helena", "119317": "Dani",
    "119320": "Mike", "119322": "Mike", "119323": None, "119325": None, "119327": "Rashmi", "119329": "ML",
    "119332": "Chris", "119335": "Lee",
}


def test_every_brand_reply_of_the_twcs_sample(shared_data):
    with (shared_data / "social" / "twcs_kaggle_sample.csv").open(newline="", encoding="utf-8") as handle:
        replies = {row["tweet_id"]: row["text"] for row in csv.DictReader(handle) if row["inbound"] == "False"}
    assert {tweet: signoff(html.unescape(text)) for tweet, text in replies.items()} == SAMPLE_SIGNOFFS


T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _post(external_id, text, minutes=0, **fields):
    return {"source": "feed", "external_id": external_id, "posted_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "text": text, "author": "105835", "handles": [], "brand_reply": False} | fields


def test_signed_replies_go_to_their_agent_and_handles_to_theirs(session, create_employee):
    rr = create_employee("Rita R", identities=[("social_signoff", "ChaseSupport/RR")])
    jane = create_employee("Jane", identities=[("social_handle", "jane_at_chase")])
    report = store_posts(session, [
        _post("1", "@ChaseSupport thanks @jane_at_chase!", handles=["ChaseSupport", "jane_at_chase"]),
        _post("2", "@105835 Glad to help ^RR", 5, author="ChaseSupport", brand_reply=True, in_reply_to="1"),
        _post("3", "@105835 We're on it ^ZZ", 6, author="@ChaseSupport", brand_reply=True),
        _post("4", "@105835 We're on it", 7, author="ChaseSupport", brand_reply=True),
        _post("5", "@ChaseSupport why?", 8, handles=["ChaseSupport"]),
    ])
    session.commit()
    assert not report.rejected
    items = {f.external_id: f for f in session.scalars(select(Feedback))}
    got = {ext: (f.kind, f.employee_id, f.attribution_policy, f.attributed_identity) for ext, f in items.items()}
    assert got == {
        "feed:1": ("social_mention", jane.id, "subject", "social_handle:jane_at_chase"),
        "feed:2": ("social_reply", rr.id, "author", "social_signoff:chasesupport/rr"),
        "feed:3": ("social_reply", None, None, "social_signoff:chasesupport/zz"),  # for a manager to map
        "feed:4": ("social_reply", None, None, None),
        "feed:5": ("social_mention", None, None, "social_handle:chasesupport"),
    }
    assert items["feed:2"].value == 5.0 and items["feed:2"].scale_min is None
    assert items["feed:2"].payload["sentiment"] in ("negative", "neutral", "positive")


def test_a_reply_dated_before_its_post_is_not_a_reply_in_no_time(session, create_employee, caplog):
    """Dated an hour before the post it answers, a reply was timed at 0 minutes and halved its agent's reply
    time; within a clock's skew (seconds) it is still timed, at 0."""
    create_employee("Tomasz", identities=[("social_signoff", "PlauditCare/TN")])
    store_posts(session, [
        _post("10", "@PlauditCare where is my parcel?", 60, handles=["PlauditCare"]),
        _post("11", "@105835 on its way ^TN", 0, author="PlauditCare", brand_reply=True, in_reply_to="10"),
        _post("12", "@PlauditCare and my refund?", 60, handles=["PlauditCare"]),
        _post("13", "@105835 done ^TN", 59.99, author="PlauditCare", brand_reply=True, in_reply_to="12"),
    ])
    session.commit()
    items = {f.external_id: f for f in session.scalars(select(Feedback))}
    assert items["feed:11"].value is None  # not counted in the reply time
    assert items["feed:13"].value == 0.0
    assert "social reply feed:11 is dated 60.0 minutes before the post it answers, feed:10" in caplog.text


def test_a_post_naming_a_ticket_goes_to_whoever_held_it_then(session, create_employee):
    ann = create_employee("Ann", identities=[("zendesk", "361")])
    bob = create_employee("Bob", identities=[("zendesk", "362")])
    upsert_tickets(session, [
        TicketUpdate("zendesk", "12345", assignee=IdentityRef("zendesk", "361"), assigned_at=T0),
        TicketUpdate("zendesk", "12345", assignee=IdentityRef("zendesk", "362"), assigned_at=T0 + timedelta(hours=1)),
        TicketUpdate("zendesk", "777", assignee=IdentityRef("zendesk", "999"), assigned_at=T0),  # nobody we know
    ])
    session.commit()
    report = store_posts(session, [
        _post("1", "@acme still waiting on ticket #12345", 30, ticket_provider="zendesk", handles=["acme"]),
        _post("2", "@acme case 12345 is still open!", 90, ticket_provider="zendesk", handles=["acme"]),
        _post("3", "@acme any news?", 90, ticket_ref="zendesk:12345"),
        _post("4", "@acme my case 12345, before anyone had it", -5, ticket_provider="zendesk"),
        _post("5", "@acme ticket #12345", 95),                          # no helpdesk named: the text is not read
        _post("6", "@acme in case 2 of you read this", 95, ticket_provider="zendesk"),
        _post("7", "@acme ticket #777", 95, ticket_provider="zendesk"),  # held by someone not mapped
        _post("8", "@acme hi", 95, ticket_ref="12345"),
    ])
    session.commit()
    assert [(r.index, list(r.errors)) for r in report.rejected] == [(7, ["ticket_ref"])]
    got = {f.external_id: (f.ticket_ref, f.ticket_id is not None, f.employee_id, f.attribution_policy)
           for f in session.scalars(select(Feedback))}
    assert got == {
        "feed:1": ("zendesk:12345", True, ann.id, "assignee_at_rating"),
        "feed:2": ("zendesk:12345", True, bob.id, "assignee_at_rating"),
        "feed:3": ("zendesk:12345", True, bob.id, "assignee_at_rating"),
        "feed:4": ("zendesk:12345", True, None, None),
        "feed:5": (None, False, None, None),
        "feed:6": (None, False, None, None),
        "feed:7": ("zendesk:777", True, None, None),
    }
    assert session.scalar(select(Feedback.attributed_identity).where(Feedback.external_id == "feed:2")) \
        == "zendesk:362"


def _threads(first, count):
    """``count`` threads: a post, a signed reply to it, the customer's answer, and a reply to a missing post."""
    posts = []
    for n in range(first, first + count):
        posts += [_post(f"p{n}", "@ChaseSupport help", n, handles=["ChaseSupport"]),
                  _post(f"r{n}", "@105835 On it ^RR", n + 3, author="ChaseSupport", brand_reply=True,
                        in_reply_to=f"p{n}"),
                  _post(f"f{n}", "@ChaseSupport thanks", n + 4, handles=["ChaseSupport"], in_reply_to=f"r{n}"),
                  _post(f"o{n}", "@105835 Hello ^RR", n + 5, author="ChaseSupport", brand_reply=True,
                        in_reply_to=f"gone{n}")]
    return posts


def test_threading_takes_the_same_statements_for_a_batch_of_any_size(app, session, create_employee):
    rr = create_employee("Rita R", identities=[("social_signoff", "chasesupport/rr")])
    counts = []
    for first, count in ((0, 2), (100, 20)):
        # The replies arrive first, in one batch; their posts and the answers in the next.
        batch = _threads(first, count)
        with counted_statements(app) as early:
            store_posts(session, [p for p in batch if p["external_id"][0] in "ro"])
        with counted_statements(app) as late:
            store_posts(session, [p for p in batch if p["external_id"][0] in "pf"])
        session.commit()
        counts.append((len(early), len(late)))
    assert counts[0] == counts[1]
    items = {f.external_id: f for f in session.scalars(select(Feedback))}
    assert {items[f"feed:r{n}"].value for n in (*range(2), *range(100, 120))} == {3.0}
    assert {items[f"feed:f{n}"].proposed_employee_id for n in (*range(2), *range(100, 120))} == {rr.id}
    assert {items[f"feed:o{n}"].value for n in (*range(2), *range(100, 120))} == {None}
