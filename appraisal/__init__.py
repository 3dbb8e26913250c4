"""The appraisal module: guidelines, metrics aggregated in SQL, and the engine that combines them."""
from __future__ import annotations


def init_app(app) -> None:
    """Make the guideline in force set the ingestion policy, and add the appraisal commands."""
    from core.demo import DEMO_STEPS_KEY
    from core.jobs import CRON_KEY, CronEntry
    from core.policy import PROVIDER_KEY

    from .cli import COMMANDS
    from .demo import appraise_demo, demo_periods
    from .digests import CRON as DIGESTS_CRON
    from .guidelines import ingestion_policy_from_guideline
    from .review_cli import review_group
    from .runs import WEEKLY_RUN_CRON

    app.extensions[PROVIDER_KEY] = ingestion_policy_from_guideline
    for command in (*COMMANDS, review_group):
        app.cli.add_command(command)
    # Every Monday from 02:00 on the organisation's clock, the week just ended (weekly reports are built on it).
    app.extensions.setdefault(CRON_KEY, []).append(CronEntry("appraisal.runs.appraise_last_week", cron=WEEKLY_RUN_CRON))
    # Mondays from 07:00 on its clock: each employee's report and each manager's team report of that run, by e-mail.
    app.extensions[CRON_KEY].append(CronEntry("appraisal.digests.send_weekly_digests", cron=DIGESTS_CRON))
    # ``plaudit demo`` appraises the weeks it fills, so every page has results to show.
    app.extensions.setdefault(DEMO_STEPS_KEY, []).append(("appraising the demo weeks and months", lambda: len(demo_periods()), appraise_demo))
