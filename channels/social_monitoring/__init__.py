"""Social monitoring: public posts about the service from feeds and exports, with their sentiment."""
from core.jobs import CronEntry
from core.plugins import hookimpl

from .channel import SocialMonitoring
from .sentiment import sentiment  # noqa: F401 -- the default answer to the sentiment hook


@hookimpl
def register_channels():
    return [SocialMonitoring]


@hookimpl
def register_commands(cli):
    from .cli import add_social_import, social_group

    add_social_import(cli)
    cli.add_command(social_group)


@hookimpl
def feedback_credited(session, feedback_ids):
    # A reply credited late (from the queue, or once its sign-off is mapped) proposes its agent for the
    # customers' posts answering it, as it would have had it been credited on arrival.
    from .threads import thread_posts

    thread_posts(session, feedback_ids)


@hookimpl
def register_cron_jobs():
    # By dotted path: the polling module (and feedparser) loads only in the worker that runs it.
    return [CronEntry("channels.social_monitoring.polling.poll_due_sources", interval=300)]
