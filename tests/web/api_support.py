"""What the API tests share: the worked example appraised, tokens, a client with a session per request,
and readers of the API's answers."""
from __future__ import annotations

import json

import pytest
from flask import g
from sqlalchemy import select, update

from core.auth import API_SCOPES
from core.db import transaction
from core.models import ApiToken, Employee, Feedback, User

V1 = "/api/v1"
#: Every list, with a query that narrows it, for the checks all lists share.
LISTS = ("/employees/", "/teams/", "/feedback/", "/runs/", "/guidelines/", "/targets/", "/recommendations/",
         "/runs/{run}/results")


@pytest.fixture
def client(client):
    """The test client, each call with a database session of its own, as each request has when served.

    The worked example holds an app context open, which requests would otherwise share with their session:
    a snapshot older than the test's last write, and on SQLite a write lock held past the request.
    """
    def end_session():
        session = g.pop("plaudit_session", None)
        if session is not None:
            session.close()

    opened = client.open

    def open_alone(*args, **kwargs):
        end_session()
        response = opened(*args, **kwargs)
        # Closed before a CSV export streams too, as a served request's session is: kept open here, it hid that
        # every CSV list was a 500 on PostgreSQL.
        end_session()
        return response

    client.open = open_alone
    return client


@pytest.fixture
def example(worked_example):
    """The worked example, appraised, with each attributed item's team recorded as ingestion would."""
    worked_example.run_id = worked_example.run()
    with transaction() as session:
        session.execute(update(Feedback).values(team_id=select(Employee.team_id).where(
            Employee.id == Feedback.employee_id).scalar_subquery()))
    return worked_example


@pytest.fixture
def token(example):
    """Issue a token to an account (HR's by default) and return the header that sends it."""
    def issue(scopes=tuple(API_SCOPES), email="hr@example.com") -> dict:
        with transaction() as session:
            owner = session.scalar(select(User).where(User.email == email))
            row, plain = ApiToken.issue(owner, "test", list(scopes))
            session.add(row)
        return {"Authorization": f"Bearer {plain}"}
    return issue


def get_json(client, headers, path, **query):
    response = client.get(V1 + path, query_string=query, headers=headers)
    assert response.status_code == 200, (path, query, response.get_json())
    return response.get_json()


def every_page(client, headers, path, **query) -> list:
    rows, page = [], 1
    while True:
        response = client.get(V1 + path, query_string={**query, "page": page, "page_size": 2}, headers=headers)
        assert response.status_code == 200, response.get_json()
        rows += response.get_json()
        meta = json.loads(response.headers["X-Pagination"])
        if "next_page" not in meta:
            assert len(rows) == meta["total"]
            return rows
        page = meta["next_page"]


def field_errors(response) -> dict:
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    return errors.get("query") or errors.get("json")
