"""Bad input gets a specific course error, never a crash inside dlib or a silently wrong answer."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from course import embed, faces
from course.errors import (
    CorruptImageError,
    ImageSizeError,
    NoFaceError,
    NotAnImageError,
    ProvenanceError,
    SeveralFacesError,
    UnsupportedImageError,
)
from course.images import check_rgb_array, load_image


def _save(image: Image.Image, path, fmt="PNG", **kwargs):
    image.save(path, fmt, **kwargs)
    return path


def test_rgb_jpeg_loads_as_uint8_rgb(london_dir):
    image = load_image(london_dir / "001_03_neutral.jpg")
    assert image.dtype == np.uint8 and image.shape == (350, 350, 3)


def test_bytes_load_like_files(london_dir):
    path = london_dir / "001_03_neutral.jpg"
    assert np.array_equal(load_image(path.read_bytes()), load_image(path))


def test_non_image_file_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is a text file with an image extension")
    with pytest.raises(NotAnImageError, match="not an image file"):
        load_image(path)


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(NotAnImageError, match="is a folder"):
        load_image(tmp_path)


def test_truncated_jpeg_is_refused(tmp_path, london_dir):
    payload = (london_dir / "001_03_neutral.jpg").read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(CorruptImageError, match="damaged or truncated"):
        load_image(path)


def test_corrupt_header_is_refused(tmp_path, london_dir):
    payload = bytearray((london_dir / "001_03_neutral.jpg").read_bytes())
    payload[20:400] = b"\x00" * 380  # wipe the quantisation tables
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(bytes(payload))
    with pytest.raises((CorruptImageError, NotAnImageError)):
        load_image(path)


@pytest.mark.parametrize(
    "mode, described",
    [("RGBA", "RGBA"), ("L", "greyscale"), ("CMYK", "CMYK"), ("I;16", "16-bit"), ("P", "palette")],
)
def test_other_modes_are_refused_by_name_then_convert_on_request(tmp_path, london_dir, mode, described):
    source = Image.open(london_dir / "001_03_neutral.jpg")
    converted = source.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else source.convert(mode)
    path = _save(converted, tmp_path / f"face.{'tif' if mode in ('CMYK', 'I;16') else 'png'}",
                 "TIFF" if mode in ("CMYK", "I;16") else "PNG")
    with pytest.raises(UnsupportedImageError, match=described):
        load_image(path)
    image = load_image(path, convert=True)
    assert image.dtype == np.uint8 and image.shape == (350, 350, 3)
    # the conversion keeps the face: it is still found and embeds close to the original
    original = embed.encode_face(load_image(london_dir / "001_03_neutral.jpg"), _consented())
    again = embed.encode_face(image, _consented())
    assert np.linalg.norm(original.vector - again.vector) < 0.35


def test_one_pixel_image_is_refused(tmp_path):
    path = _save(Image.new("RGB", (1, 1)), tmp_path / "dot.png")
    with pytest.raises(ImageSizeError, match="too small"):
        load_image(path)
    with pytest.raises(ImageSizeError, match="too small"):
        check_rgb_array(np.zeros((1, 1, 3), np.uint8))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # 9000 x 9000 one-bit pixels: 81 megapixels, yet only a few kilobytes on disk.
    path = _save(Image.new("1", (9000, 9000)), tmp_path / "bomb.png")
    assert path.stat().st_size < 100_000
    with pytest.raises(ImageSizeError, match="megapixel|pixel limit|decompression bomb"):
        load_image(path)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((64, 64), np.uint8), "greyscale"),
        (np.zeros((64, 64, 4), np.uint8), "RGBA"),
        (np.full((64, 64, 3), 0.5), r"values lie in 0\.\.1: use \(img \* 255\)"),
        (np.full((64, 64, 3), 200.0), r"already lie in 0\.\.255: use np\.clip"),
        (np.full((64, 64, 3), 200, np.int64), r"already lie in 0\.\.255"),
        (np.full((64, 64, 3), 60000, np.uint16), r"16-bit data\): scale with \(img >> 8\)"),
        (np.full((64, 64, 3), -3.0), "rescale to 0..255"),
        (np.zeros((64, 64, 3), bool), "8-bit RGB"),
        (np.zeros((3, 64, 64), np.uint8), "channels-first"),
        (np.zeros((2, 64, 64, 3), np.uint8), "batch"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_wrong_arrays_get_specific_errors(array, message):
    with pytest.raises(UnsupportedImageError, match=message):
        check_rgb_array(array)
    with pytest.raises(UnsupportedImageError, match=message):
        embed.detect_faces(array, _consented())


def test_exif_orientation_is_applied(tmp_path):
    # a synthetic photo stored sideways with the EXIF tag "rotate 90 degrees clockwise to view" (6)
    upright = faces.synthetic_faces(1, 1, seed=4, size=128).images[0]
    sideways = Image.fromarray(np.rot90(upright))  # what a phone writes: pixels turned, tag set
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    sideways.save(path, quality=95, exif=exif)
    loaded = load_image(path)
    assert np.abs(np.asarray(sideways).astype(int) - upright.astype(int)).mean() > 20  # untransposed is far off
    assert np.abs(loaded.astype(int) - upright.astype(int)).mean() < 8  # JPEG noise only


def test_non_contiguous_array_is_made_safe_for_dlib(london_face):
    image, provenance = london_face
    flipped = image[:, ::-1]  # a view dlib would reject
    assert not flipped.flags["C_CONTIGUOUS"]
    assert len(embed.encode_faces(flipped, provenance)) == 1


def test_no_face_raises_no_face_error():
    blank = np.full((200, 200, 3), 180, np.uint8)
    with pytest.raises(NoFaceError, match="No face found"):
        embed.encode_face(blank, _consented())


def test_several_faces_raise_several_faces_error(london_dir):
    left = load_image(london_dir / "001_03_neutral.jpg")
    right = load_image(london_dir / "004_03_neutral.jpg")
    pair = np.concatenate([left, right], axis=1)
    with pytest.raises(SeveralFacesError, match="2 faces"):
        embed.encode_face(pair, _consented())
    assert len(embed.encode_faces(pair, _consented())) == 2


def test_image_without_provenance_is_refused(london_face):
    image, _ = london_face
    with pytest.raises(ProvenanceError, match="own_photo"):
        embed.encode_face(image, None)


def test_bad_input_never_hangs(tmp_path):
    # Random bytes with a PNG signature: must fail fast with a course error.
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.bytes(5000))
    with pytest.raises((CorruptImageError, NotAnImageError)):
        load_image(path)


def _consented() -> dict:
    return {"source": "consented", "dataset": "Face Research Lab London Set", "licence": "CC BY 4.0",
            "consent": "signed consent (see data/registry.json)", "file": "test"}


def test_a_named_pipe_is_refused_at_once_not_read_forever(tmp_path):
    import os
    import threading

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            load_image(fifo)
        except Exception as err:  # recorded, checked below
            outcome.append(err)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("load_image blocked on a named pipe")
    (err,) = outcome
    assert isinstance(err, NotAnImageError) and "named pipe (FIFO)" in str(err)


def test_a_device_is_refused_by_name():
    with pytest.raises(NotAnImageError, match="is a device"):
        load_image("/dev/zero")


def test_the_hint_for_grey_with_alpha_gives_an_rgb_image():
    grey_alpha = np.zeros((64, 64, 2), np.uint8)
    with pytest.raises(UnsupportedImageError, match=r"img\[\.\.\., 0\]") as caught:
        check_rgb_array(grey_alpha)
    assert "np.dstack([img] * 3)" not in str(caught.value)
    img = grey_alpha
    assert check_rgb_array(np.dstack([img[..., 0]] * 3)).shape == (64, 64, 3)  # the hint, followed, works
    one_channel = np.zeros((64, 64, 1), np.uint8)
    with pytest.raises(UnsupportedImageError) as caught:
        check_rgb_array(one_channel)
    img = one_channel
    assert check_rgb_array(np.dstack([img.reshape(img.shape[:2])] * 3)).shape == (64, 64, 3)
