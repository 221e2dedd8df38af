"""How soon a new document is searchable under `qa watch`: from the moment the file is
written to the moment a search finds it, with the real model already loaded.

Usage: nice -n 10 .venv/bin/python bench/watch.py [--files 5]

A private copy of the corpus is indexed, the watcher loop (`qa.watch.loop.watch_index`,
the code `qa watch` runs) is started with the real model, and then each new note is
written whole; the clock stops when `Searcher.search` returns it first for its own
question. The quiet period the watcher waits for (QUIET_SECONDS) is part of the figure.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "corpus", Path(tmp) / "index")
        shutil.copytree(REPO / "corpus", paths.corpus)
        embedder = DocumentEmbedder()
        update_index(paths, progress=False, embedder=embedder)  # loads the model
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
                name = topic.replace(" ", "-") + ".md"
                question = f"What does the note say about {topic}?"
                start = time.perf_counter()
                (paths.corpus / name).write_text(
                    f"---\ntitle: A note on {topic}\n---\n\nThis note is about {topic}, and"
                    f" nothing else: {topic} are its only subject.\n", encoding="utf-8")
                while searcher.search(question, 1).hits[0].passage.path != name:
                    time.sleep(0.02)
                seconds.append(time.perf_counter() - start)
        finally:
            searcher.close()
            stop.set()
            thread.join()
    print(f"write to searchable, {len(seconds)} new notes (quiet period {QUIET_SECONDS:g} s):"
          f" median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
