"""One scheduler per deployment: ``plaudit cron`` enqueues only while it holds the cron lease in Redis.

Two schedulers enqueued every job twice: two weekly appraisals and every weekly e-mail sent twice. A second
``plaudit cron`` (started by mistake, or kept on another machine in case the first dies) now stands by: it keeps
its timetable moving, enqueues nothing, and takes over once the lease is released (the holder stopped) or has
lapsed (the holder died, or lost Redis, :data:`LEASE_SECONDS` ago). A job that fell due while the lease lapsed
is not enqueued by the one taking over: it cannot tell whether the dead holder had enqueued it.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid

from redis import Redis
from rq.cron import CronScheduler
from rq.utils import now

log = logging.getLogger(__name__)

#: RQ's scheduler wakes at least once a minute and renews the lease then: it lapses after two missed wake-ups.
LEASE_SECONDS = 150
#: How long an occurrence is remembered as enqueued: far longer than any handover takes.
DONE_SECONDS = 24 * 3600

# Renew or release only a lease this process holds: between a GET and a PEXPIRE another could have taken it.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def lease_key(queue_name: str) -> str:
    """The lease of the deployment whose jobs go on ``queue_name``: deployments sharing a Redis each have one."""
    return f"plaudit:cron:lease:{queue_name}"


#: Made once per process: two containers can share a host name and both be process 1.
_PROCESS_TAG = uuid.uuid4().hex[:8]


def process_name() -> str:
    """Who holds the lease: host, process and a tag of its own, the same across the scheduler's restarts after
    a Redis outage."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TAG}"


def done_key(queue_name: str, func_name: str, due) -> str:
    """Marks a scheduled occurrence enqueued, so the one taking over at that moment does not enqueue it again."""
    return f"plaudit:cron:done:{queue_name}:{func_name}:{due.isoformat()}"


class CronLease:
    """The right to enqueue the deployment's scheduled jobs, held by one process at a time."""

    def __init__(self, connection: Redis, holder: str, key: str, *, seconds: int = LEASE_SECONDS):
        self.connection, self.holder, self.seconds, self.key = connection, holder, seconds, key

    def hold(self) -> bool:
        """Renew the lease if this process holds it, else take it if nobody does; return whether it holds it."""
        milliseconds = self.seconds * 1000
        if self.connection.eval(_RENEW, 1, self.key, self.holder, milliseconds):
            return True
        return bool(self.connection.set(self.key, self.holder, nx=True, px=milliseconds))

    def release(self) -> None:
        """Give the lease up now, so one standing by takes over at its next wake-up, not when the lease lapses."""
        self.connection.eval(_RELEASE, 1, self.key, self.holder)

    def current_holder(self) -> tuple[str, float] | None:
        """Who holds the lease, and for how many more seconds unless they renew it; None when nobody does."""
        with self.connection.pipeline() as pipeline:
            pipeline.get(self.key)
            pipeline.pttl(self.key)
            holder, remaining = pipeline.execute()
        if holder is None:
            return None
        return holder.decode() if isinstance(holder, bytes) else holder, max(remaining, 0) / 1000


class LeasedCronScheduler(CronScheduler):
    """RQ's cron scheduler, enqueueing only while it holds the :class:`CronLease`."""

    def __init__(self, connection: Redis, queue_name: str, *, holder: str | None = None, **kwargs):
        super().__init__(connection, **kwargs)
        self.queue_name = queue_name
        self.lease = CronLease(connection, holder or process_name(), lease_key(queue_name))
        self.leading: bool | None = None  # unknown until the first wake-up

    def enqueue_jobs(self):
        leading = self.lease.hold()
        if leading != self.leading:
            self._say_role(leading)
            self.leading = leading
        if leading:
            return self._enqueue_due()
        # Standing by: what falls due is the holder's to enqueue. Moving the timetable on keeps the scheduler
        # from waking at once again for jobs it will not enqueue, and makes a takeover start at the next due time.
        moment = now()
        for job in self._cron_jobs:
            if job.should_run():
                job.set_enqueue_time(moment)
        return []

    def _enqueue_due(self):
        """RQ's enqueueing, but a cron occurrence (02:00 on Monday) goes once even across a handover: the one
        that stopped just after enqueueing it, and the one taking over just before its clock reached it, would
        each enqueue it. Interval jobs (the outbox sweep) are sweeps: one more run does no harm."""
        moment, enqueued = now(), []
        for job in self._cron_jobs:
            if not job.should_run():
                continue
            first = job.cron is None or self.connection.set(
                done_key(self.queue_name, job.func_name, job.next_enqueue_time), self.lease.holder,
                nx=True, ex=DONE_SECONDS)
            if first:
                job.enqueue(self.connection)
                enqueued.append(job)
            job.set_enqueue_time(moment)
        return enqueued  # start() saves the timetable when anything was

    def register_death(self, pipeline=None) -> None:
        try:
            super().register_death(pipeline)
        finally:  # released even when RQ's registry lost this scheduler (Redis restarted empty)
            self.lease.release()

    def _say_role(self, leading: bool) -> None:
        if leading:
            log.info("cron: %s holds the cron lease and schedules the jobs", self.lease.holder)
            return
        held = self.lease.current_holder()
        log.warning("cron: standing by: %s holds the cron lease (for %s more seconds unless renewed); this "
                    "process takes over when it stops", held[0] if held else "another process",
                    round(held[1]) if held else "a few")
