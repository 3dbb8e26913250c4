"""``plaudit import social`` on the real exports in ../shared/data/social, and on broken files."""
from __future__ import annotations

import csv

from sqlalchemy import func, select

from channels.social_monitoring.imports import snowflake_time
from core.models import Feedback

AIRLINE_ROWS = 14_640


def _import(app, path, fmt, source):
    return app.test_cli_runner().invoke(args=["import", "social", str(path), "--format", fmt, "--source", source])


def test_airline_file_stores_every_row_keyed_by_row_number(app, session, shared_data):
    path = shared_data / "social" / "twitter_us_airline_sentiment_tweets.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == AIRLINE_ROWS
    assert len({row["tweet_id"] for row in rows}) < AIRLINE_ROWS  # why the row number is the key

    result = _import(app, path, "airline", "airline")
    assert result.exit_code == 0, result.output
    assert f"posts created {AIRLINE_ROWS}, duplicates 0, rejected 0" in result.output

    stored = session.execute(select(func.count(), func.count(func.distinct(Feedback.external_id)),
                                    func.min(Feedback.value), func.max(Feedback.value))
                             .where(Feedback.channel == "social_monitoring")).one()
    assert stored[0] == stored[1] == AIRLINE_ROWS
    assert -1 <= stored[2] < 0 < stored[3] <= 1
    # Row 1 of the file is the first tweet, with its text and posting time as written.
    first = session.scalars(select(Feedback).where(Feedback.external_id == "airline:1")).one()
    assert first.comment == rows[0]["text"] and first.kind == "social_mention"
    assert first.occurred_at.replace(tzinfo=None).isoformat() == "2015-02-24T19:35:52"  # -0800 in UTC
    assert first.payload["handles"] == ["VirginAmerica", "dhepburn"]
    assert first.payload["sentiment"] in ("negative", "neutral", "positive")
    # The spreadsheet split "&lt;3" at its ";": the text is joined again and the time found after it.
    mended = session.scalars(select(Feedback).where(Feedback.external_id == "airline:12")).one()
    assert mended.comment == "@VirginAmerica I <3 pretty graphics. so much better than minimal iconography. :D"
    assert mended.occurred_at.replace(tzinfo=None).isoformat() == "2015-02-24T18:30:40"
    # Row 3915's time was pushed off the row: its tweet id still says when it was posted.
    lost = session.scalars(select(Feedback).where(Feedback.external_id == "airline:3915")).one()
    assert lost.occurred_at.replace(tzinfo=None).isoformat(timespec="seconds") == "2015-02-18T09:54:26"


def test_twcs_sample_threads_brand_replies_and_imports_once(app, session, shared_data):
    path = shared_data / "social" / "twcs_kaggle_sample.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    result = _import(app, path, "twcs", "twcs")
    assert result.exit_code == 0, result.output
    assert f"posts created {len(rows)}, duplicates 0, rejected 0" in result.output
    items = {f.external_id: f for f in session.scalars(select(Feedback).where(Feedback.channel == "social_monitoring"))}
    for row in rows:
        item = items[f"twcs:{row['tweet_id']}"]
        brand = row["inbound"] == "False"
        assert item.payload["brand_reply"] is brand
        assert item.payload["in_reply_to"] == (row["in_response_to_tweet_id"] or None)
        assert item.kind == ("social_reply" if brand else "social_mention")
        assert (item.scale_min is None) is brand  # a brand's reply is no customer's sentiment: its value is minutes
        assert item.payload["sentiment"] in ("negative", "neutral", "positive")
        assert item.payload["author"] == row["author_id"]
    session.rollback()  # end the read before the second import writes

    again = _import(app, path, "twcs", "twcs")
    assert f"posts created 0, duplicates {len(rows)}, rejected 0" in again.output


def test_bad_rows_are_named_by_line_and_the_rest_stored(app, session, tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_text(
        "tweet_id,airline_sentiment,name,text,tweet_created\n"
        "1,neutral,ann,@united fine,2015-02-24 11:35:52 -0800\n"
        'x,negative,bob,"a text\nover two lines",yesterday\n'
        "3,positive,cat,,2015-02-24 11:35:52 -0800\n"
        "4,positive,dan,@united thanks!,2015-02-24 11:36:52 -0800\n", encoding="utf-8")

    result = _import(app, path, "airline", "mine")
    assert result.exit_code == 1
    assert "line 3: posted_at:" in result.output  # the row that starts on line 3 spans two
    assert "line 5: text:" in result.output
    assert "posts created 2, duplicates 0, rejected 2" in result.output
    ids = set(session.scalars(select(Feedback.external_id).where(Feedback.channel == "social_monitoring")))
    assert ids == {"mine:1", "mine:4"}  # row numbers, whatever the tweet_id column says


def test_a_tweet_id_tells_when_it_was_posted_even_rounded():
    exact, rounded = snowflake_time("570306133677761024"), snowflake_time("570306133677761000")
    assert exact.isoformat(timespec="seconds") == "2015-02-24T19:35:52+00:00"
    assert abs((exact - rounded).total_seconds()) < 0.001
    assert snowflake_time("not a number") is None


def test_a_file_of_another_format_is_refused_before_anything_is_stored(app, session, shared_data):
    path = shared_data / "social" / "twcs_kaggle_sample.csv"
    result = _import(app, path, "airline", "x")
    assert result.exit_code == 2
    assert "--format airline: not a airline file: no column 'tweet_created', 'name'" in result.output
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0
    blank = _import(app, path, "twcs", "  ")
    assert blank.exit_code == 2 and "--source" in blank.output


def test_a_quote_left_open_is_refused_by_its_lines_not_swallowing_the_rows_after_it(app, session, shared_data,
                                                                                  tmp_path):
    """A row opening a quote it never closes took the next rows into its text: 92 of 94 stored, 0 rejected."""
    sample = shared_data / "social" / "twcs_kaggle_sample.csv"
    if not sample.is_file():
        import pytest

        pytest.skip(f"{sample} is absent")
    lines = sample.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "quote.csv"
    broken.write_text(lines[0] + '910001,cust9,True,Tue Oct 31 22:10:47 +0000 2017,"@Tesco my order is late,,\n'
                      + "".join(lines[1:]), encoding="utf-8")
    result = _import(app, broken, "twcs", "quoted")
    assert "rejected 1" in result.output, result.output
    assert "line 2: row: 8 cell(s) where the header has 7: a quote left open runs from line 2 to line 4" in result.output
    stored = session.scalar(select(func.count()).select_from(Feedback).where(Feedback.external_id.like("quoted:%")))
    with sample.open(newline="", encoding="utf-8") as handle:
        whole = sum(1 for _ in csv.reader(handle)) - 1
    assert stored == whole - 2  # the two rows inside the open quote are refused with it, not stored as its text
    assert session.scalar(select(func.count()).select_from(Feedback).where(
        Feedback.external_id == "quoted:910001")) == 0


def test_a_quote_left_open_to_the_end_of_the_file_is_refused_too(app, session, tmp_path):
    """With no quote after it, the open one took every following row into one post of too few cells."""
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    rows = ['1,a,True,Tue Oct 31 22:10:47 +0000 2017,"@Tesco late,,\n',
            "2,b,True,Tue Oct 31 22:11:47 +0000 2017,@Tesco still waiting,,\n",
            "3,c,True,Tue Oct 31 22:12:47 +0000 2017,@Tesco hello,,\n"]
    broken = tmp_path / "open.csv"
    broken.write_text(header + "".join(rows), encoding="utf-8")
    result = _import(app, broken, "twcs", "open")
    assert "posts created 0, duplicates 0, rejected 1" in result.output, result.output
    assert "a quote left open runs from line 2 to line 4" in result.output
