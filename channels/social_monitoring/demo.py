"""Demo posts: twelve weeks of customers talking to the demo brand in public, and its agents answering.

Customers praise or complain about an agent by handle, or about the service without naming anyone; agents
answer from the brand's account and sign with their initials (``^AH``), minutes to hours later; now and then
a customer answers a signed reply, which the queue then proposes for that agent. Every id comes from ``rng``,
so a second demo run finds every post stored.

The posts are stored through :func:`.store.store_posts`, as every social entry point's are, so the demo's
replies are threaded and timed and its follow-ups proposed; hence a demo step (:func:`store_demo_posts`),
not the kernel's channel payloads, which are ingested without threading.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from random import Random

from core.channel import IdentityRef
from core.demo import BRAND_HANDLE, SEED, demo_agents, demo_roster, demo_window

from .store import store_posts

SOURCE = "demo-social"
#: What ``plaudit demo`` shows while storing the posts, one tick a week.
DEMO_STEP_LABEL = "posting the demo's social mentions"
WEEKS = 12
PER_WEEK = 25
#: What customers write, by mood; ``{agent}`` is the agent's handle. Each reads as its mood to vaderSentiment.
PRAISE = ["Big thanks to @{agent} for sorting out my refund so quickly, great service!",
          "@{agent} was brilliant, patient and friendly. Problem solved, happy customer.",
          "Shout out to @{agent}, best support I have had in years. Thank you!",
          "Really impressed, @{agent} fixed my account in minutes. Love it."]
COMPLAINTS = ["@{agent} closed my ticket and my problem is still there. Terrible, useless service.",
              "Still waiting after @{agent} promised a callback. Awful, really disappointed.",
              "@{agent} was rude and unhelpful, worst support experience ever.",
              "Three days and @{agent} still has not answered. So angry, this is awful."]
ABOUT_NOBODY = ["Your app keeps crashing at checkout, so frustrating and annoying.",
                "Love the new delivery tracking, great job!",
                "Why is the website down again? Terrible.",
                "The new opening hours are fantastic, thank you!"]
ANSWERS = {"praise": "@{customer} Thank you so much for the kind words, we will pass them on!",
           "complaint": "@{customer} We are sorry about this. Please DM us your order number and we will look "
                        "into it today.",
           "nobody": "@{customer} Thanks for letting us know. Could you DM us the details so we can help?"}
FOLLOW_UPS = ["@{brand} Still broken after your reply. Useless, I give up.",
              "@{brand} Sorted now, thanks for the quick help! Great."]


def demo_posts(now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> list[dict]:
    """Return post payloads (``SocialPostSchema``) about the demo ``agents``, oldest first.

    Only agents the demo roster knows (by helpdesk id) are named and sign replies: their handles and
    sign-offs are the identities ``core.demo`` gives them.
    """
    roster = demo_roster()
    cast = [roster[agent.external_id] for agent in agents if agent.provider == "helpdesk"
            and agent.external_id in roster]
    if not cast:
        return []
    skill = {agent.helpdesk_id: rng.uniform(0.2, 0.9) for agent in cast}
    (start, span), used = demo_window(now, WEEKS), set()
    posts: list[dict] = []

    def new_id() -> str:
        while (post_id := str(rng.randrange(10**17, 10**18))) in used:  # tweet-like ids, unique in the demo
            pass
        used.add(post_id)
        return post_id

    def post(text: str, author: str, at: datetime, **extra) -> dict:
        post_id = new_id()
        payload = {"source": SOURCE, "external_id": post_id, "posted_at": at.isoformat(), "text": text,
                   "author": author, "url": f"https://social.example/{author}/status/{post_id}",
                   "handles": sorted({word.strip(".,!?").lstrip("@") for word in text.split()
                                      if word.startswith("@")})} | extra
        posts.append(payload)
        return payload

    for _ in range(WEEKS * PER_WEEK):
        customer = f"customer{rng.randint(1, 400)}"
        at = start + timedelta(seconds=rng.uniform(0, span - 86400))
        named = rng.choice(cast) if rng.random() < 0.8 else None
        if named is None:
            mood = "nobody"
            text = rng.choice(ABOUT_NOBODY)
        else:
            mood = "praise" if rng.random() < skill[named.helpdesk_id] else "complaint"
            text = rng.choice(PRAISE if mood == "praise" else COMPLAINTS).format(agent=named.handle)
        asked = post(f"@{BRAND_HANDLE} {text}", customer, at)
        if rng.random() < 0.6:  # most posts get an answer, from the agent named or whoever is on shift
            replier = named or rng.choice(cast)
            answered_at = at + timedelta(minutes=rng.choice([rng.uniform(3, 60), rng.uniform(60, 600)]))
            reply = post(f"{ANSWERS[mood].format(customer=customer)} ^{replier.signoff}", BRAND_HANDLE,
                         answered_at, in_reply_to=asked["external_id"], brand_reply=True)
            if rng.random() < 0.1:  # the customer answers back, naming nobody but the brand
                post(rng.choice(FOLLOW_UPS).format(brand=BRAND_HANDLE), customer,
                     answered_at + timedelta(minutes=rng.uniform(5, 240)), in_reply_to=reply["external_id"])
    return sorted(posts, key=lambda payload: datetime.fromisoformat(payload["posted_at"]))


def demo_steps() -> int:
    return WEEKS


def store_demo_posts(session_factory, progress=None, now: datetime | None = None) -> int:
    """Demo step: store the demo's posts a week at a time; return how many were new (none on a re-run)."""
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with session_factory() as session:
        agents = demo_agents(session)
    # Seeded as the kernel seeds each channel's demo payloads, so the ids are the same on every run.
    posts = demo_posts(now, Random(f"{SEED}:social_monitoring"), agents)
    weeks: list[list[dict]] = [[] for _ in range(WEEKS)]
    for post in posts:  # oldest first, so each week's replies mostly find their posts already stored
        age = now - datetime.fromisoformat(post["posted_at"])
        weeks[min(WEEKS - 1, max(0, WEEKS - 1 - age // timedelta(weeks=1)))].append(post)
    stored = 0
    for batch in weeks:
        if batch:
            with session_factory() as session, session.begin():
                stored += len(store_posts(session, batch).created)
        if progress:
            progress(1)
    return stored
