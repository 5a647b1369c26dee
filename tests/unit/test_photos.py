"""Photos are decoded and encoded again: metadata gone, type and size limits enforced."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from civicpulse.domain.errors import ValidationFailed
from civicpulse.services.photos import clean_photo

LIMITS = dict(max_bytes=2_000_000, max_pixels=5_000_000, max_side=512)
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_exif(size: tuple[int, int] = (400, 200), orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera make, orientation, a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "Resident Name"  # Artist
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (30.0, 3.0, 7.5), 3: "E", 4: (120.0, 5.0, 1.25)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"home address here")
    return out.getvalue()


def test_gps_camera_and_comment_are_removed() -> None:
    raw = jpeg_with_exif()
    assert b"PhoneMaker" in raw and b"home address" in raw  # the fixture really carries them
    clean = clean_photo(raw, **LIMITS)
    assert clean.content_type == "image/jpeg"
    assert b"PhoneMaker" not in clean.data and b"Resident Name" not in clean.data
    assert b"home address" not in clean.data and b"Exif" not in clean.data
    reopened = Image.open(io.BytesIO(clean.data))
    assert dict(reopened.getexif()) == {}
    assert "comment" not in reopened.info and "exif" not in reopened.info
    assert (clean.width, clean.height) == (400, 200) == reopened.size


def test_orientation_is_applied_before_the_tag_is_dropped() -> None:
    clean = clean_photo(jpeg_with_exif(orientation=6), **LIMITS)  # 6: rotate 90° clockwise
    assert (clean.width, clean.height) == (200, 400)
    image = Image.open(io.BytesIO(clean.data)).convert("RGB")
    top = image.getpixel((100, 20))
    bottom = image.getpixel((100, 380))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[2] > 150 and bottom[0] > 150  # the blue half is now on top


def test_large_photos_are_scaled_down_to_the_longest_side() -> None:
    clean = clean_photo(jpeg_with_exif(size=(1600, 800)), **LIMITS)
    assert (clean.width, clean.height) == (512, 256)


def test_png_stays_lossless_with_its_transparency() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    image.putpixel((5, 5), (1, 2, 3, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=None)
    clean = clean_photo(out.getvalue(), **LIMITS)
    reopened = Image.open(io.BytesIO(clean.data))
    assert clean.content_type == "image/png" and reopened.mode == "RGBA"
    assert reopened.getpixel((5, 5)) == (1, 2, 3, 255) and reopened.getpixel((0, 0))[3] == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"<script>alert(1)</script>", "JPEG, PNG or WebP"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "JPEG, PNG or WebP"),  # a JPEG header, no image
        (b"x" * 2_000_001, "limit"),
    ],
)
def test_bad_files_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValidationFailed, match=reason):
        clean_photo(raw, **LIMITS)


def test_other_image_types_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    with pytest.raises(ValidationFailed, match="JPEG, PNG or WebP"):
        clean_photo(out.getvalue(), **LIMITS)


def test_decompression_bombs_are_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("L", (3000, 3000)).save(out, format="PNG")  # tiny file, 9 million pixels
    assert len(out.getvalue()) < 100_000
    with pytest.raises(ValidationFailed, match="pixels"):
        clean_photo(out.getvalue(), **LIMITS)
