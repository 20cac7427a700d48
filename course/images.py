"""Loading and checking images before they reach the recogniser.

dlib only accepts 8-bit RGB (or grey) arrays, and crashes or silently misbehaves
on anything else. Every image the course handles passes through
:func:`load_image` (for files and bytes) or :func:`check_rgb_array` (for arrays),
which turn each kind of bad input into a specific :mod:`course.errors` exception.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import (
    CorruptImageError,
    ImageInputError,
    ImageSizeError,
    NotAnImageError,
    UnsupportedImageError,
)

#: Smallest side, in pixels, on which dlib's detectors can find a face at all.
MIN_SIDE = 32
#: Largest image accepted, in pixels (width x height): 40 megapixels, well above a
#: phone photo, far below what a decompression bomb expands to.
MAX_PIXELS = 40_000_000

_CONVERTIBLE_MODES = {
    "L": "greyscale",
    "LA": "greyscale with transparency",
    "RGBA": "RGB with transparency (RGBA)",
    "P": "palette (indexed colour)",
    "PA": "palette with transparency",
    "CMYK": "CMYK (print colours)",
    "YCbCr": "YCbCr",
    "I;16": "16-bit greyscale",
    "I;16B": "16-bit greyscale",
    "I;16L": "16-bit greyscale",
    "I": "32-bit integer greyscale",
    "F": "32-bit float greyscale",
}


def load_image(source: str | os.PathLike | bytes, *, convert: bool = False) -> np.ndarray:
    """Read an image file (or its bytes) into an 8-bit RGB array the recogniser accepts.

    By default only 8-bit RGB images are accepted, and any other mode raises
    :class:`UnsupportedImageError` naming the mode. With ``convert=True`` the usual
    alternatives (greyscale, RGBA, palette, CMYK, 16-bit) are converted to RGB
    explicitly; transparency is flattened onto white.
    """
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source)
    if isinstance(stream, Path):
        _refuse_special_file(stream, name)
    # face_recognition sets LOAD_TRUNCATED_IMAGES = True at import, which would silently
    # grey-fill half a damaged photo; the course refuses such files instead.
    lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                _check_pixel_count(img.size, name)
                img.load()
                # phone photos are often stored sideways with an EXIF "rotate me" tag: apply it
                return _to_rgb_array(ImageOps.exif_transpose(img), name, convert)
    except ImageInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageSizeError(f"{name}: refused as a possible decompression bomb ({err}).") from None
    except UnidentifiedImageError:
        raise NotAnImageError(
            f"{name}: not an image file Pillow can read (expected JPEG, PNG, WebP, ...)."
        ) from None
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise NotAnImageError(f"{name}: is a folder, not an image file.") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise CorruptImageError(f"{name}: the image data is damaged or truncated ({err}).") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def check_rgb_array(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous uint8 H x W x 3 array, or raise a specific error.

    Catches what would otherwise crash or mislead dlib: wrong dtype (float images,
    16-bit), wrong number of channels (greyscale, RGBA), wrong number of dimensions
    (a batch passed as one image), and images too small or too large.
    """
    if not isinstance(image, np.ndarray):
        raise UnsupportedImageError(
            f"{name}: expected a numpy array, got {type(image).__name__}; "
            "use course.images.load_image(path) to read a file."
        )
    if image.ndim == 4:
        raise UnsupportedImageError(
            f"{name}: got a batch of shape {image.shape}; pass one image (H x W x 3) at a time "
            "or use course.embed.embed_batch."
        )
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise UnsupportedImageError(
            f"{name}: greyscale image of shape {image.shape}; the recogniser needs RGB "
            "(H x W x 3). Stack the channel three times, e.g. np.dstack([img.reshape(img.shape[:2])] * 3)."
        )
    if image.ndim == 3 and image.shape[2] == 2:
        raise UnsupportedImageError(
            f"{name}: greyscale with transparency, shape {image.shape}; the recogniser needs RGB "
            "(H x W x 3). Keep the grey channel and stack it three times: np.dstack([img[..., 0]] * 3)."
        )
    if image.ndim != 3:
        raise UnsupportedImageError(f"{name}: expected shape H x W x 3, got {image.shape}.")
    if image.shape[2] == 4:
        raise UnsupportedImageError(
            f"{name}: RGBA image (4 channels); drop or flatten the alpha channel first, "
            "e.g. load_image(path, convert=True)."
        )
    if image.shape[2] != 3:
        channels_first = " It looks channels-first: use np.moveaxis(img, 0, -1)." if image.shape[0] in (3, 4) else ""
        raise UnsupportedImageError(f"{name}: expected 3 colour channels last (H x W x 3), got shape "
                                    f"{image.shape}.{channels_first}")
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"{name}: expected dtype uint8, got {image.dtype}.{_dtype_hint(image)}")
    _check_pixel_count((image.shape[1], image.shape[0]), name)
    return np.ascontiguousarray(image)


def _refuse_special_file(path: Path, name: str) -> None:
    """Refuse a FIFO, device or socket before opening it: reading one can block forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except OSError as err:
        raise NotAnImageError(f"{name}: cannot be read ({err}).") from None
    if stat.S_ISDIR(mode):
        raise NotAnImageError(f"{name}: is a folder, not an image file.")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise NotAnImageError(f"{name}: is {kind}, not an image file; save the image to a file first.")


def _dtype_hint(image: np.ndarray) -> str:
    """How to turn this non-uint8 array into 8-bit RGB, judged from its actual values (the dtype alone misleads)."""
    if image.dtype == bool or not image.size:
        return " Build an 8-bit RGB image (values 0..255) instead."
    low, high = float(np.nanmin(image)), float(np.nanmax(image))
    if not (np.isfinite(low) and np.isfinite(high)):
        return " It contains NaN or infinite values; fix those first."
    if low >= 0 and high <= 1:
        return " Its values lie in 0..1: use (img * 255).round().astype(np.uint8)."
    if low >= 0 and high <= 255:
        return " Its values already lie in 0..255: use np.clip(img, 0, 255).round().astype(np.uint8)."
    if low >= 0 and high <= 65535 and np.issubdtype(image.dtype, np.integer):
        return " Its values go up to 65535 (16-bit data): scale with (img >> 8).astype(np.uint8)."
    return (f" Its values run from {low:g} to {high:g}: rescale to 0..255 first, "
            "e.g. ((img - img.min()) / (img.max() - img.min()) * 255).round().astype(np.uint8).")


def _check_pixel_count(size: tuple[int, int], name: str) -> None:
    width, height = size
    if min(width, height) < MIN_SIDE:
        raise ImageSizeError(
            f"{name}: {width} x {height} pixels is too small to hold a face "
            f"(at least {MIN_SIDE} x {MIN_SIDE} is needed)."
        )
    if width * height > MAX_PIXELS:
        raise ImageSizeError(
            f"{name}: {width} x {height} pixels is over the {MAX_PIXELS:,}-pixel limit; "
            "downscale it first (this also guards against decompression bombs)."
        )


def _to_rgb_array(img: Image.Image, name: str, convert: bool) -> np.ndarray:
    if img.mode == "RGB":
        return check_rgb_array(np.asarray(img), name=name)
    described = _CONVERTIBLE_MODES.get(img.mode, img.mode)
    if not convert:
        raise UnsupportedImageError(
            f"{name}: the image is {described} (Pillow mode {img.mode!r}); the recogniser needs "
            "8-bit RGB. Load it with load_image(path, convert=True) to convert it explicitly."
        )
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(img, dtype=np.float64)
        span = max(values.max() - values.min(), 1e-12)
        grey = np.round(255 * (values - values.min()) / span).astype(np.uint8)
        return check_rgb_array(np.dstack([grey] * 3), name=name)
    if "A" in img.mode or img.mode == "P" and "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return check_rgb_array(np.asarray(img.convert("RGB")), name=name)
