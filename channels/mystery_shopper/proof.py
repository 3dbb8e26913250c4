"""Proof of a visit: the integrity questions every shopper answers, and the photos they attach.

Photos are kept in the instance folder under random names, never under the static folder: only reviewers
are served them, through the blueprint, after a permission check. A photo replaced by a newer one is deleted
once the replacement is committed. Photos are kept as sent: EXIF metadata (the phone's location, its model)
is not stripped, which docs/mystery.md notes as a known limit.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

#: Asked on every report; a reviewer reads the answers beside the report before approving it.
INTEGRITY_QUESTIONS = {
    "identity_revealed": "Did anyone learn, or seem to guess, that you were a mystery shopper?",
    "knows_employee": "Do you know the employee who served you personally?",
    "followed_scenario": "Did you follow the scenario as briefed?",
}
#: The answer to each integrity question that a reviewer should look at twice.
INTEGRITY_CONCERNS = {"identity_revealed": True, "knows_employee": True, "followed_scenario": False}
#: Under the app's 2 MB request limit (MAX_CONTENT_LENGTH), with room for the rest of the form.
PHOTO_MAX_BYTES = 1_500_000
#: What a photo may be, told by its first bytes (not the name or type the browser claims).
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PHOTO_FOLDER = "mystery_photos"
#: Session.info key: the files of replaced photos, deleted when the session commits.
_DISCARDED = "mystery_photos_discarded"


class ProofError(ValueError):
    """A proof of visit is unusable; the message says why and what to send instead."""


def photo_type(data: bytes) -> str | None:
    """The image type of ``data`` by its signature, or None when it is not a JPEG, PNG or WebP image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_photo(upload) -> tuple[bytes, str] | None:
    """The bytes and type of an uploaded photo (a werkzeug FileStorage), None when nothing was attached.

    :raises ProofError: when it is too large or not a JPEG, PNG or WebP image.
    """
    if upload is None or not getattr(upload, "filename", None):
        return None
    data = upload.stream.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise ProofError(f"the photo is larger than {PHOTO_MAX_BYTES / 1_000_000:.1f} MB: send a smaller one")
    if not data:
        raise ProofError("the photo is empty: attach it again")
    kind = photo_type(data)
    if kind is None:
        raise ProofError("send the photo as a JPEG, PNG or WebP image")
    return data, kind


def store_photo(data: bytes, kind: str) -> str:
    """Write a checked photo to the instance folder under a random name; return its stored name."""
    folder = Path(current_app.instance_path) / PHOTO_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}{PHOTO_TYPES[kind]}"
    (folder / name).write_bytes(data)
    return f"{PHOTO_FOLDER}/{name}"


def photo_file(stored: str) -> Path | None:
    """The file of a stored photo name, or None when the name does not point inside the photo folder."""
    folder = (Path(current_app.instance_path) / PHOTO_FOLDER).resolve()
    path = (Path(current_app.instance_path) / stored).resolve()
    return path if path.parent == folder and path.is_file() else None


def discard_photo(session: Session, stored: str | None) -> None:
    """Delete a replaced photo once ``session`` commits its replacement; keep it if the session rolls back.

    Only after the commit: until then the report still names the old file, and a failed save must not lose it.
    """
    path = photo_file(stored) if isinstance(stored, str) and stored else None
    if path is not None:
        session.info.setdefault(_DISCARDED, []).append(path)


@event.listens_for(Session, "after_commit")
def _delete_discarded(session: Session) -> None:
    for path in session.info.pop(_DISCARDED, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_discarded(session: Session) -> None:
    session.info.pop(_DISCARDED, None)
