"""How well the default sentiment analyser agrees with people: the airline tweets' human labels.

Run ``python -m tests.benchmarks.sentiment_accuracy``: it scores every tweet of
``../shared/data/social/twitter_us_airline_sentiment_tweets.csv`` as an import would (the same mended text,
the same analyser) and writes accuracy, macro-F1 and the confusion matrix into ``docs/performance.md``
between its markers.
"""
from __future__ import annotations

import csv
import importlib.metadata
import platform
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click

from channels.social_monitoring.imports import read_posts
from channels.social_monitoring.sentiment import (
    NEGATIVE_UP_TO,
    POSITIVE_FROM,
    vader_sentiment,
)
from core.plugins import SENTIMENT_LABELS

from . import report

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "social" / "twitter_us_airline_sentiment_tweets.csv"
START, END = "<!-- sentiment-accuracy:start -->", "<!-- sentiment-accuracy:end -->"


def human_labels(path: Path) -> list[tuple[str, float]]:
    """Each row's human label and the labellers' confidence; both sit before the text the spreadsheet split."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        label, confidence = header.index("airline_sentiment"), header.index("airline_sentiment_confidence")
        return [(cells[label], float(cells[confidence])) for cells in reader]


def scores(truth: list[str], predicted: list[str]) -> dict:
    """Accuracy, per-label precision/recall/F1, macro-F1 (their unweighted mean) and the confusion matrix."""
    pairs = Counter(zip(truth, predicted))
    per_label = {}
    for label in SENTIMENT_LABELS:
        hits = pairs[(label, label)]
        said = sum(n for (_, p), n in pairs.items() if p == label)
        real = sum(n for (t, _), n in pairs.items() if t == label)
        precision, recall = (hits / said if said else 0.0), (hits / real if real else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "n": real}
    return {"n": len(truth), "accuracy": sum(t == p for t, p in zip(truth, predicted)) / len(truth),
            "macro_f1": sum(s["f1"] for s in per_label.values()) / len(per_label), "labels": per_label,
            "confusion": {t: {p: pairs[(t, p)] for p in SENTIMENT_LABELS} for t in SENTIMENT_LABELS}}


def evaluate(path: Path) -> dict:
    """Score every tweet of ``path``; return the agreement on all of them and on the sure ones."""
    humans = human_labels(path)
    started = time.perf_counter()
    predicted = [vader_sentiment(payload["text"])[1] for _, payload in read_posts(path, "airline", "benchmark")]
    seconds = time.perf_counter() - started
    if len(predicted) != len(humans):
        raise click.ClickException(f"read {len(predicted)} posts but {len(humans)} labels: the file changed shape")
    sure = [i for i, (_, confidence) in enumerate(humans) if confidence == 1]
    truth = [label for label, _ in humans]
    return {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "seconds": seconds,
            "python": platform.python_version(), "vader": importlib.metadata.version("vaderSentiment"),
            "all": scores(truth, predicted),
            "sure": scores([truth[i] for i in sure], [predicted[i] for i in sure])}


def render(results: dict) -> str:
    """The section of docs/performance.md, markers included."""
    everything, sure = results["all"], results["sure"]
    lines = [START, "## Sentiment accuracy", "",
             (f"The default analyser (vaderSentiment {results['vader']}, compound score; negative up to "
             f"{NEGATIVE_UP_TO}, positive from {POSITIVE_FROM}) against the human labels of the "
             f"{everything['n']:,} airline tweets of February 2015 (`../shared/data/social/"
             f"twitter_us_airline_sentiment_tweets.csv`), each tweet's text mended as `plaudit import social` "
             f"mends it. Measured {results['when']} on Python {results['python']}: "
             f"{everything['n'] / results['seconds']:,.0f} tweets a second. Run "
             "`python -m tests.benchmarks.sentiment_accuracy` to measure again."), "",
             "| tweets | n | accuracy | macro-F1 |", "|---|---:|---:|---:|",
             f"| all | {everything['n']:,} | {everything['accuracy']:.1%} | {everything['macro_f1']:.3f} |",
             f"| labelled with confidence 1 | {sure['n']:,} | {sure['accuracy']:.1%} | {sure['macro_f1']:.3f} |",
             "", "Per label, on all tweets:", "",
             "| label | tweets | precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
    for label, s in everything["labels"].items():
        lines.append(f"| {label} | {s['n']:,} | {s['precision']:.1%} | {s['recall']:.1%} | {s['f1']:.3f} |")
    lines += ["", "Confusion matrix (rows: what people said; columns: what the analyser said):", "",
              "| people \\ analyser | " + " | ".join(SENTIMENT_LABELS) + " |",
              "|---|" + "---:|" * len(SENTIMENT_LABELS)]
    for truth, row in everything["confusion"].items():
        lines.append(f"| {truth} | " + " | ".join(f"{row[p]:,}" for p in SENTIMENT_LABELS) + " |")
    confusion = everything["confusion"]
    errors = sum(n for t, row in confusion.items() for p, n in row.items() if t != p)
    missed = sum(n for p, n in confusion["negative"].items() if p != "negative")
    lines += ["", (f"What it means: VADER is a general lexicon, not trained on complaints to airlines. "
              f"{missed / errors:.0%} of its errors are complaints that people labelled negative and it did not. "
              "Its \"negative\" is mostly right; its \"positive\" and \"neutral\" are not to be "
              "trusted on their own. Read a person's social score with that in mind, and replace the analyser "
              "through the `sentiment` hook (docs/plugins.md) where a better one is available."), END]
    return "\n".join(lines)


def write(doc: Path, section: str) -> None:
    """Put ``section`` between this benchmark's markers of ``doc``, or append it."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else report.INTRO
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


@click.command()
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DATA,
              show_default="../shared/data/social/twitter_us_airline_sentiment_tweets.csv")
@click.option("--write/--no-write", "write_doc", default=True, show_default=True,
              help="write the results into docs/performance.md between its markers")
@click.option("--doc", type=click.Path(dir_okay=False, path_type=Path), default=ROOT / "docs" / "performance.md",
              show_default="docs/performance.md")
def main(data: Path, write_doc: bool, doc: Path) -> None:
    """Measure the default sentiment analyser's agreement with the airline tweets' human labels."""
    section = render(evaluate(data))
    click.echo(section)
    if write_doc:
        write(doc, section)
        click.echo(f"results written to {doc}")


if __name__ == "__main__":
    main()
