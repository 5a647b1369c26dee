"""Residents' photos: checked, stripped of metadata on arrival, and shown only to those entitled.

A phone photo carries EXIF: the GPS position of the resident's home, the camera's serial
number, sometimes the owner's name. Copying the metadata out selectively is fragile (maker
notes, XMP, ICC comments), so every photo is decoded and encoded again from its pixels; what
is stored holds nothing but the picture. The decode also proves the file is an image of an
allowed type, whatever its name or declared content type says.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.infra.context import Context
from civicpulse.storage.tables import Voice, VoicePhoto

#: what Pillow calls the formats a resident may send, and what we answer with
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: re-encoded pixels only."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def clean_photo(raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> CleanPhoto:
    """Validate an uploaded photo and return it re-encoded without any metadata.

    Refuses (with a reason a resident can act on) files that are too large, are not a JPEG,
    PNG or WebP image, or decode to more pixels than ``max_pixels`` (a small file can expand
    to gigabytes: a decompression bomb). Large photos are scaled down to ``max_side`` pixels
    on their longer side, which is plenty for staff to see a pothole.
    """
    if not raw:
        raise ValidationFailed("the photo is empty")
    if len(raw) > max_bytes:
        # the page reads at most max_bytes + 1 bytes of an upload, so the true size is unknown
        # here: say only that it is over the limit, never a size that equals the limit
        raise ValidationFailed(f"the photo is larger than the limit of {max_bytes // 1000:,} kB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(ALLOWED_FORMATS))
            if image.width * image.height > max_pixels:
                raise ValidationFailed(
                    f"the photo has {image.width}×{image.height} pixels; "
                    f"the limit is {max_pixels:,} pixels"
                )
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed("the photo must be a JPEG, PNG or WebP image") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationFailed("the photo could not be read: the file is damaged") from None
    source_format = image.format or "JPEG"
    upright = ImageOps.exif_transpose(image)  # keep the picture the right way up
    upright.thumbnail((max_side, max_side))
    return _encode(upright, keep_png=source_format == "PNG")


def _encode(image: Image.Image, *, keep_png: bool) -> CleanPhoto:
    """Encode pixels alone: no exif, icc_profile, comment or XMP argument is ever passed."""
    out = io.BytesIO()
    if keep_png:
        # screenshots and drawings stay lossless, transparency included
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        mode = "RGBA" if has_alpha else "RGB"
        pixels = image.convert(mode)
        clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
        clean.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        rgb = image.convert("RGB")
        clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
        clean.save(out, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    data = out.getvalue()
    return CleanPhoto(
        data=data,
        content_type=content_type,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def photo_row(voice_id: int, photo: CleanPhoto, now: Any) -> dict[str, Any]:
    """The insert parameters for a photo, written in its voice's own transaction."""
    return {
        "voice_id": voice_id,
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "sha256": photo.sha256,
        "data": photo.data,
        "created_at": now,
    }


def case_photo_ids(ctx: Context, case_id: int) -> list[int]:
    """Ids of the photos sent with any voice of a case, oldest first."""
    with ctx.db.reader() as s:
        return list(
            s.scalars(
                select(VoicePhoto.id)
                .join(Voice, Voice.id == VoicePhoto.voice_id)
                .where(Voice.case_id == case_id)
                .order_by(VoicePhoto.id)
            )
        )


def load_case_photo(ctx: Context, case_id: int, photo_id: int) -> VoicePhoto:
    """One photo, only if it belongs to the case: ids alone must not open other cases' photos."""
    with ctx.db.reader() as s:
        photo = s.scalars(
            select(VoicePhoto)
            .join(Voice, Voice.id == VoicePhoto.voice_id)
            .where(VoicePhoto.id == photo_id, Voice.case_id == case_id)
        ).one_or_none()
        if photo is None:
            raise NotFound("no such photo")
        s.expunge(photo)
        return photo
