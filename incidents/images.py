"""Pictures in reports (PRODUCT.md, "Writing, duplicates and importing Markdown").

Images (PNG, JPEG, GIF, WebP, at most MAX_IMAGE_BYTES) are uploaded into a report by pasting,
dropping or choosing a file. Each is opened with Pillow, refused unless it is one of those
formats and decodes whole, and re-encoded from its pixels: EXIF (camera, GPS position, time),
XMP, text chunks and comments are dropped; the colour profile is kept so colours look the same.
A JPEG is turned upright by its EXIF orientation before that goes. An animated GIF or WebP
keeps only its first frame: a report is printed and read, and a still of a graph says what
an animation would, without letting a small file unpack into thousands of frames. A JPEG
that carries a second picture (MPO, from some phones and cameras) is taken as a JPEG of its
first one.

The result is stored through Django's default storage (a folder under MEDIA_ROOT unless
settings say otherwise; docs/operations.md, "Pictures") and served by
`/incidents/images/<key>.<extension>` only to people who may see the incident: never from
MEDIA_URL. An image uploaded from the new-incident form belongs to its uploader until the
incident is saved with its Markdown in the report (`bind_pending`, called by
`actions.save_incident`).
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from common.roles import require_writer
from incidents.models import Incident, IncidentImage

# PRODUCT.md: "at most 10 MB".
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# A 10 MB PNG of one colour unpacks to gigabytes: anything with more pixels than this (a
# 8,000 × 5,000 screenshot) is refused before its pixels are decoded.
MAX_IMAGE_PIXELS = 40_000_000

# A picture uploaded from a new-incident form that was never saved is deleted this long after
# its upload (a daily task): long enough for a report written over weeks from a saved draft.
ABANDONED_AFTER = timedelta(days=30)

# Pillow's format name: (extension, content type).
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
EXTENSIONS = {extension for extension, _ in FORMATS.values()}

NOT_AN_IMAGE = "This file is not a PNG, JPEG, GIF or WebP image."
DAMAGED = "This image is damaged or cut short: it could not be read whole."
TOO_LARGE = "This image is larger than 10 MB. Make it smaller and upload it again."
TOO_MANY_PIXELS = (
    f"This image has more than {MAX_IMAGE_PIXELS // 1_000_000} million pixels. "
    "Make it smaller and upload it again."
)

# The Markdown of an image on Once: `(/incidents/images/<key>.<extension>)`, also written as
# an absolute URL on ONCE_BASE_URL.
_IMAGE_URL = re.compile(r"/incidents/images/([A-Za-z0-9_-]{16,32})\.(?:png|jpg|gif|webp)\b")


class ImageRefused(ValueError):
    """An upload that isn't an image Once accepts; the message says why, for the person."""


@dataclass
class Encoded:
    """An image re-encoded from its pixels alone."""

    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def reencode(source: IO[bytes]) -> Encoded:
    """Validate an uploaded image and re-encode it without its metadata.

    `source` is a binary file positioned at its start. Raises ImageRefused with a message for
    the person: not one of the four formats (a text file named .png), damaged or truncated,
    or more than MAX_IMAGE_PIXELS pixels (a decompression bomb). Size in bytes is checked by
    the caller, before reading.
    """
    try:
        # Pillow warns past its own pixel limit and raises past twice that; our limit is
        # lower and checked first, but its warning is an error here too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=list(FORMATS)) as opened:
                # A JPEG holding a second picture (a Multi-Picture file, as phones and
                # cameras write) is a JPEG whose first frame is the photo.
                kind = "JPEG" if opened.format == "MPO" else opened.format or ""
                if kind not in FORMATS:
                    raise ImageRefused(NOT_AN_IMAGE)
                if opened.width * opened.height > MAX_IMAGE_PIXELS:
                    raise ImageRefused(TOO_MANY_PIXELS)
                opened.seek(0)  # the first frame of an animation (see the module docstring)
                opened.load()
                return _encode(opened, kind)
    except UnidentifiedImageError:
        raise ImageRefused(NOT_AN_IMAGE) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(TOO_MANY_PIXELS) from None
    except ImageRefused:
        raise
    except Exception:
        # Pillow reports truncated and corrupt data with OSError, SyntaxError, ValueError,
        # EOFError, struct.error and more, depending on the format's decoder: whatever a
        # file of untrusted bytes makes it raise, the person hears the file is damaged.
        raise ImageRefused(DAMAGED) from None


def _encode(image: Image.Image, kind: str) -> Encoded:
    extension, content_type = FORMATS[kind]
    icc_profile = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    if kind == "JPEG":
        # Upright first: the orientation is EXIF, which goes.
        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")  # CMYK and the like: browsers draw RGB best
    # A copy of the pixels (and palette) with no info at all: nothing Pillow might write back.
    clean = image.copy()
    clean.info = {}
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if kind in ("JPEG", "WEBP"):
        options.update(quality=90)
    elif transparency is not None and clean.mode in ("P", "L", "RGB"):
        options["transparency"] = transparency  # PNG and GIF keep their transparent colour
    if kind == "GIF":
        options.pop("icc_profile", None)
    out = io.BytesIO()
    try:
        clean.save(out, format=kind, **options)
    except (OSError, ValueError):
        # A mode the format's writer doesn't take back (a PNG opened as "PA", say): its
        # pixels in full colour, with transparency, are the same picture.
        clean = clean.convert("RGB" if kind == "JPEG" else "RGBA")
        options.pop("transparency", None)
        out = io.BytesIO()
        clean.save(out, format=kind, **options)
    return Encoded(out.getvalue(), extension, content_type, clean.width, clean.height)


def alt_text(filename: str) -> str:
    """What an image's Markdown says in `![…]`: its file name without extension or brackets."""
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", filename or "")
    stem = re.sub(r"[\[\]()\\!`*_<>\r\n\t]+", " ", stem).strip()
    return stem[:100] or "image"


def upload_image(
    upload: IO[bytes], *, name: str, size: int, by: Any, incident: Incident | None
) -> IncidentImage:
    """Validate, re-encode and store an uploaded image for `incident` (None: a new incident).

    `size` is the upload's length in bytes. Raises ImageRefused (a message for the person),
    PermissionDenied for a viewer or for an incident `by` may not see.
    """
    require_writer(by)
    if incident is not None and not incident.is_visible_to(by):
        raise PermissionDenied("You may not change this incident.")
    if size > MAX_IMAGE_BYTES:
        raise ImageRefused(TOO_LARGE)
    encoded = reencode(upload)
    key = secrets.token_urlsafe(16)  # 22 characters
    image = IncidentImage(
        key=key,
        incident=incident,
        uploaded_by=by if getattr(by, "is_authenticated", False) else None,
        name=alt_text(name),
        extension=encoded.extension,
        content_type=encoded.content_type,
        width=encoded.width,
        height=encoded.height,
        size=len(encoded.data),
    )
    stored_name = f"incident-images/{key}.{encoded.extension}"
    image.file.save(stored_name, ContentFile(encoded.data), save=False)
    image.save()
    return image


def markdown_of(image: IncidentImage) -> str:
    """The Markdown that shows `image` in a report: `![name](/incidents/images/key.png)`."""
    return f"![{image.name}]({image.get_absolute_url()})"


def bind_pending(incident: Incident, body: str, *, by: Any) -> int:
    """Give `incident` the images `by` uploaded from the new-incident form that `body` shows.

    Called by `actions.save_incident` inside its transaction. Only `by`'s own images without an
    incident are taken: naming another's image in a report doesn't make it visible. Returns
    how many were bound.
    """
    if by is None or not getattr(by, "is_authenticated", False):
        return 0
    keys = set(_IMAGE_URL.findall(body or ""))
    if not keys:
        return 0
    return IncidentImage.objects.filter(
        key__in=keys, incident__isnull=True, uploaded_by=by.pk
    ).update(incident=incident)


def visible_image(key: str, extension: str, user: Any) -> IncidentImage | None:
    """The image at `key`.`extension` if `user` may see it, else None (answered 404).

    Visible when its incident is (Incident.objects.visible_to); an image not yet bound to an
    incident only to its uploader.
    """
    image = IncidentImage.objects.filter(key=key, extension=extension).first()
    if image is None:
        return None
    if image.incident_id is None:
        mine = bool(getattr(user, "is_authenticated", False)) and image.uploaded_by_id == user.pk
        return image if mine else None
    if not Incident.objects.visible_to(user).filter(pk=image.incident_id).exists():
        return None
    return image


def delete_abandoned(now: datetime | None = None) -> int:
    """Delete the pictures never saved with an incident, ABANDONED_AFTER after their upload:
    their files from the storage, then their rows. Returns how many; run daily by beat."""
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    abandoned = list(IncidentImage.objects.filter(incident__isnull=True, created_at__lt=cutoff))
    for image in abandoned:
        image.file.delete(save=False)  # no error if the file is already gone
        image.delete()
    return len(abandoned)
