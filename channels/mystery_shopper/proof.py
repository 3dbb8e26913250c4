"""Proof of a visit: the integrity questions every shopper answers, and the photos they attach.

Photos are kept in the database (``ms_photos``) under random names: only reviewers are served them, through
the blueprint, after a permission check, by whichever web process they ask, and a database backup holds them.
A photo replaced by a newer one is deleted in the same transaction. Photos kept in the instance folder by
earlier versions (``mystery_photos/<file>``) are still served from there until ``plaudit mystery
move-photos`` moves them in. Photos are kept as sent: EXIF metadata (the phone's location, its model) is not
stripped, which docs/mystery.md notes as a known limit.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from .models import ProofPhoto

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
#: Where earlier versions kept photos, in the instance folder; a stored reference there starts so.
PHOTO_FOLDER = "mystery_photos"
#: How a reference to a photo in the database starts.
IN_DATABASE = "photo:"
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


def store_photo(session: Session, data: bytes, kind: str) -> str:
    """Keep a checked photo in the database under a random name; return the reference a report stores."""
    name = secrets.token_hex(16)
    session.add(ProofPhoto(name=name, content_type=kind, data=data))
    return f"{IN_DATABASE}{name}"


def stored_photo(session: Session, stored: str) -> tuple[bytes | Path, str] | None:
    """The bytes (or, for an earlier version's photo, the file) of a stored reference and its type; None when
    it names no photo (or a file outside the photo folder)."""
    if stored.startswith(IN_DATABASE):
        photo = session.get(ProofPhoto, stored.removeprefix(IN_DATABASE))
        return (photo.data, photo.content_type) if photo is not None else None
    path = photo_file(stored)
    if path is None:
        return None
    return path, next((k for k, ext in PHOTO_TYPES.items() if path.suffix == ext), "application/octet-stream")


def photo_file(stored: str) -> Path | None:
    """The file of a photo an earlier version kept in the instance folder, or None when the name does not
    point inside the photo folder."""
    folder = (Path(current_app.instance_path) / PHOTO_FOLDER).resolve()
    path = (Path(current_app.instance_path) / stored).resolve()
    return path if path.parent == folder and path.is_file() else None


def discard_photo(session: Session, stored: str | None) -> None:
    """Delete a replaced photo with ``session``'s transaction; a failed save keeps it.

    A file from an earlier version goes only after the commit: until then the report still names it.
    """
    if not isinstance(stored, str) or not stored:
        return
    if stored.startswith(IN_DATABASE):
        session.execute(delete(ProofPhoto).where(ProofPhoto.name == stored.removeprefix(IN_DATABASE)))
        return
    path = photo_file(stored)
    if path is not None:
        session.info.setdefault(_DISCARDED, []).append(path)


@event.listens_for(Session, "after_commit")
def _delete_discarded(session: Session) -> None:
    for path in session.info.pop(_DISCARDED, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_discarded(session: Session) -> None:
    session.info.pop(_DISCARDED, None)
