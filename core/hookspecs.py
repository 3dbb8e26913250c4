"""Every extension point of Plaudit. Each docstring here is that hook's documentation.

Implement a hook with ``@core.hookimpl`` in a module or package registered under the entry-point group
``plaudit``. Hooks are called with keyword arguments; an implementation may accept any subset of them.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("plaudit")


@hookspec
def register_channels():
    """Return a list of :class:`core.channel.Channel` subclasses this plugin contributes.

    Each class carries its own slug in ``name``; two channels with one slug stop start-up.
    """


@hookspec
def register_scoring_rules():
    """Return a list of :class:`core.scoring.ScoringRule` subclasses this plugin contributes.

    A scoring rule turns one accepted feedback item into points as a SQL expression, so metrics are
    aggregated in the database. Slugs are unique across all plugins.
    """


@hookspec
def register_integrity_checks():
    """Return a list of :class:`core.integrity.IntegrityCheck` subclasses.

    The checks the guideline in force enables (all of them until HR says otherwise) inspect each batch of
    newly stored or changed items; an item a check flags is quarantined and counts in no metric until HR
    decides. A check may also judge an employee's whole period when an appraisal run computes it.
    """


@hookspec(firstresult=True)
def resolve_employee(session, provider, external_id, draft):
    """Return the id of the employee behind an external identity that no ``EmployeeIdentity`` row maps.

    Called only for identities the kernel could not resolve itself; the first non-None answer wins.
    Return None to leave the item unattributed (it then waits in the attribution queue).

    :param session: the ingesting SQLAlchemy session (read from it; do not commit).
    :param provider: the identity's namespace, such as ``zendesk`` or ``email``.
    :param external_id: the id within that namespace.
    :param draft: the :class:`core.channel.FeedbackDraft` being attributed.
    """


@hookspec
def feedback_ingested(session, feedback):
    """React to a newly stored feedback item (for example, alert a manager to a detractor).

    Called from a background job after the ingesting transaction has committed, never for a duplicate.
    ``feedback`` is a :class:`core.models.Feedback` in ``session``; the job commits ``session`` when every
    implementation has returned. Delivery is at least once: if any implementation raises, the job is retried
    later and every implementation is called again for that item, so make yours idempotent.
    """


@hookspec
def feedback_credited(session, feedback_ids):
    """React to stored items credited to an employee after they arrived, for example by a manager from the
    unattributed queue or once the identity they named was mapped.

    Called in the crediting transaction, before it commits: write through ``session`` if you must (a channel
    may derive something from the credit, such as proposals for the posts that answer a credited reply), but
    never commit. ``feedback_ids`` are ids of :class:`core.models.Feedback` rows, already credited.
    """


@hookspec
def related_feedback(session, feedback):
    """Return the ids of other feedback items that stand or fall with ``feedback``.

    One observation a channel stored as several items (a mystery report and its sections) is one thing to
    dispute: a dispute on any of them is the only one open for all, and its decision applies to all of them.
    Answer only for your own channel's items; the answers of every plugin are merged.

    :param session: the deciding SQLAlchemy session (read from it; do not write or commit).
    :param feedback: the disputed :class:`core.models.Feedback`.
    :return: feedback ids (``feedback``'s own id, if given, is ignored).
    """


@hookspec
def dispute_decided(session, dispute, items):
    """Follow a dispute's decision in this plugin's own data (for example, who a report says served).

    Called in the deciding transaction, after the items have been changed; what an implementation adds to
    ``session`` is committed with the decision, and an implementation that raises undoes the decision.

    :param dispute: the decided :class:`core.models.Dispute` (``status`` upheld or rejected, ``reassigned_to``).
    :param items: the disputed item first, then the items that stand or fall with it.
    """


@hookspec
def appraisal_completed(session, run):
    """React to a finished appraisal run, for example by sending reports.

    :param run: the completed ``AppraisalRun``.
    """


@hookspec
def recommend(result, guideline):
    """Return extra recommendations for one employee's appraisal result.

    Called while a run writes its results, in its transaction. Each answer goes through the guideline's
    budget cap and approval rules like a tier's.

    :param result: one employee's ``AppraisalResult`` (with ``composite``, ``rank``, ``training_needs``...).
    :param guideline: the ``Guideline`` version the run used (its ``document`` holds the settings).
    :return: a list of dicts with ``kind`` (bonus, recognition, coaching or training; anything else, such
        as a sanction, is refused and logged), ``reason`` and, for a bonus, ``amount``.
    """


@hookspec
def training_needs(session, period_start, period_end, up_to, employee_ids, settings):
    """Return training needs found in this plugin's own data, for the employees an appraisal run appraises.

    Called while a run reads its inputs, in its transaction (and by a guideline's preview): read only.
    The run merges the answers with the needs it finds itself, weakest first, up to the guideline's
    ``max_needs``; each becomes a training recommendation when the guideline recommends training.

    :param session: the run's SQLAlchemy session (read from it; do not write or commit).
    :param period_start: the period's first instant; ``period_end`` is exclusive.
    :param up_to: the run's feedback watermark: count only what the feedback items up to this id show, so
        a run computed again finds the same needs.
    :param employee_ids: the employees appraised; answers about others are ignored.
    :param settings: the guideline's ``training`` settings (``min_n``, ``gap``, ``max_needs``, ``recommend``).
    :return: ``{employee_id: [need]}``, each need a dict with ``area`` (a snake_case slug naming what kind of
        need it is), ``name`` (what to train, as people read it), ``metric``, ``value``, ``benchmark`` (what
        the value falls short of), ``n`` (how many observations) and ``gap`` (value minus benchmark, in the
        better direction: negative is a shortfall).
    """


@hookspec(firstresult=True)
def sentiment(text):
    """Return the sentiment of one text a customer wrote: ``(score, label)``.

    ``score`` is on -1 (most negative) to 1 (most positive); ``label`` is ``negative``, ``neutral`` or
    ``positive``. The first non-None answer wins, and the built-in ``social_monitoring`` plugin answers last
    (with vaderSentiment), so a plugin that answers replaces it; return None to leave a text to it.
    Called once per post when it is ingested; the answer is stored and never recomputed.

    :param text: the post's text, as written.
    """


@hookspec
def register_social_source_clients():
    """Return a list of :class:`channels.social_monitoring.clients.SourceClient` subclasses.

    Each client reads posts from one platform's API (Mastodon, X...) for the social-monitoring channel. Its
    ``name`` is a snake_case slug that HR or an admin picks as a source's ``kind``; ``rss`` and ``push`` are
    built in and cannot be taken. The poll job calls ``fetch(source, since)`` for each due source of that
    kind, outside any transaction: it returns post payloads (the channel's post schema) and may keep what
    it needs between polls (a cursor) in ``source.state``. An exception it raises is recorded on the source,
    whose next poll backs off; the other sources are polled as usual.
    """


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``plaudit`` command line.

    :param cli: the top-level ``click.Group``; call ``cli.add_command(...)``. Replacing one of Plaudit's
        own commands stops start-up.
    """


@hookspec
def register_cron_jobs():
    """Return a list of :class:`core.jobs.CronEntry` for ``plaudit cron`` to schedule.

    Each entry names an importable job function and either an interval in seconds or a cron expression.
    """
