"""Uploaded images: decoded, stripped of metadata, resized and re-encoded before they are kept.

Nothing a user uploads is stored or served as sent: a file that is not a real image is refused,
and what is kept is a fresh JPEG written by Pillow into the instance folder.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import abort, current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from .extensions import db

MAX_SIDE = 1600
# A phone photo is rarely past 8 MB; the request cap (MAX_CONTENT_LENGTH) leaves room for a
# form's full set of photos at this size, so a photo too large is answered in the form.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; beyond that is refused unread
# Pillow's own guard (an error at twice its limit) stays as a backstop; the size check below
# refuses anything past MAX_PIXELS from the header alone, before decoding a byte.
Image.MAX_IMAGE_PIXELS = 2 * MAX_PIXELS


class ImageRejected(ValueError):
    """The upload is not an image we can use; the message is translated."""


def upload_dir(folder: str) -> Path:
    root = current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads"
    path = Path(root) / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


THUMBNAIL_SIDE = 320


def save_image(stream, folder: str, thumbnail: bool = False) -> str | tuple[str, str]:
    """Re-encode an uploaded image as JPEG; return the stored file name (and a thumbnail's)."""
    try:
        with Image.open(stream) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError(f"{image.width}x{image.height}")
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                # Transparent parts become white, as on paper, not black.
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, "white")
                background.paste(image, mask=image.getchannel("A"))
                image = background
            image = image.convert("RGB")
            # What the file said besides its pixels (a JPEG comment, a colour profile) is not
            # written back: Pillow would otherwise copy a comment into the new file.
            image.info.clear()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(_("This picture has too many pixels (at most %(n)d megapixels). "
                              "Upload a smaller photo.", n=MAX_PIXELS // 1_000_000)) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageRejected(_("This file is not a picture we can read. Upload a JPEG or PNG "
                              "photo.")) from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    name = f"{secrets.token_hex(16)}.jpg"
    _write(image, folder, name, 85)
    if not thumbnail:
        return name
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    small = f"{secrets.token_hex(16)}.jpg"
    _write(image, folder, small, 80)
    return name, small


_NEW = "linli_new_files"


def _write(image: Image.Image, folder: str, name: str, quality: int) -> None:
    """Write a picture, to be deleted again if the transaction it was saved for rolls back
    (a refused form, a request that failed): only a commit keeps it."""
    path = upload_dir(folder) / name
    image.save(path, "JPEG", quality=quality, optimize=True)
    db.session.info.setdefault(_NEW, []).append(path)


# folder -> a function giving the file names the database still refers to (see `prune`).
references: dict[str, Callable[[], set[str]]] = {}


def add_references(folder: str, names: Callable[[], set[str]]) -> None:
    references[folder] = names


def prune(min_age: timedelta = timedelta(hours=1)) -> int:
    """Delete stored pictures nothing refers to any more: uploads of a form that was then
    refused, photos their author removed. Files younger than `min_age` are kept, since a form
    may be saving them right now. Returns how many files were deleted."""
    deleted = 0
    cutoff = time.time() - min_age.total_seconds()
    for folder, names in references.items():
        kept = names()
        for path in upload_dir(folder).glob("*.jpg"):
            if path.name not in kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                deleted += 1
    return deleted


def image_path(folder: str, name: str) -> Path:
    return upload_dir(folder) / Path(name).name


_DOOMED = "linli_doomed_files"


def delete_after_commit(folder: str, names) -> None:
    """Delete these stored pictures once the transaction that deleted their rows commits; a
    rollback keeps them, with their rows."""
    db.session.info.setdefault(_DOOMED, []).extend(image_path(folder, n) for n in names if n)


@event.listens_for(Session, "after_commit")
def _delete_doomed(session) -> None:
    session.info.pop(_NEW, None)
    for path in session.info.pop(_DOOMED, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_soft_rollback")
def _keep_doomed(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_DOOMED, None)
        for path in session.info.pop(_NEW, ()):
            path.unlink(missing_ok=True)


def send_image(folder: str, name: str, revalidate: bool = False):
    """Serve a stored image; a file lost from disk is a 404, not an error page. With
    `revalidate`, the browser asks again at every view (answered 304 while the picture stands),
    so a picture deleted is gone at once, even from the browser's cache."""
    path = image_path(folder, name)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0 if revalidate else 3600)
    if revalidate:
        response.cache_control.no_cache = True
    # Members-only pictures: a shared cache must not keep them.
    response.cache_control.public = False
    response.cache_control.private = True
    return response


def is_uploaded(file) -> bool:
    """A file the browser sent with this request. A form built from a saved object may hold that
    object's pictures in the same field: those are no uploads."""
    return isinstance(file, FileStorage) and bool(file.filename)


def save_images(files, folder: str) -> list[str]:
    """Re-encode each uploaded image; raises ImageRejected for the first that is no image."""
    return [save_image(f.stream, folder) for f in files if is_uploaded(f)]
