"""`qa watch` on real file operations: the watcher loop in a thread with the fake
embedder for most cases, and one real `qa watch` process (real model) end to end.

Every wait is on a condition (the index's contents, a printed line), never a fixed
sleep; the only sleeps are the slow writer's pauses, which are the thing under test.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qa.index.layout import index_exists, store_path
from qa.index.store import Store
from qa.index.writer import update_index
from qa.settings import Paths
from qa.watch.loop import watch_index
from tests.conftest import CORPUS, QA, FakeEmbedder, assert_one_line_error, live, run_qa

NOTE = "---\ntitle: {title}\n---\n\n{body}\n"


def wait_until(condition: Callable[[], object], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


def indexed(paths: Paths) -> dict[str, str]:
    """Each indexed document's path and text, read from the store."""
    if not index_exists(paths.index):
        return {}
    store = Store(store_path(live(paths.index)))
    try:
        return {path: store.document_text(doc.id) for path, doc in store.documents().items()}
    finally:
        store.close()


@dataclass
class Watcher:
    """The watcher loop running in a thread, with what it printed."""

    paths: Paths
    embedder: FakeEmbedder = field(default_factory=FakeEmbedder)
    stop: threading.Event = field(default_factory=threading.Event)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        def run() -> None:
            try:
                watch_index(self.paths, embedder=self.embedder, stop=self.stop,
                            echo=self.lines.append, warn=self.warnings.append)
            except BaseException as exc:  # surfaced by the test, not lost in the thread
                self.errors.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        wait_until(lambda: any(x.startswith("watching ") for x in self.lines) or self.errors,
                   what="the watcher to start")
        assert not self.errors, self.errors

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the watcher did not stop"
        assert not self.errors, self.errors

    def updates(self, name: str) -> list[str]:
        """Printed update lines that name `name`."""
        return [line for line in self.lines if name in line]

    def next_update(self, after: int, what: str) -> str:
        """The one line printed after the first `after` lines (waiting for it)."""
        wait_until(lambda: len(self.lines) > after, what=what)
        assert len(self.lines) == after + 1, self.lines[after:]
        return self.lines[after]


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[Watcher]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    first = sorted(CORPUS.glob("*.md"))[0]
    shutil.copy2(first, corpus)
    running = Watcher(Paths(corpus, tmp_path / "index"))
    running.start()
    assert set(indexed(running.paths)) == {first.name}
    yield running
    running.finish()


def test_copy_edit_rename_and_delete_each_update_the_index(watcher: Watcher):
    corpus = watcher.paths.corpus
    source = sorted(CORPUS.glob("*.md"))[1]
    before = len(watcher.lines)
    shutil.copy(source, corpus / "copied.md")
    assert watcher.next_update(before, "the copy").endswith(" added 1: copied.md")
    assert "copied.md" in indexed(watcher.paths)

    before = len(watcher.lines)
    with (corpus / "copied.md").open("a", encoding="utf-8") as f:
        f.write("\nA sentence added by the edit about the Zangezur corridor.\n")
    assert watcher.next_update(before, "the edit").endswith(" updated 1: copied.md")
    assert "added by the edit" in indexed(watcher.paths)["copied.md"]

    before = len(watcher.lines)
    os.rename(corpus / "copied.md", corpus / "renamed.md")
    assert watcher.next_update(before, "the rename").endswith(
        " added 1: renamed.md; removed 1: copied.md")
    assert "renamed.md" in indexed(watcher.paths) and "copied.md" not in indexed(watcher.paths)

    before = len(watcher.lines)
    (corpus / "renamed.md").unlink()
    assert watcher.next_update(before, "the delete").endswith(" removed 1: renamed.md")
    assert "renamed.md" not in indexed(watcher.paths)
    assert watcher.warnings == []


def test_a_burst_of_fifty_files_is_one_update(watcher: Watcher):
    folder = watcher.paths.corpus / "burst"
    before = len(watcher.lines)
    folder.mkdir()
    for n in range(50):
        (folder / f"note-{n:02}.md").write_text(
            NOTE.format(title=f"Note {n}", body=f"Burst note number {n} about the border."),
            encoding="utf-8")
    (watcher.paths.corpus / ".note.md.swp").write_bytes(b"editor swap file")
    assert watcher.next_update(before, "the burst").endswith(
        " added 50: burst/note-00.md, burst/note-01.md, burst/note-02.md and 47 more")
    assert sum(p.startswith("burst/") for p in indexed(watcher.paths)) == 50
    assert not any(".swp" in line for line in watcher.lines + watcher.warnings)


def test_a_file_written_slowly_is_indexed_once_and_whole(watcher: Watcher):
    text = NOTE.format(title="Slow", body=" ".join(
        f"Sentence {n} of a report that arrives over a slow network share." for n in range(40)))
    chunks = [text[i : i + len(text) // 10 + 1] for i in range(0, len(text), len(text) // 10 + 1)]
    slow = watcher.paths.corpus / "slow.md"
    before = len(watcher.lines)  # the watcher is idle: nothing else can print
    with slow.open("w", encoding="utf-8") as f:
        for chunk in chunks:  # about two seconds, in pieces, as a slow copy would
            f.write(chunk)
            f.flush()
            time.sleep(0.2)
    body = text.split("---\n", 2)[2]
    wait_until(lambda: indexed(watcher.paths).get("slow.md") == body, what="the whole file")
    wait_until(lambda: watcher.updates("slow.md"), what="its line")
    # Had a part been indexed while the file grew, an "updated" line would follow it.
    assert watcher.lines[before:] == [watcher.updates("slow.md")[0]]
    assert watcher.lines[-1].endswith(" added 1: slow.md")


def test_an_unreadable_file_is_named_and_watching_goes_on(watcher: Watcher):
    (watcher.paths.corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    wait_until(lambda: watcher.warnings, what="the warning")
    assert watcher.warnings[0].startswith("qa: broken.pdf: skipped, not a readable PDF")
    before = len(watcher.lines)
    shutil.copy(sorted(CORPUS.glob("*.md"))[2], watcher.paths.corpus / "after.md")
    assert watcher.next_update(before, "the next file").endswith(" added 1: after.md")
    assert len(watcher.warnings) == 1, watcher.warnings  # named once, not on every update


def test_a_stop_during_an_update_ends_after_the_commit(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(sorted(CORPUS.glob("*.md"))[0], corpus)
    paths = Paths(corpus, tmp_path / "index")
    stop = threading.Event()

    class StoppedWhileEmbedding(FakeEmbedder):
        """The stop arrives while a batch is being embedded, as a Ctrl-C would."""

        def encode(self, texts: list[str], batch_size: int = 32):
            stop.set()
            return super().encode(texts, batch_size)

    lines: list[str] = []
    watch_index(paths, embedder=StoppedWhileEmbedding(), stop=stop, echo=lines.append,
                warn=lines.append)
    assert lines[-1].endswith("stopped between commits; the next run indexes the rest"), lines
    # A first build goes live only once complete (qa.index.generations); the batch it
    # committed is kept, and the next run finishes the build without embedding it again.
    report = update_index(paths, progress=False, embedder=FakeEmbedder())
    assert report.chunks_embedded == 0
    assert set(indexed(paths)) == {p.name for p in corpus.iterdir()}


def test_qa_watch_without_a_corpus_folder_says_so(tmp_path: Path):
    result = run_qa(Paths(tmp_path / "missing", tmp_path / "index"), "watch")
    assert_one_line_error(result, "missing: corpus folder not found")
    assert result.returncode == 1


@pytest.mark.e2e
def test_qa_watch_process_indexes_a_new_file_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(sorted(CORPUS.glob("*.md"))[0], corpus)
    paths = Paths(corpus, tmp_path / "index")
    env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(paths.index)}
    process = subprocess.Popen([*QA, "watch"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [out.put(line) for line in process.stdout],
                     daemon=True).start()

    def next_line(timeout: float = 180) -> str:
        return out.get(timeout=timeout).rstrip("\n")

    try:
        assert next_line().endswith(f" added 1: {next(corpus.iterdir()).name}")
        assert next_line() == f"watching {corpus} for changes (Ctrl-C stops)"
        (corpus / "lavash.md").write_text(NOTE.format(
            title="Lavash", body="Lavash is baked on the hot wall of a tandoor oven."),
            encoding="utf-8")
        assert next_line().endswith(" added 1: lavash.md")
        asked = run_qa(paths, "ask", "--json", "--no-update", "-k", "1",
                       "Where is lavash baked?")
        assert json.loads(asked.stdout)["results"][0]["doc"] == "lavash.md"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert next_line(5) == "qa watch: stopped"
    stderr = process.stderr.read()
    assert "stopping after the current commit" in stderr and "Traceback" not in stderr
