"""Text detection and recognition with RapidOCR (PP-OCR models shipped inside the ``rapidocr`` wheel,
run by ONNX Runtime), behind a cheap text-likelihood check.

RapidOCR is an optional dependency (the ``[see]`` extra): :func:`load_reader` raises
:class:`OcrUnavailable` with a one-line reason when it is missing. Detection runs on the sampled frame
scaled to ``DETECT_SIDE`` pixels on its long side; recognition runs only on the detected boxes, cut
from the sampled frame itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import metadata

import numpy as np

DETECT_SIDE = 640  # long side of the frame text is detected on
CHECK_WIDTH = 320  # width of the grey frame the cheap check looks at
BLOCK = 16  # cheap check: block size (pixels of the check frame)
EDGE = 48  # a step of this much grey (0..255) between neighbours is an edge
# a block looks like text when this share of its pixels has a horizontal step and this share a vertical one
BLOCK_X, BLOCK_Y = 0.08, 0.05
MIN_TEXT_BLOCKS = 2
MIN_TEXT_SCORE = 0.6  # recognitions below this confidence are dropped


class OcrUnavailable(RuntimeError):
    """The OCR model cannot be used here; the message is one line."""


@dataclass(frozen=True)
class Recognised:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # x, y, width, height in pixels of the sampled frame


def text_likely(rgb: np.ndarray) -> bool:
    """A cheap check on a small grey copy: do at least ``MIN_TEXT_BLOCKS`` blocks hold dense strokes
    in both directions? Flat pictures, gradients and plain bars fail it; text (and busy texture) passes."""
    step = max(1, rgb.shape[1] // CHECK_WIDTH)
    small = rgb[::step, ::step]
    grey = small.mean(axis=2, dtype=np.float32) if small.ndim == 3 else small.astype(np.float32)
    h, w = (grey.shape[0] // BLOCK) * BLOCK, (grey.shape[1] // BLOCK) * BLOCK
    if h == 0 or w == 0:
        return False
    grey = grey[:h, :w]
    dx = np.zeros_like(grey, dtype=bool)
    dy = np.zeros_like(grey, dtype=bool)
    dx[:, 1:] = np.abs(np.diff(grey, axis=1)) > EDGE
    dy[1:, :] = np.abs(np.diff(grey, axis=0)) > EDGE
    share_x = dx.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))
    share_y = dy.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3))
    return int(((share_x > BLOCK_X) & (share_y > BLOCK_Y)).sum()) >= MIN_TEXT_BLOCKS


class TextReader:
    """One loaded RapidOCR engine; calls are serialised (the engine keeps per-call state)."""

    def __init__(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise OcrUnavailable("on-screen text needs RapidOCR: pip install 'cogvlm-media[see]'") from None
        try:
            self.engine = RapidOCR(params={"Global.log_level": "error", "Det.limit_type": "max",
                                           "Det.limit_side_len": DETECT_SIDE})
        except Exception as exc:  # a damaged install: one line, not a traceback
            raise OcrUnavailable(f"RapidOCR could not load its models ({str(exc).splitlines()[0][:160]})") from None
        cfg = self.engine.cfg

        def name(part) -> str:
            return f"{getattr(part.ocr_version, 'value', part.ocr_version)} {getattr(part.model_type, 'value', part.model_type)}"
        self.version = f"rapidocr {metadata.version('rapidocr')} (det {name(cfg.Det)}, rec {name(cfg.Rec)})"
        self.lock = threading.Lock()

    def read(self, rgb: np.ndarray) -> tuple[list[Recognised], int]:
        """(the recognised lines of one frame, how many boxes were detected)."""
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self.lock:
            found = self.engine(bgr, use_det=True, use_cls=False, use_rec=False)
            boxes = [] if found.boxes is None else list(found.boxes)
            out = []
            for quad in boxes:
                x0, y0 = np.floor(quad.min(axis=0)).astype(int)
                x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
                x0, y0 = max(0, x0), max(0, y0)
                x1, y1 = min(bgr.shape[1], x1), min(bgr.shape[0], y1)
                if x1 - x0 < 4 or y1 - y0 < 4:
                    continue
                rec = self.engine(bgr[y0:y1, x0:x1], use_det=False, use_cls=False, use_rec=True)
                text = " ".join((rec.txts or ("",))[0].split())
                score = float(rec.scores[0]) if rec.txts else 0.0
                if text and score >= MIN_TEXT_SCORE:
                    out.append(Recognised(text, score, (float(x0), float(y0), float(x1 - x0), float(y1 - y0))))
        return out, len(boxes)

    def read_box(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> str:
        """The text recognised in one box (normalised x, y, width, height) of a frame, or ""."""
        h, w = rgb.shape[:2]
        x0, y0 = max(0, int(box[0] * w)), max(0, int(box[1] * h))
        x1, y1 = min(w, int(np.ceil((box[0] + box[2]) * w))), min(h, int(np.ceil((box[1] + box[3]) * h)))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return ""
        with self.lock:
            rec = self.engine(np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1]), use_det=False, use_cls=False,
                              use_rec=True)
        if not rec.txts or float(rec.scores[0]) < MIN_TEXT_SCORE:
            return ""
        return " ".join(rec.txts[0].split())


_reader: TextReader | None = None
_reader_lock = threading.Lock()


def load_reader() -> TextReader:
    """The process's one text reader (loaded on first use); OcrUnavailable when it cannot be."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = TextReader()
        return _reader
