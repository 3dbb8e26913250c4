"""The cyclic collector is paused around bulk work and comes back as it was."""
from __future__ import annotations

import gc
import threading

import pytest

import appraisal.runs
import core.ingestion
from core.collector import collector_paused
from tests.fixtures.payloads import survey


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_a_pause_ends_with_its_block_even_when_the_block_fails(collector_on):
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the work failed")
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last(collector_on):
    inner_started, outer_may_end = threading.Event(), threading.Event()

    def other_thread():
        with collector_paused():
            inner_started.set()
            outer_may_end.wait(5)
        # The main thread's pause is still on here.
        seen.append(gc.isenabled())

    seen: list[bool] = []
    with collector_paused():
        thread = threading.Thread(target=other_thread)
        thread.start()
        assert inner_started.wait(5)
        with collector_paused():
            pass
        assert not gc.isenabled()  # the nested block ended, the others go on
    assert not gc.isenabled()  # the other thread still holds its pause
    outer_may_end.set()
    thread.join(5)
    assert gc.isenabled() and seen == [True]


def test_a_process_that_runs_without_the_collector_keeps_it_off():
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_ingestion_runs_with_the_collector_paused(app, session, collector_on, monkeypatch, create_employee):
    create_employee("Ann Agent", identities=[("helpdesk", "101")])
    seen = []
    normalise = core.ingestion._normalise

    def watched(*args):
        seen.append(gc.isenabled())
        return normalise(*args)

    monkeypatch.setattr(core.ingestion, "_normalise", watched)
    report = core.ingestion.ingest(session, "post_ticket_survey", [survey()])
    assert report.created and seen == [False]
    assert gc.isenabled()


def test_the_announce_job_runs_with_the_collector_paused(app, session, collector_on, monkeypatch,
                                                         create_employee):
    """A batch's announcement set off full collections that were a third of the worker's CPU."""
    create_employee("Ann Agent", identities=[("helpdesk", "101")])
    monkeypatch.setattr(core.ingestion.jobs, "enqueue", lambda *args, **kwargs: None)  # announced below
    report = core.ingestion.ingest(session, "post_ticket_survey", [survey("r-1"), survey("r-2")])
    session.commit()
    seen = []
    announce = core.ingestion._announce

    def watched(*args):
        seen.append(gc.isenabled())
        return announce(*args)

    monkeypatch.setattr(core.ingestion, "_announce", watched)
    assert core.ingestion.announce_feedback([stored.feedback_id for stored in report.created]) == 2
    assert seen == [False] and gc.isenabled()
    assert core.ingestion.announce_feedback([stored.feedback_id for stored in report.created]) == 0  # once


def test_an_appraisal_run_computes_with_the_collector_paused(worked_example, collector_on, monkeypatch):
    seen = []
    appraise = appraisal.runs.appraise_into

    def watched(session, run):
        seen.append(gc.isenabled())
        return appraise(session, run)

    monkeypatch.setattr(appraisal.runs, "appraise_into", watched)
    worked_example.run()
    assert seen == [False]
    assert gc.isenabled()
