"""The benchmark organisation, seeded in SQL: 100 teams, 2,000 employees, tickets and feedback over a year.

Every pseudo-random choice is ``bench_rand(row number, purpose)``, an md5 of a fixed seed, the purpose and the
row number, so the data depend on nothing but the row number: the same on every machine and every run, and
seeding to 300,000 items after 100,000 adds rows 100,001 to 300,000 and leaves the first 100,000 as they were.

Item ``i`` belongs to ticket ``(i + 1) / 2``: odd items are the ticket's survey answer (80% CSAT on 1-5, 20%
NPS on 0-10), even items one of its timings (first response or resolution, in minutes), so the kinds come out
40/10/25/25%. An employee's skill and a ticket's category move the answers, so the metrics differ between
employees and the case mix has something to show. 3% of items are unattributed (the queue), 3% quarantined
(each with its open flag). Each ticket has its assignment history (one in ten was reassigned once).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

import psycopg

SEED = "plaudit-benchmark-1"
TEAMS = 100
EMPLOYEES = 2000
#: The year the feedback spreads over; the appraisal period is exactly this year.
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2025, 12, 31)
CATEGORIES = ["billing", "login", "shipping", "returns", "account", "bug", "how_to", "refund", "delivery_delay",
              "other"]
CHUNK = 50_000

#: Uniform in [0, 1) from a row number and a purpose: md5, so it is the same on every PostgreSQL version.
#: Only immutable operators (``n::text``, not ``||`` on a bigint), so the planner inlines it. The CTEs below
#: are MATERIALIZED: inlined, every mention of a derived column would call it again.
RANDOM_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bench_rand(n bigint, purpose text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ('x' || substr(md5('{SEED}:' || purpose || ':' || n::text), 1, 8))::bit(32)::bigint / 4294967296.0::float8 $$
"""

ORGANISATION = [
    """INSERT INTO teams (id, name, slug, created_at)
       SELECT t, 'Team ' || lpad(t::text, 3, '0'), 'team-' || lpad(t::text, 3, '0'), %(created)s
       FROM generate_series(1, %(teams)s) AS t""",
    """INSERT INTO employees (id, name, email, team_id, active, created_at)
       SELECT e, 'Agent ' || lpad(e::text, 4, '0'), 'agent' || lpad(e::text, 4, '0') || '@bench.plaudit.test',
              (e - 1) %% %(teams)s + 1, true, %(created)s
       FROM generate_series(1, %(employees)s) AS e""",
    # The first employee of each team leads it.
    "UPDATE teams SET manager_id = id",
    "SELECT setval(pg_get_serial_sequence('teams', 'id'), %(teams)s)",
    "SELECT setval(pg_get_serial_sequence('employees', 'id'), %(employees)s)",
]

TICKETS = """
WITH base AS MATERIALIZED (
    SELECT t,
           1 + floor(%(employees)s * bench_rand(t, 'assignee'))::int AS assignee,
           bench_rand(t, 'category') AS category_u,
           bench_rand(t, 'uncategorised') AS uncategorised_u,
           bench_rand(t, 'contact') AS contact_u,
           %(start)s::timestamp + make_interval(secs => bench_rand(t, 'opened') * 358 * 86400) AS opened,
           -- Box-Muller: two normal deviates from two uniforms
           sqrt(-2 * ln(greatest(bench_rand(t, 'radius'), 1e-12))) AS radius,
           2 * pi() * bench_rand(t, 'angle') AS angle
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS t
), timed AS MATERIALIZED (
    SELECT base.*,
           greatest(0.5, round(exp(3.4 + 0.6 * (0.5 - bench_rand(assignee, 'skill'))
                                   + 0.9 * radius * cos(angle))::numeric, 1))::float8 AS first_minutes,
           round(least(7000, exp(6.2 + radius * sin(angle)))::numeric, 1)::float8 AS extra_minutes
    FROM base
)
INSERT INTO tickets (id, provider, external_id, subject, category, contact_channel, status, assignee_id, opened_at,
                     first_response_at, resolved_at, last_public_replier, last_public_reply_at, updated_at)
SELECT t, 'bench', t::text, 'Ticket ' || t,
       CASE WHEN uncategorised_u < 0.02 THEN NULL
            ELSE (%(categories)s::text[])[1 + floor(10 * power(category_u, 1.6))::int] END,
       (ARRAY['email', 'chat', 'phone'])[1 + floor(3 * contact_u)::int], 'solved', assignee, opened,
       opened + make_interval(secs => first_minutes * 60),
       opened + make_interval(secs => (first_minutes + extra_minutes) * 60),
       'bench:' || assignee, opened + make_interval(secs => (first_minutes + extra_minutes) * 60),
       opened + make_interval(secs => (first_minutes + extra_minutes) * 60)
FROM timed
"""

FEEDBACK = """
WITH item AS MATERIALIZED (
    SELECT i, tk.id AS ticket_id, tk.category AS ticket_category, tk.assignee_id, tk.opened_at,
           tk.first_response_at, tk.resolved_at, i %% 2 = 1 AS survey,
           bench_rand(i, 'kind') AS kind_u,
           bench_rand(i, 'answered') AS answered_u,
           bench_rand(i, 'attributed') AS attributed_u,
           bench_rand(i, 'status') AS status_u,
           bench_rand(i, 'comment') AS comment_u,
           bench_rand(i, 'respondent') AS respondent_u,
           -- above 1 for a weak agent or a hard category: answers drift down
           power(bench_rand(i, 'value'), (1.3 - 0.6 * bench_rand(tk.assignee_id, 'skill'))
                 * (0.9 + 0.02 * coalesce(array_position(%(categories)s::text[], tk.category), 5))) AS mood
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    JOIN tickets AS tk ON tk.id = (i + 1) / 2
), kinded AS (
    SELECT item.*,
           CASE WHEN survey THEN CASE WHEN kind_u < 0.8 THEN 'csat' ELSE 'nps' END
                WHEN kind_u < 0.5 THEN 'first_response_time' ELSE 'resolution_time' END AS kind,
           CASE WHEN attributed_u < 0.03 THEN NULL ELSE assignee_id END AS employee_id
    FROM item
), valued AS MATERIALIZED (
    SELECT kinded.*,
           CASE kind
               WHEN 'csat' THEN CASE WHEN mood < 0.08 THEN 1 WHEN mood < 0.14 THEN 2 WHEN mood < 0.26 THEN 3
                                     WHEN mood < 0.5 THEN 4 ELSE 5 END
               WHEN 'nps' THEN least(10, floor(11 * power(mood, 1 / 3.0)))
               WHEN 'first_response_time'
                   THEN round(extract(epoch FROM first_response_at - opened_at) / 60, 1)
               ELSE round(extract(epoch FROM resolved_at - opened_at) / 60, 1) END::float8 AS value,
           CASE kind WHEN 'csat' THEN 1 WHEN 'nps' THEN 0 END::float8 AS scale_min,
           CASE kind WHEN 'csat' THEN 5 WHEN 'nps' THEN 10 END::float8 AS scale_max,
           CASE kind
               WHEN 'first_response_time' THEN first_response_at
               WHEN 'resolution_time' THEN resolved_at
               ELSE resolved_at + make_interval(secs => answered_u * 2 * 86400) END AS occurred_at,
           CASE WHEN survey THEN 'response-' || i ELSE 'bench:' || ticket_id || ':' || kind END AS external_id
    FROM kinded
)
INSERT INTO feedback (id, channel, kind, external_id, occurred_at, received_at, value, scale_min, scale_max,
                      comment, ticket_ref, ticket_id, ticket_category, respondent_ref, employee_id, team_id,
                      attribution_policy, attributed_identity, status, payload, announced_at)
SELECT i, CASE WHEN survey THEN 'post_ticket_survey' ELSE 'ticket_metrics' END, kind, external_id, occurred_at,
       occurred_at + interval '90 seconds', value, scale_min, scale_max,
       CASE WHEN survey AND comment_u < 0.35
            THEN (ARRAY['Quick and friendly, problem solved.', 'Explained everything clearly.',
                        'Very patient with my questions.', 'Took days to get an answer.',
                        'Had to repeat myself three times.', 'Felt like a canned reply.'])
                 [1 + floor(comment_u / 0.35 * 6)::int] END,
       'bench:' || ticket_id, ticket_id, ticket_category,
       CASE WHEN survey THEN encode(sha256(convert_to(
           'customer' || floor(respondent_u * 300000)::int || '@example.com', 'UTF8')), 'hex') END,
       employee_id, (employee_id - 1) %% %(teams)s + 1,
       CASE WHEN employee_id IS NOT NULL THEN 'assignee_at_solve' END,
       CASE WHEN employee_id IS NOT NULL THEN 'bench:' || employee_id END,
       CASE WHEN status_u < 0.03 THEN 'quarantined' ELSE 'accepted' END,
       CASE WHEN survey
            THEN jsonb_build_object('response_id', external_id, 'kind', kind, 'rating', value,
                                    'scale', jsonb_build_object('min', scale_min, 'max', scale_max),
                                    'ticket_id', 'bench:' || ticket_id, 'agent_basis', 'assignee_at_solve',
                                    'agent', jsonb_build_object('provider', 'bench', 'id', assignee_id::text),
                                    'answered_at', to_char(occurred_at, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))
            ELSE jsonb_build_object('ticket', 'bench:' || ticket_id, 'metric', kind, 'minutes', value,
                                    'at', to_char(occurred_at, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                                    'agent', 'bench:' || assignee_id) END,
       occurred_at + interval '95 seconds'
FROM valued
"""

#: Who held each ticket: its assignee from the start, or (one ticket in ten) someone else until half way to
#: the first response.
ASSIGNMENTS = """
INSERT INTO ticket_assignments (ticket_id, employee_id, external_assignee_id, assigned_at)
SELECT ticket_id, employee_id, 'bench:' || employee_id, assigned_at
FROM (SELECT id AS ticket_id, 1 + floor(%(employees)s * bench_rand(id, 'first_assignee'))::int AS employee_id,
             opened_at AS assigned_at
      FROM tickets WHERE id BETWEEN %(lo)s AND %(hi)s AND bench_rand(id, 'reassigned') < 0.1
      UNION ALL
      SELECT id, assignee_id,
             CASE WHEN bench_rand(id, 'reassigned') < 0.1 THEN opened_at + (first_response_at - opened_at) / 2
                  ELSE opened_at END
      FROM tickets WHERE id BETWEEN %(lo)s AND %(hi)s) AS held
ORDER BY ticket_id, assigned_at
"""

#: Who solved each ticket, as core.tickets keeps it: the holder at the solve (the latest assignment at or before
#: it), else the assignee.
SOLVERS = """
WITH held AS (
    SELECT DISTINCT ON (a.ticket_id) a.ticket_id, a.employee_id
    FROM ticket_assignments AS a JOIN tickets AS t ON t.id = a.ticket_id
    WHERE t.id BETWEEN %(lo)s AND %(hi)s AND a.assigned_at <= t.resolved_at
    ORDER BY a.ticket_id, a.assigned_at DESC, a.id DESC
)
UPDATE tickets AS t SET solver_id = CASE WHEN held.ticket_id IS NULL THEN t.assignee_id ELSE held.employee_id END
FROM tickets AS solved LEFT JOIN held ON held.ticket_id = solved.id
WHERE t.id = solved.id AND solved.id BETWEEN %(lo)s AND %(hi)s AND solved.resolved_at IS NOT NULL
"""

#: When each ticket was last surveyed, as core.tickets keeps it: its latest survey answer.
SURVEYS = """
UPDATE tickets AS t SET survey_seen_at = seen.latest
FROM (SELECT ticket_id, max(occurred_at) AS latest FROM feedback
      WHERE id BETWEEN %(lo)s AND %(hi)s AND kind IN ('csat', 'nps', 'ces') GROUP BY ticket_id) AS seen
WHERE t.id = seen.ticket_id AND (t.survey_seen_at IS NULL OR t.survey_seen_at < seen.latest)
"""

#: A quarantined item waits for HR with an open flag, as the integrity checks leave it.
FLAGS = """
INSERT INTO flags (feedback_id, "check", reason, created_at)
SELECT id, 'duplicate_respondent', 'The same customer already answered about this employee within 24 hours.',
       received_at
FROM feedback WHERE id BETWEEN %(lo)s AND %(hi)s AND status = 'quarantined'
"""


def _params(**extra) -> dict:
    return {"teams": TEAMS, "employees": EMPLOYEES, "categories": CATEGORIES,
            "start": datetime.combine(FIRST_DAY, time()), "created": datetime.combine(FIRST_DAY, time()),
            **extra}


def seed_organisation(conn: psycopg.Connection) -> None:
    """Create ``bench_rand`` and the teams and employees, in an empty database at the head revision."""
    conn.execute(RANDOM_FUNCTION)
    for statement in ORGANISATION:
        conn.execute(statement, _params())


def seeded_items(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM feedback").fetchone()[0]


def seed_items(conn: psycopg.Connection, size: int, progress: Callable[[int], None] | None = None) -> int:
    """Add feedback items (with their tickets, assignments and flags) until there are ``size``; return how many were added.

    ``conn`` must be in autocommit mode (VACUUM runs outside a transaction).

    Runs in chunks, each its own transaction, and vacuums and analyses the tables at the end, so the
    planner and the visibility map see the data as a settled production table would be.
    """
    done = seeded_items(conn)
    added = 0
    # The rows are consistent by construction: skip the foreign-key triggers and the wait for the WAL flush.
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET synchronous_commit = off")
    while done < size:
        lo, hi = done + 1, min(done + CHUNK, size)
        with conn.transaction():
            tickets = conn.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0]
            if tickets < (hi + 1) // 2:
                conn.execute(TICKETS, _params(lo=tickets + 1, hi=(hi + 1) // 2))
                conn.execute(ASSIGNMENTS, _params(lo=tickets + 1, hi=(hi + 1) // 2))
                conn.execute(SOLVERS, {"lo": tickets + 1, "hi": (hi + 1) // 2})
            conn.execute(FEEDBACK, _params(lo=lo, hi=hi))
            conn.execute(SURVEYS, {"lo": lo, "hi": hi})
            conn.execute(FLAGS, {"lo": lo, "hi": hi})
        added += hi - lo + 1
        done = hi
        if progress is not None:
            progress(hi - lo + 1)
    conn.execute("RESET session_replication_role")
    conn.execute("RESET synchronous_commit")
    for table in ("feedback", "tickets", "ticket_assignments", "flags"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    conn.execute("VACUUM (ANALYZE) feedback, tickets, ticket_assignments, flags, employees, teams")
    return added
