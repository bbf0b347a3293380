"""Turning an uploaded file into a photo the worker can trust.

Every check here runs in the web request, before anything is stored or
queued, so that a bad upload costs the user one clear sentence and costs the
worker nothing. Content is judged by decoding it with Pillow, never by the
file name or the browser's content type.
"""

import io
import logging
import math
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from typing import IO

import numpy as np
import pillow_heif
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

# iPhone photos (HEIC). pillow-heif turns them upright from their orientation as it opens them.
pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# The memory one decode may take. PNG, WebP and HEIC decode at full size (a JPEG
# is decoded scaled down, see draft() below): a 165 KB 6300x6300 RGBA PNG costs
# 160 MB decoded, and eight of them at once took the web processes to 5.7 GB.
MAX_DECODED_BYTES = 128 * 1024 * 1024
# Pillow keeps RGB, RGBA, LA, I, F and CMYK in 4 bytes a pixel; these in fewer.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# A HEIC decode holds libheif's YCbCr planes, its RGB output and Pillow's copy at once: a 30 MP
# HEIC took 208 MB, about 7 bytes a pixel, whatever the mode Pillow reports.
_HEIC_BYTES_PER_PIXEL = 8
# Each scan of a JPEG is a pass of the decoder over every coefficient of the picture (35 ms at 36 MP),
# and nothing in the format bounds their number: a 305 KB file repeating one refinement scan 2,000
# times decoded for 71 s. Progressive JPEGs from cameras and browsers have about 10 scans.
MAX_JPEG_SCANS = 32
# The classifier reads 48x48 crops; FER-2013's own faces are 48 px, and tight
# crops down to two thirds of that still read.
MIN_SIDE = 32
# The stored copy is scaled down to this longest side: plenty for finding
# faces (the classifier sees 48x48 crops) and it keeps a 40 MP upload from
# costing the worker seconds of decoding on every retry.
STORED_MAX_SIDE = 2048
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "MPO": "JPEG", "HEIF": "HEIC"}

NOT_AN_IMAGE = "This file is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image."
DAMAGED = "This image file is damaged or incomplete. Please upload it again or choose another photo."


@dataclass(frozen=True)
class NormalisedPhoto:
    jpeg: bytes
    width: int
    height: int


_decode_slots_lock = threading.Lock()
_decode_slots: threading.BoundedSemaphore | None = None


def _decode_slot() -> threading.BoundedSemaphore:
    """At most UPLOAD_DECODES_PER_PROCESS decodes at once in a web process; the others wait their turn.

    Threads of one gunicorn process share its memory: without this, twelve
    large uploads arriving together would all be decoded at the same moment.
    """
    global _decode_slots
    with _decode_slots_lock:
        if _decode_slots is None:
            _decode_slots = threading.BoundedSemaphore(settings.UPLOAD_DECODES_PER_PROCESS)
        return _decode_slots


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"image": [ValidationError(message, code=code)]})


def photo_normalise(upload: IO[bytes] | None, *, size: int | None) -> NormalisedPhoto:
    """Validate an uploaded photo and return it upright, in RGB, as a JPEG.

    Raises ValidationError (keyed on "image") with a sentence the user can act
    on for anything that is not a usable JPEG, PNG, WebP or HEIC photo. EXIF
    metadata (which may hold the place a photo was taken) is not kept.
    """
    if upload is None:
        raise _refuse("Choose a photo to upload.", "required")
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size == 0:
        raise _refuse("This file is empty. Please choose a photo.", "empty")
    if size > MAX_UPLOAD_BYTES:
        megabytes = size / (1024 * 1024)
        raise _refuse(
            f"This file is {megabytes:.1f} MB, larger than the 10 MB limit. Please choose a smaller photo.", "too_large"
        )
    upload.seek(0)

    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; treat the
        # warning as the error it is for us.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(upload)  # lazy: reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(
                "This image has far too many pixels. Please upload a photo under 40 megapixels.", "too_many_pixels"
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise _refuse(NOT_AN_IMAGE, "not_an_image") from None

        with image:
            # Read from the markers, before waiting for a decode slot: a refusal costs no decoding.
            coefficient_bytes = _jpeg_coefficient_bytes(upload) if image.format in {"JPEG", "MPO"} else 0
            with _decode_slot():
                return _normalise_opened(image, coefficient_bytes=coefficient_bytes)


# In entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed byte), a restart marker
# (0xD0-0xD7) or more 0xFF fill; anything else starts the next marker.
_MARKER_AFTER_SCAN_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Start-of-frame markers: 0xC0-0xCF but for DHT (0xC4), JPG (0xC8) and DAC (0xCC).
_START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_coefficient_bytes(upload: IO[bytes]) -> int:
    """The memory libjpeg's whole-image coefficient buffers take for this JPEG; refuses one with too many scans.

    A JPEG in one scan (a baseline JPEG as cameras save it) is decoded a few rows at a time and needs no such
    buffer: 0. One in several scans (progressive) keeps every coefficient, 2 bytes each, of every
    component at its own sampling, until the last scan. Walks the first picture's markers (an MPO's
    further pictures are never decoded); a file whose markers cannot be followed is left to Pillow.
    """
    position = upload.tell()
    upload.seek(0)
    data = upload.read()
    upload.seek(position)
    scans = 0
    frame: bytes | None = None
    at = 2  # after SOI
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker == 0xD9:  # EOI: the first picture ends
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack_from(">H", data, at + 2)
        if marker in _START_OF_FRAME and frame is None:
            frame = data[at + 4 : at + 2 + length]
        at += 2 + length
        if marker == 0xDA:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise _refuse(
                    f"This JPEG is stored in more than {MAX_JPEG_SCANS} passes (progressive scans), far more "
                    "than a camera or browser writes; we can't open it. Please save it again as an ordinary "
                    "JPEG or choose another photo.",
                    "too_many_scans",
                )
            found = _MARKER_AFTER_SCAN_DATA.search(data, at)
            if found is None:
                break
            at = found.start()
    if scans <= 1 or frame is None or len(frame) < 6:
        return 0
    _precision, height, width, count = struct.unpack_from(">BHHB", frame)
    if count == 0 or len(frame) < 6 + 3 * count:
        return 0
    # Each component: its id, then its horizontal and vertical sampling factors in one byte.
    sampling = [(max(1, frame[7 + 3 * index] >> 4), max(1, frame[7 + 3 * index] & 0x0F)) for index in range(count)]
    most_h = max(h for h, _ in sampling)
    most_v = max(v for _, v in sampling)
    total = 0
    for h, v in sampling:
        # Blocks of 8x8 coefficients, padded to whole MCUs as libjpeg allocates them.
        across = math.ceil(math.ceil(width * h / most_h) / 8)
        down = math.ceil(math.ceil(height * v / most_v) / 8)
        total += (math.ceil(across / h) * h) * (math.ceil(down / v) * v) * 64 * 2
    return total


def _normalise_opened(image: Image.Image, *, coefficient_bytes: int = 0) -> NormalisedPhoto:
    if image.format not in ACCEPTED_FORMATS:
        kind = image.format or "this kind of image"
        raise _refuse(
            f"{kind} files are not accepted. Please upload a JPEG, PNG, WebP or HEIC photo.", "unsupported_format"
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _refuse(
            f"This photo is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the limit is 40 "
            "megapixels. Please upload a smaller photo.",
            "too_many_pixels",
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise _refuse(
            f"This image is only {width}x{height} pixels, too small to read a face in: please upload a photo at "
            f"least {MIN_SIDE} pixels on each side.",
            "too_small",
        )
    scale = max(width, height) / STORED_MAX_SIDE
    if image.format in {"JPEG", "MPO"} and scale > 1.5:
        # Let the JPEG decoder scale down by 2, 4 or 8 while decoding (to no
        # less than two thirds of the stored size): several times faster for
        # phone photos, which are scaled down anyway, and a fraction of the memory.
        image.draft(None, (int(width / scale / 1.5), int(height / scale / 1.5)))
    if image.format == "HEIF":
        # Bounded by the declared size: libheif decodes the whole picture at once, with no scaling.
        decoded_bytes = width * height * _HEIC_BYTES_PER_PIXEL
    else:
        decoded_bytes = image.width * image.height * _BYTES_PER_PIXEL.get(image.mode, 4) + coefficient_bytes
    if decoded_bytes > MAX_DECODED_BYTES:
        limit = MAX_DECODED_BYTES / (decoded_bytes / (width * height)) / 1e6
        kind = ACCEPTED_FORMATS[image.format]
        if coefficient_bytes:
            kind, instead = f"progressive {kind}", "the same photo saved as an ordinary (baseline) JPEG"
        else:
            instead = "a JPEG"
        raise _refuse(
            f"This {kind} image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), more than the "
            f"{limit:.0f} megapixels we can open for a {kind} like it; please upload a smaller photo or {instead}.",
            "too_many_pixels",
        )
    # Animated PNG and WebP: the first frame is the photo (Image.open starts there).
    try:
        image.load()
        # Scale down before anything else works on the pixels: the rotation,
        # the alpha composite and the 16-bit conversion then cost a fraction.
        image = _reduced(image)
        image = ImageOps.exif_transpose(image)
        rgb = _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            "This image has far too many pixels. Please upload a photo under 40 megapixels.", "too_many_pixels"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, RuntimeError):
        # Pillow's decoders report truncated or corrupt data with any of these; pillow-heif raises
        # RuntimeError where libheif refuses to decode, as for a size box (`ispe`) that understates
        # the picture's size.
        raise _refuse(DAMAGED, "damaged") from None

    if max(rgb.size) > STORED_MAX_SIDE:
        rgb.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=90)
    return NormalisedPhoto(jpeg=buffer.getvalue(), width=rgb.width, height=rgb.height)


def _reduced(image: Image.Image) -> Image.Image:
    """The image scaled down by a whole factor to no less than the stored size (the EXIF data goes along)."""
    factor = max(image.size) // STORED_MAX_SIDE
    if factor < 2:
        return image
    exif = image.getexif()
    if image.mode in {"1", "P", "I;16", "I;16L", "I;16B", "I;16N"}:
        # Pillow's box reduction does not take these modes; a palette must not be averaged anyway.
        size = (max(1, image.width // factor), max(1, image.height // factor))
        smaller = image.resize(size, Image.Resampling.NEAREST)
    else:
        smaller = image.reduce(factor)
    smaller.info = dict(image.info)
    if exif:
        smaller.info["exif"] = exif.tobytes()
    # Free the full-size pixels now rather than when the request ends: they are most of a decode's memory.
    image.close()
    return smaller


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: 16-bit scaled down, transparency over white."""
    if image.mode in {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}:
        # In the samples' own type (float64 took 8 bytes a pixel, 760 MB for a 16-bit 6300x6300 grey PNG).
        values = np.array(image)
        # 16-bit samples span 0..65535 (Pillow reads 16-bit PNGs as "I" too).
        if values.max(initial=0) > 255:
            np.floor_divide(values, 257, out=values, casting="unsafe")
        np.clip(values, 0, 255, out=values)
        image = Image.fromarray(values.astype(np.uint8), mode="L")
    if image.mode == "P" or image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")
