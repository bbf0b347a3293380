"""The bad-input corpus: every awkward file a user (or an attacker) may upload, built once, in memory.

Each case says what the site must answer: refused with a 4xx and a sentence
(`status=400`, `message` a fragment of it), or accepted (`status=202`) for
the worker to decide. The files are small to build: the decompression bomb is
a PNG whose header claims 20,000 x 20,000 pixels, the 12 MB photo a small
JPEG padded past the size limit.
"""

import functools
import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tests.conftest import FACES_DIR

# The faces composed into the three-faces photo; ml.runtime.faces.detect finds each
# of them on a plain grey canvas with this much space around them.
THREE_FACES = ("happy_1.jpg", "neutral_2.jpg", "surprise_2.jpg")
THREE_FACES_MARGIN = 100


@dataclass(frozen=True)
class BadFile:
    id: str
    name: str
    content_type: str
    status: int
    message: str = ""

    @property
    def content(self) -> bytes:
        return BUILDERS[self.id]()


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _scene(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A landscape-like picture with no face: a sky gradient, a hill and some noise."""
    width, height = size
    rows = np.linspace(0, 1, height)[:, None]
    sky = np.stack(
        [
            (80 + 100 * rows) * np.ones((1, width)),
            (140 + 60 * rows) * np.ones((1, width)),
            (220 - 40 * rows) * np.ones((1, width)),
        ],
        axis=-1,
    )
    columns = np.arange(width)
    horizon = (height * 0.6 + 40 * np.sin(columns / 70)).astype(int)
    hill = np.arange(height)[:, None] > horizon[None, :]
    sky[hill] = (60, 120, 50)
    noise = np.random.default_rng(3).normal(0, 6, sky.shape)
    return Image.fromarray(np.clip(sky + noise, 0, 255).astype(np.uint8))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@functools.cache
def empty() -> bytes:
    return b""


@functools.cache
def text_as_jpeg() -> bytes:
    return b"Dear diary,\nthis is not a photo at all.\n" * 20


@functools.cache
def html_as_png() -> bytes:
    return b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@functools.cache
def svg() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">'
        b'<circle cx="200" cy="200" r="150" fill="gold"/><script>alert(1)</script></svg>'
    )


@functools.cache
def truncated_jpeg() -> bytes:
    whole = _encode(_scene(), "JPEG", quality=90)
    return whole[: len(whole) // 2]


@functools.cache
def decompression_bomb() -> bytes:
    """A PNG whose header claims 20,000 x 20,000 pixels (400 MP) with almost no data behind it."""
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


@functools.cache
def animated_gif() -> bytes:
    frames = [Image.new("RGB", (200, 200), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


@functools.cache
def cmyk_jpeg() -> bytes:
    return _encode(_scene().convert("CMYK"), "JPEG", quality=90)


@functools.cache
def png_16_bit() -> bytes:
    values = np.asarray(_scene().convert("L"), dtype=np.uint16) * 257
    deep = Image.fromarray(values.astype("<u2"))
    assert deep.mode == "I;16"
    return _encode(deep, "PNG")


# Stored 400 wide and 240 high, with EXIF orientation 6 ("turn 90 degrees clockwise to view"):
# the site must keep it 240 wide and 400 high.
ROTATED_STORED_SIZE = (400, 240)


@functools.cache
def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(_scene(ROTATED_STORED_SIZE), "JPEG", quality=90, exif=exif.tobytes())


@functools.cache
def twelve_megabytes() -> bytes:
    """A real JPEG with 12 MB of padding after its end marker: still a photo, too large to accept."""
    photo = _encode(_scene(), "JPEG", quality=90)
    return photo + b"\x00" * (12 * 1024 * 1024 - len(photo))


@functools.cache
def one_pixel() -> bytes:
    return _encode(Image.new("RGB", (1, 1), (255, 255, 255)), "PNG")


@functools.cache
def no_face() -> bytes:
    return _encode(_scene(), "JPEG", quality=90)


@functools.cache
def three_faces() -> bytes:
    side, margin = 350, THREE_FACES_MARGIN
    canvas = Image.new("RGB", (len(THREE_FACES) * side + (len(THREE_FACES) + 1) * margin, side + 2 * margin))
    canvas.paste((128, 128, 128), (0, 0, *canvas.size))
    for index, name in enumerate(THREE_FACES):
        with Image.open(FACES_DIR / name) as face:
            canvas.paste(face.convert("RGB").resize((side, side)), (margin + index * (side + margin), margin))
    return _encode(canvas, "JPEG", quality=92)


BUILDERS = {
    "empty": empty,
    "text-renamed-jpg": text_as_jpeg,
    "html-renamed-png": html_as_png,
    "svg": svg,
    "truncated-jpeg": truncated_jpeg,
    "decompression-bomb": decompression_bomb,
    "animated-gif": animated_gif,
    "cmyk-jpeg": cmyk_jpeg,
    "16-bit-png": png_16_bit,
    "exif-rotated": exif_rotated,
    "12-mb-photo": twelve_megabytes,
    "1x1": one_pixel,
    "no-face": no_face,
    "three-faces": three_faces,
}

CORPUS = [
    BadFile("empty", "empty.jpg", "image/jpeg", 400, "This file is empty."),
    BadFile("text-renamed-jpg", "notes.jpg", "image/jpeg", 400, "This file is not a photo we can read."),
    BadFile("html-renamed-png", "page.png", "image/png", 400, "This file is not a photo we can read."),
    BadFile("svg", "drawing.svg", "image/svg+xml", 400, "This file is not a photo we can read."),
    BadFile("truncated-jpeg", "cut.jpg", "image/jpeg", 400, "This image file is damaged or incomplete."),
    BadFile("decompression-bomb", "bomb.png", "image/png", 400, "megapixels"),
    BadFile("animated-gif", "party.gif", "image/gif", 400, "GIF files are not accepted."),
    BadFile("cmyk-jpeg", "print.jpg", "image/jpeg", 202),
    BadFile("16-bit-png", "deep.png", "image/png", 202),
    BadFile("exif-rotated", "sideways.jpg", "image/jpeg", 202),
    BadFile("12-mb-photo", "huge.jpg", "image/jpeg", 400, "larger than the 10 MB limit"),
    BadFile("1x1", "dot.png", "image/png", 400, "This image is only 1x1 pixels,"),
    BadFile("no-face", "landscape.jpg", "image/jpeg", 202),
    BadFile("three-faces", "friends.jpg", "image/jpeg", 202),
]
