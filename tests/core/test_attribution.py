"""Attribution with candidates: a basis may offer several identities, tried in order, one query a provider."""
from __future__ import annotations

from datetime import UTC, datetime

from core import hookimpl
from core.attribution import attribute
from core.channel import FeedbackDraft, IdentityRef
from tests.fixtures.app import counted_statements

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
POLICY = ("subject", "assignee_at_solve", "author")


def _draft(external_id, **identities):
    return FeedbackDraft(kind="social_mention", external_id=external_id, occurred_at=NOW, identities=identities)


def _handles(*names):
    return [IdentityRef("social_handle", name) for name in names]


def test_the_first_candidate_that_is_an_employee_wins(app, session, create_employee):
    jane = create_employee("Jane", identities=[("social_handle", "jane_at_apple")])
    max_ = create_employee("Max", identities=[("social_handle", "max_at_apple"), ("zendesk", "7")])
    plugins = app.extensions["plaudit.plugins"]
    drafts = [
        _draft("a", subject=_handles("AppleSupport", "Jane_At_Apple", "max_at_apple")),  # brand first, then Jane
        _draft("b", subject=_handles("max_at_apple", "jane_at_apple")),                   # order decides
        _draft("c", subject=_handles("AppleSupport", "someone")),                         # nobody: first kept
        _draft("d", subject=IdentityRef("social_handle", "jane_at_apple")),               # one ref, as before
        _draft("e", assignee_at_solve=IdentityRef("zendesk", "7"), author=_handles("jane_at_apple")),
        _draft("f", subject=[]),                                                           # no candidate at all
    ]

    with counted_statements(app) as statements:
        results = attribute(session, drafts, POLICY, plugins)

    assert [(r.employee_id, r.policy, str(r.identity) if r.identity else None) for r in results] == [
        (jane.id, "subject", "social_handle:jane_at_apple"),
        (max_.id, "subject", "social_handle:max_at_apple"),
        (None, None, "social_handle:applesupport"),
        (jane.id, "subject", "social_handle:jane_at_apple"),
        (max_.id, "assignee_at_solve", "zendesk:7"),
        (None, None, None),
    ]
    assert results[0].team_id == jane.team_id
    # One query per provider (social_handle, zendesk), however many candidates and drafts.
    assert sum("employee_identities" in s for s in statements) == 2
    assert not any(s.startswith("SELECT") and "employee_identities" not in s for s in statements)


def test_a_name_matches_however_its_accents_are_encoded(app, session, create_employee):
    """Zoë stored composed did not match "Zoe" + U+0308 from another system's export, though both looked alike
    in the queue."""
    composed, decomposed = "Zo\u00eb \u00c5ngstr\u00f6m", "Zoe\u0308 A\u030angstro\u0308m"
    zoe = create_employee("Zoë", identities=[("name", decomposed)])  # stored from a decomposed file
    assert zoe.identities[0].external_id == composed
    plugins = app.extensions["plaudit.plugins"]
    drafts = [FeedbackDraft(kind="csat", external_id=ext, occurred_at=NOW,
                            identities={"assignee_at_solve": IdentityRef("name", spelt)})
              for ext, spelt in (("a", composed), ("b", decomposed))]
    results = attribute(session, drafts, POLICY, plugins)
    assert [r.employee_id for r in results] == [zoe.id, zoe.id]


class Directory:
    """A directory that knows one handle no EmployeeIdentity maps, and records what it was asked."""

    def __init__(self):
        self.employee_id = None
        self.asked = []

    @hookimpl
    def resolve_employee(self, session, provider, external_id, draft):
        self.asked.append(external_id)
        return self.employee_id if external_id == "from_directory" else None


def test_the_hook_is_asked_only_about_candidates_that_could_still_win(make_app, create_employee):
    directory = Directory()
    app = make_app(extra_plugins={"directory": directory})
    with app.app_context():
        from core.db import get_session

        session = get_session()
        jane = create_employee("Jane", identities=[("social_handle", "jane_at_apple")])
        dir_emp = create_employee("Dora")
        directory.employee_id = dir_emp.id
        drafts = [_draft("a", subject=_handles("brand", "from_directory", "jane_at_apple", "after_jane")),
                  _draft("b", subject=_handles("nobody", "brand"))]
        results = attribute(session, drafts, POLICY, app.extensions["plaudit.plugins"])

    # "from_directory" comes before Jane's handle, so it wins; nothing after Jane's handle is asked about.
    assert (results[0].employee_id, str(results[0].identity)) == (dir_emp.id, "social_handle:from_directory")
    assert (results[1].employee_id, str(results[1].identity)) == (None, "social_handle:nobody")
    assert sorted(directory.asked) == ["brand", "from_directory", "nobody"]
    assert jane.id != dir_emp.id


def test_an_employee_is_known_by_their_own_address_without_an_identity_row(app, session, create_employee):
    """A helpdesk trigger names the assignee by {{ticket.assignee.email}}: nobody had an 'email' identity row,
    so every such item waited unattributed. A row naming the address for someone else still wins."""
    ann = create_employee("Ann", email="ann@example.com")
    bob = create_employee("Bob", email="bob@example.com")
    carol = create_employee("Carol", email="carol@example.com", identities=[("email", "bob@example.com")])
    plugins = app.extensions["plaudit.plugins"]
    drafts = [_draft("a", assignee_at_solve=IdentityRef("email", "Ann@Example.com")),
              _draft("b", assignee_at_solve=IdentityRef("email", "bob@example.com")),
              _draft("c", assignee_at_solve=IdentityRef("email", "nobody@example.com"))]
    results = attribute(session, drafts, POLICY, plugins)
    assert [r.employee_id for r in results] == [ann.id, carol.id, None]
    assert bob.id not in {r.employee_id for r in results}
