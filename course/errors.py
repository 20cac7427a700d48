"""The course's own exceptions: every bad input gets a specific, readable error.

Each error says what was wrong with *this* input and what to do about it, so a
student never has to decode a traceback from inside dlib or Pillow.
"""


class CourseError(Exception):
    """Base class of every error the course raises on purpose."""


class ImageInputError(CourseError, ValueError):
    """An image could not be used: see the subclass for the reason."""


class NotAnImageError(ImageInputError):
    """The file or bytes are not an image format Pillow can read."""


class CorruptImageError(ImageInputError):
    """The file looks like an image but is damaged or truncated."""


class UnsupportedImageError(ImageInputError):
    """The image has a colour mode, bit depth or dtype the recogniser cannot take."""


class ImageSizeError(ImageInputError):
    """The image is too small to hold a face, or so large it looks like a decompression bomb."""


class FaceCountError(CourseError, ValueError):
    """The image holds no face, or more faces than the call allows."""


class NoFaceError(FaceCountError):
    """No face was found in the image."""


class SeveralFacesError(FaceCountError):
    """More than one face was found where exactly one was expected."""


class ProvenanceError(CourseError, ValueError):
    """An image arrived without a valid record of where it came from (the consent guard)."""


class DatasetError(CourseError, RuntimeError):
    """A dataset is missing, cannot be fetched, or fails its checksum."""
