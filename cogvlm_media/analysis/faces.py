"""Face detection and embedding with dlib and the models that ``face_recognition_models`` ships.

Used: dlib's HOG frontal face detector (inside dlib), the 5-point landmark model (to align the face
chip) and the ResNet face embedding (128 numbers; LFW 99.38 %), both from ``face_recognition_models``.
Not used: the 68-point landmark model that the same package also installs (its licence is
non-commercial). The package is located without importing it (its ``__init__`` needs ``pkg_resources``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'cogvlm-media[see]'"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
EMBEDDING = "dlib_face_recognition_resnet_model_v1.dat"


class FaceModelMissing(RuntimeError):
    """dlib or the face models are not installed; the message is one line."""


@dataclass(frozen=True)
class Found:
    box: tuple[int, int, int, int]  # left, top, width, height in the pixels of the frame given
    score: float


def _models_dir() -> str:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissing(f"faces: the face models are not installed ({EXTRA_HINT})")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "models")
    for name in (LANDMARKS, EMBEDDING):
        if not os.path.isfile(os.path.join(folder, name)):
            raise FaceModelMissing(f"faces: {name} is missing from {folder} ({EXTRA_HINT})")
    return folder


class FaceModel:
    """The detector, the aligner and the embedder, loaded once per process (see :func:`load_face_model`)."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise FaceModelMissing(f"faces: dlib is not installed ({EXTRA_HINT})") from None
        folder = _models_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(os.path.join(folder, LANDMARKS))
        self.embedder = dlib.face_recognition_model_v1(os.path.join(folder, EMBEDDING))
        self._rect = dlib.rectangle
        self.version = f"dlib-{dlib.__version__}/hog+sp5+resnet_v1"

    def detect(self, image: np.ndarray, min_score: float) -> list[Found]:
        """Faces in an RGB uint8 image whose detector score is at least ``min_score``, best first."""
        rects, scores, _ = self.detector.run(np.ascontiguousarray(image), 0, min(min_score, 0.0))
        found = [Found((r.left(), r.top(), r.width(), r.height()), float(s))
                 for r, s in zip(rects, scores) if s >= min_score]
        return sorted(found, key=lambda f: -f.score)

    def embed(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        left, top, width, height = box
        shape = self.landmarks(image, self._rect(left, top, left + width, top + height))
        return np.asarray(self.embedder.compute_face_descriptor(image, shape), dtype=np.float64)


@lru_cache(maxsize=1)
def load_face_model() -> FaceModel:
    return FaceModel()


def face_model_version() -> str:
    """The version string recorded with the faces, or "" when the models are not installed."""
    try:
        return load_face_model().version
    except FaceModelMissing:
        return ""
