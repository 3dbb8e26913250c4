"""What the fuzz tests share: settings, JSON strategies seeded from real payloads, and the refusal checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fixtures.shared_data import SHARED_DATA

#: Examples per fuzz target and backend: enough to reach every adapter's refusals in a few seconds each.
EXAMPLES = 150
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=40),
                    st.sampled_from(["", "2026-11-03T10:00:00Z", "not a date", "-1", "1e309", "\x00", "null",
                                     "zendesk:1", "solved", "resolved", "closed", "<script>alert(1)</script>",
                                     "'; DROP TABLE feedback; --", "9" * 40]))
any_json = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                        max_leaves=12)


def seeds(folder: str) -> list:
    """The real payloads of one helpdesk in ../shared/data/payloads, or none when the data is absent."""
    path = SHARED_DATA / "payloads" / folder
    return [json.loads(p.read_text()) for p in sorted(Path(path).glob("*.json"))] if path.is_dir() else []


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw, bases: list):
    """A real payload with a few of its values (at any depth) swapped for hostile ones, or any JSON at all."""
    if not bases or draw(st.integers(0, 4)) == 0:
        return draw(any_json)
    value = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(value))
        value = _replace(value, draw(st.sampled_from(paths)), draw(any_json))
    return value


bodies = st.one_of(st.binary(max_size=200), any_json.map(lambda v: json.dumps(v).encode()))


def assert_refusal_names_a_field(response) -> None:
    """A refused delivery answers JSON naming the part at fault, never a traceback."""
    answer = response.get_json()
    assert isinstance(answer, dict) and answer.get("message"), response.get_data(as_text=True)[:300]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if response.status_code in (400, 422):
        errors = answer.get("errors") or {name: r["errors"] for r in answer.get("rejected", [])
                                          for name in r["errors"]}
        assert errors and all(isinstance(name, str | int) for name in errors), answer  # "" is a key too


class Crashes:
    """Unexpected exceptions by where they were raised, so one run lists every fault, not only the first."""

    def __init__(self):
        self.found: dict[str, str] = {}

    def __call__(self, exc: BaseException, example) -> None:
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        self.found.setdefault(where, f"{type(exc).__name__}: {exc} on {example!r:.200}")

    def report(self) -> str:
        return "\n".join(f"{where}: {what}" for where, what in sorted(self.found.items()))


def mark_known_fault(request, faults: dict, target: str, dialect: str) -> None:
    """Expect (strictly) a fault found by this fuzzing and not fixed yet, so the suite shows it until it is.

    Strict: once the fault is fixed the test passes unexpectedly and fails, and its entry must go.
    """
    reason = faults.get((target, dialect)) or faults.get((target, None))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
