"""How soon a new document is searchable under `qa watch`, or in the TUI: from the
moment the file is written to the moment a search finds it.

Usage: nice -n 10 .venv/bin/python bench/watch.py [--files 5] [--tui]

A private copy of the corpus is indexed, the watcher loop (`qa.watch.loop.watch_index`,
the code `qa watch` runs) is started with the real model, and then each new note is
written whole; the clock stops when `Searcher.search` returns it first for its own
question. The quiet period the watcher waits for (QUIET_SECONDS) is part of the figure.

With --tui, the same notes are written into the corpus of the real app (run headless
with Textual's Pilot, watching its corpus as `qa tui` does); the clock stops when the
app has shown the notice naming the note and its own search returns the note first.
The app loads the model for its first update, as it does for a user, so the first note
is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from qa.corpus.changes import QUIET_SECONDS
from qa.embed.document_embedder import DocumentEmbedder
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths
from qa.watch.loop import watch_index

REPO = Path(__file__).resolve().parents[1]
TOPICS = ["lighthouse keepers on the Skarvik rocks", "cherry trees in the Hrazdan gorge",
          "a ferry timetable for Lake Sevan", "bread ovens in a mountain village",
          "a choir that sings in an old observatory", "beekeepers on the Ararat plain",
          "the tram depot of a northern town", "salt pans drying on a windy coast"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--tui", action="store_true", help="time the TUI instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "corpus", Path(tmp) / "index")
        shutil.copytree(REPO / "corpus", paths.corpus)
        embedder = DocumentEmbedder()
        update_index(paths, progress=False, embedder=embedder)  # loads the model
        if args.tui:
            seconds = asyncio.run(tui_seconds(paths, args.files))
            print(f"TUI, write to searchable, {len(seconds)} new notes (quiet period"
                  f" {QUIET_SECONDS:g} s): first (the app loads the model) {seconds[0]:.2f} s;"
                  f" the others: median {statistics.median(seconds[1:]):.2f} s,"
                  f" max {max(seconds[1:]):.2f} s")
            return
        stop = threading.Event()
        lines: list[str] = []
        thread = threading.Thread(target=watch_index, kwargs=dict(
            paths=paths, embedder=embedder, stop=stop, echo=lines.append, warn=print))
        thread.start()
        while not any(line.startswith("watching ") for line in lines):
            time.sleep(0.01)
        searcher = Searcher(paths.index)
        seconds = []
        try:
            for topic in TOPICS[: args.files]:
                start = time.perf_counter()
                name, question = note(paths.corpus, topic)
                while searcher.search(question, 1).hits[0].passage.path != name:
                    time.sleep(0.02)
                seconds.append(time.perf_counter() - start)
        finally:
            searcher.close()
            stop.set()
            thread.join()
    print(f"write to searchable, {len(seconds)} new notes (quiet period {QUIET_SECONDS:g} s):"
          f" median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")


def note(corpus: Path, topic: str) -> tuple[str, str]:
    """Write a note about `topic`; its file name, and the question it answers."""
    name = topic.replace(" ", "-") + ".md"
    (corpus / name).write_text(
        f"---\ntitle: A note on {topic}\n---\n\nThis note is about {topic}, and"
        f" nothing else: {topic} are its only subject.\n", encoding="utf-8")
    return name, f"What does the note say about {topic}?"


async def tui_seconds(paths: Paths, files: int) -> list[float]:
    from qa.tui.app import create_app

    app = create_app(paths, watch_corpus=True)
    seconds = []
    async with app.run_test(size=(100, 30)):
        while not (app.ready and app.watching):
            await asyncio.sleep(0.02)
        for topic in TOPICS[:files]:
            start = time.perf_counter()
            name, question = note(paths.corpus, topic)
            while not await _found(app, name, question):
                await asyncio.sleep(0.05)
            seconds.append(time.perf_counter() - start)
    return seconds


async def _found(app: Any, name: str, question: str) -> bool:
    """The app named the note in a notice, is ready again, and its search finds it."""
    if not (any(name in n for n in app.notices) and app.ready and not app.reindexing):
        return False
    answer = await asyncio.to_thread(app.engine.search, question, 1)
    return bool(answer.hits) and answer.hits[0].passage.path == name


if __name__ == "__main__":
    main()
