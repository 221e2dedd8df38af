"""OCR for PDF pages that have no text layer (scans), offline.

A page is rendered with PDFium (pypdfium2) and read by RapidOCR: PaddleOCR's detection,
orientation and recognition models run by onnxruntime. The models ship inside the
`rapidocr` wheel and are named by path here, so nothing is ever downloaded (RapidOCR
would otherwise fetch missing models). `rapidocr` rather than the older
`rapidocr-onnxruntime`: that one requires `opencv-python`, whose GUI build needs
libGL, which headless machines lack; `rapidocr` uses `opencv-python-headless`.

Only pages with no text and at least one image are read: a page with neither is blank
and costs nothing. Everything here is imported by the PDF loader when it meets such a
page, never on the query path: importing RapidOCR and OpenCV takes over a second.

Recognised lines become text the way the rest of qa expects it: boxes on one line are
joined by a space, lines by a newline, and a vertical gap larger than a line's height
starts a new paragraph (a blank line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from statistics import median
from typing import Any

from qa.ingest.document import brief

# onnxruntime's telemetry writes under ~/.cache unless this is set before its import
# (see qa.embed.query_encoder); RapidOCR imports onnxruntime.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# 150 dpi puts 10-point text about 20 pixels high, enough for the recognition model
# (which scales lines to 48 pixels), and an A4 page (1240x1754) under RapidOCR's
# 2000-pixel limit, so it is not scaled down again. bench/ocr.py measures the cost.
RENDER_DPI = 150
# The machine has 2 cores: onnxruntime uses both within an operator and never runs
# operators in parallel, so OCR neither oversubscribes the cores nor idles one.
OCR_THREADS = 2
# The models of rapidocr 3.x (PP-OCRv6 small detection and recognition, which read
# Latin script as well as Chinese); the orientation classifier is not used (below).
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}
# Text detection runs on the page scaled so its longer side is this many pixels (the
# recognition model still reads each line from the full-resolution render): detection
# dominates OCR time, and at the full 1754 pixels it was ~3x slower (bench/ocr.py).
DETECTION_SIDE = 1280
PARAGRAPH_GAP = 1.0  # a gap this many line heights or more starts a paragraph


@dataclass(frozen=True)
class PageReading:
    """What OCR made of one page: its text, or why there is none."""

    text: str
    skipped: str | None = None  # e.g. "OCR found no text"; None when read or blank


class PdfRenderer:
    """One PDF opened by PDFium, for finding and rendering its scanned pages."""

    def __init__(self, data: bytes) -> None:
        import pypdfium2 as pdfium

        self._pdf = pdfium.PdfDocument(data)

    def close(self) -> None:
        self._pdf.close()

    def has_images(self, index: int) -> bool:
        import pypdfium2.raw as pdfium_c

        page = self._pdf[index]
        try:
            return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
        finally:
            page.close()

    def render(self, index: int, dpi: int = RENDER_DPI) -> Any:
        """The page as a grayscale numpy image."""
        page = self._pdf[index]
        try:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            return bitmap.to_numpy().copy()  # the bitmap's buffer dies with it
        finally:
            page.close()


def read_pages(data: bytes, indexes: list[int]) -> dict[int, PageReading]:
    """OCR the pages at `indexes` (0-based) of the PDF in `data`; blank pages (no image)
    are not rendered. A page that cannot be rendered or read says why, and the others
    are still read."""
    renderer = PdfRenderer(data)
    try:
        readings = {}
        for index in indexes:
            try:
                if not renderer.has_images(index):
                    readings[index] = PageReading("")
                    continue
                text = recognise(renderer.render(index))
            except Exception as exc:  # PDFium or OCR failing on one damaged page
                readings[index] = PageReading("", f"OCR failed ({brief(exc)})")
                continue
            readings[index] = PageReading(text, None if text else "OCR found no text")
        return readings
    finally:
        renderer.close()


def recognise(image: Any, engine: Any = None) -> str:
    """The text in an image (a numpy array), as lines and paragraphs; `engine` is a
    `make_engine()` (default: the shared one, made on first use)."""
    result = (engine or _shared_engine())(image)
    if result.boxes is None or not result.txts:
        return ""
    return layout_text([(_box(b), t) for b, t in zip(result.boxes, result.txts, strict=True)])


def layout_text(pieces: list[tuple[tuple[float, float, float], str]]) -> str:
    """Text pieces in reading order, each with its box (left, top, bottom), as text:
    pieces on one line joined by a space, lines by a newline, and a blank line where
    the gap above a line is at least PARAGRAPH_GAP line heights."""
    lines: list[tuple[float, float, list[str]]] = []  # (top, bottom, texts)
    for (_, top, bottom), text in pieces:
        text = " ".join(text.split())
        if not text:
            continue
        if lines and top < (lines[-1][0] + lines[-1][1]) / 2:  # starts above its middle
            last_top, last_bottom, texts = lines[-1]
            lines[-1] = (min(last_top, top), max(last_bottom, bottom), [*texts, text])
        else:
            lines.append((top, bottom, [text]))
    if not lines:
        return ""
    height = median(bottom - top for top, bottom, _ in lines) or 1.0
    out = [" ".join(lines[0][2])]
    for (_, previous_bottom, _), (top, _, texts) in pairwise(lines):
        out.append("\n\n" if top - previous_bottom >= PARAGRAPH_GAP * height else "\n")
        out.append(" ".join(texts))
    return "".join(out)


def _box(points: Any) -> tuple[float, float, float]:
    """A detected quadrilateral as (left, top, bottom)."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return min(xs), min(ys), max(ys)


@cache
def _shared_engine() -> Any:
    return make_engine()


def make_engine(threads: int = OCR_THREADS, detection_side: int | None = DETECTION_SIDE,
                orientation: bool = False) -> Any:
    """RapidOCR with the bundled models, quiet, on `threads` threads; detection on the
    page scaled to `detection_side` pixels (None: RapidOCR's default, full size); the
    line orientation classifier only if `orientation` (bench/ocr.py compares)."""
    import cv2
    import rapidocr
    from rapidocr import RapidOCR

    cv2.setNumThreads(threads)
    models = Path(rapidocr.__file__).parent / "models"
    params: dict[str, Any] = {
        "Global.log_level": "critical",
        # The line orientation classifier (0 or 180 degrees) turned some upright lines of
        # clean pages upside down, into garbage: 76% of characters read with it, 99.6%
        # without (bench/ocr.py, 10 point). Pages scanned upside down are the cost.
        "Global.use_cls": orientation,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    if detection_side:
        params.update({"Det.limit_type": "max", "Det.limit_side_len": detection_side})
    if orientation:
        params["Cls.model_path"] = str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx")
    for task, name in MODEL_FILES.items():
        path = models / name
        if not path.exists():  # a rapidocr release that ships other models
            raise RuntimeError(f"{path}: OCR model missing from the rapidocr package")
        params[f"{task}.model_path"] = str(path)
    return RapidOCR(params=params)
