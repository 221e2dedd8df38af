"""OCR speed and accuracy: seconds per scanned page, and how much of its text comes back,
for the thread count and detection size qa uses against the alternatives.

Usage: nice -n 10 .venv/bin/python bench/ocr.py [--pages 2]

Pages are A4 at 150 dpi (what `qa.ingest.ocr` renders), full of corpus sentences drawn
at 10 and 12 point, as a scanner would see a printed report. Accuracy is the share of
characters matched in order (difflib), whitespace ignored. Each configuration reads
the same pages after one warm-up page; the figure is the median seconds per page.
"""

from __future__ import annotations

import argparse
import difflib
import statistics
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from qa.ingest.ocr import DETECTION_SIDE, OCR_THREADS, RENDER_DPI, make_engine, recognise

REPO = Path(__file__).resolve().parents[1]
A4_INCHES = (8.27, 11.69)


def corpus_lines(width_chars: int) -> list[str]:
    """Body lines of the corpus articles, wrapped as a printed page would be."""
    lines: list[str] = []
    for path in sorted((REPO / "corpus").glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        for paragraph in body.split("\n\n"):
            text = " ".join(paragraph.replace("#", " ").split())
            if len(text) > 80:
                lines.extend(textwrap.wrap(text, width_chars))
    return lines


def pages(point_size: int, count: int) -> list[tuple[np.ndarray, str]]:
    """`count` pages of text at `point_size`, each with the text it holds."""
    width, height = (round(side * RENDER_DPI) for side in A4_INCHES)
    pixels = round(point_size / 72 * RENDER_DPI)
    font = ImageFont.load_default(size=pixels)
    per_line = int((width - 220) / (pixels * 0.5))
    lines = corpus_lines(per_line)
    rows = (height - 300) // int(pixels * 1.5)
    out = []
    for number in range(count):
        chunk = lines[number * rows : (number + 1) * rows]
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(chunk):
            draw.text((110, 150 + row * int(pixels * 1.5)), line, fill=0, font=font)
        out.append((np.array(image), "\n".join(chunk)))
    return out


def accuracy(found: str, truth: str) -> float:
    a, b = "".join(found.split()), "".join(truth.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(b), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2)
    args = parser.parse_args()
    configs = [(OCR_THREADS, DETECTION_SIDE, False), (1, DETECTION_SIDE, False),
               (OCR_THREADS, None, False), (OCR_THREADS, DETECTION_SIDE, True)]
    print(f"{args.pages} pages per size, A4 at {RENDER_DPI} dpi; qa uses"
          f" threads={OCR_THREADS}, detection side={DETECTION_SIDE}, no orientation model")
    print(f"{'threads':>7} {'det side':>8} {'orient.':>7} {'size':>5} {'s/page':>7}"
          f" {'chars read':>10}")
    for point_size in (10, 12):
        scans = pages(point_size, args.pages + 1)
        for threads, side, orientation in configs:
            engine = make_engine(threads, side, orientation)
            recognise(scans[0][0], engine)  # warm-up: session start, memory arenas
            seconds, scores = [], []
            for image, truth in scans[1:]:
                start = time.perf_counter()
                text = recognise(image, engine)
                seconds.append(time.perf_counter() - start)
                scores.append(accuracy(text, truth))
            print(f"{threads:>7} {side or 'full':>8} {'on' if orientation else 'off':>7}"
                  f" {point_size:>3}pt"
                  f" {statistics.median(seconds):>7.2f} {statistics.mean(scores):>10.1%}")


if __name__ == "__main__":
    main()
