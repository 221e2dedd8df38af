"""A soak of the index: readers ask questions in a loop while a writer adds, edits and
removes documents; then every answer is checked against what was committed when.

Roles, each a process (`python -m tests.support.soak ROLE ...` from the repository
root), with the fake embedder so that CI stays light:
- `writer CORPUS INDEX SECONDS LOG`: changes a few documents, runs `update_index`,
  logs what changed and when the update started and finished; again until time is up.
- `reader INDEX SECONDS MODE LOG`: asks questions until time is up and logs every
  answer's passages with the moments the question was asked and answered. MODE
  `fresh` opens a new Searcher per question (as `qa ask` does), `long` keeps one open
  (as the TUI does), so both the open and the follow-the-writer paths are soaked.

Documents the writer makes have deterministic text, `body(name, version)`, so the
check can tell which committed version (if any) a passage was cut from. Times are
`time.monotonic()`, one clock for every process on the machine.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from qa.index.writer import update_index
from qa.ingest.loaders.text import load_text
from qa.search.searcher import Searcher
from qa.settings import Paths
from tests.conftest import CORPUS, FakeEmbedder

QUESTIONS = ["why did Baku reject mediators?", "What happened to the prisoners?",
             "Turkey border with Armenia", "peace treaty constitution", "Soak document version"]
PARAGRAPHS = [p for path in sorted(CORPUS.glob("*.md"))
              for p in path.read_text(encoding="utf-8").split("\n\n")[2:] if len(p) > 80]
MAX_DOCUMENTS = 12  # documents of the writer's own, besides the real corpus


def body(name: str, version: int) -> str:
    """The text of version `version` of the writer's document `name`."""
    rng = random.Random(f"{name}/{version}")
    chosen = rng.sample(PARAGRAPHS, k=rng.randint(1, 4))
    return "\n\n".join([*chosen, f"Soak document {name} version {version}."]) + "\n"


def _file(name: str, version: int) -> str:
    return f"---\ntitle: {name}\n---\n\n{body(name, version)}"


@functools.cache
def indexed_text(name: str, version: int) -> str:
    """The text the index holds for that version: the file's body, as the loader reads it."""
    return load_text(name, _file(name, version).encode("utf-8")).text


def _write(corpus: Path, name: str, version: int) -> None:
    tmp = corpus / f".{name}.tmp"
    tmp.write_text(_file(name, version), encoding="utf-8")
    tmp.replace(corpus / name)  # a reader of the corpus never sees half a file


def run_writer(corpus: Path, index: Path, seconds: float, log: Path) -> None:
    rng = random.Random(7)
    versions: dict[str, int] = {}
    made = 0
    deadline = time.monotonic() + seconds
    with log.open("w", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            changes: list[tuple[str, int | None]] = []
            for _ in range(rng.randint(1, 3)):
                action = rng.choice(["add", "edit", "remove"] if versions else ["add"])
                if action == "add" and len(versions) < MAX_DOCUMENTS:
                    name = f"soak-{made:04d}.md"  # never reused: a removal is final
                    made += 1
                    versions[name] = 0
                elif action == "edit" or (action == "add" and versions):
                    name = rng.choice(sorted(versions))
                    versions[name] += 1
                else:
                    name = rng.choice(sorted(versions))
                    del versions[name]
                    (corpus / name).unlink()
                    changes.append((name, None))
                    continue
                _write(corpus, name, versions[name])
                changes.append((name, versions[name]))
            started = time.monotonic()
            update_index(Paths(corpus, index), progress=False, embedder=FakeEmbedder())
            out.write(json.dumps({"started": started, "finished": time.monotonic(),
                                  "changes": changes}) + "\n")
            out.flush()


def run_reader(index: Path, seconds: float, mode: str, log: Path) -> None:
    encoder = FakeEmbedder()
    searcher = Searcher(index, encoder=encoder) if mode == "long" else None
    deadline = time.monotonic() + seconds
    n = 0
    with log.open("w", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            asked = time.monotonic()
            record: dict[str, object] = {"asked": asked}
            try:
                current = searcher or Searcher(index, encoder=encoder)
                try:
                    answer = current.search(question, 5)
                finally:
                    if searcher is None:
                        current.close()
                record["passages"] = [(h.passage.path, h.passage.start, h.passage.end,
                                       h.passage.text) for h in answer.hits]
            except Exception as exc:  # counted as an error by the check
                record["error"] = f"{type(exc).__name__}: {exc}"
            record["answered"] = time.monotonic()
            out.write(json.dumps(record) + "\n")
    if searcher is not None:
        searcher.close()


@dataclass
class SoakResult:
    """What the check found: counts, and every error or inconsistency, described."""

    questions: int = 0
    writes: int = 0
    changes: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def questions_per_second(self) -> float:
        return self.questions / self.seconds if self.seconds else 0.0


def check(corpus_source: Path, writer_log: Path, reader_logs: list[Path],
          seconds: float) -> SoakResult:
    """Every answer came from a committed state: each passage is the exact slice of a
    version of its document that was live at some moment while the question ran (from
    the start of the update that wrote it to the end of the update that replaced or
    removed it); the real corpus's documents are never changed."""
    updates = [json.loads(line) for line in writer_log.read_text().splitlines()]
    # path -> [(version, visible from, visible until)]
    lives: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    current: dict[str, tuple[int, float]] = {}
    for update in updates:
        for name, version in update["changes"]:
            if name in current:
                old, since = current.pop(name)
                lives[name].append((old, since, update["finished"]))
            if version is not None:
                current[name] = (version, update["started"])
    for name, (version, since) in current.items():
        lives[name].append((version, since, float("inf")))
    originals = {p.name: load_text(p.name, p.read_bytes()).text
                 for p in corpus_source.glob("*.md")}
    result = SoakResult(writes=len(updates), changes=sum(len(u["changes"]) for u in updates),
                        seconds=seconds)
    for log in reader_logs:
        for line in log.read_text().splitlines():
            record = json.loads(line)
            result.questions += 1
            if "error" in record:
                result.problems.append(f"{log.name}: {record['error']}")
                continue
            for path, start, end, text in record["passages"]:
                if path in originals:
                    ok = originals[path][start:end] == text
                else:
                    ok = any(indexed_text(path, v)[start:end] == text
                             and since <= record["answered"] and record["asked"] <= until
                             for v, since, until in lives[path])
                if not ok:
                    result.problems.append(
                        f"{log.name}: {path} [{start}:{end}] is no committed version live"
                        f" between {record['asked']:.3f} and {record['answered']:.3f}")
    return result


def run_soak(workdir: Path, seconds: float, readers: int = 4) -> SoakResult:
    """Index a copy of the real corpus, run the writer and `readers` readers (half
    `fresh`, half `long`) for `seconds`, check their logs, and check that the index
    the writer left equals a clean rebuild of the final corpus."""
    from tests.conftest import REPO
    from tests.support.index_equality import index_content, without_marking

    corpus = workdir / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = workdir / "index"
    update_index(Paths(corpus, index), progress=False, embedder=FakeEmbedder())
    logs = [workdir / f"reader-{n}.jsonl" for n in range(readers)]
    module = [sys.executable, "-m", "tests.support.soak"]
    started = time.monotonic()
    processes = [subprocess.Popen([*module, "writer", str(corpus), str(index), str(seconds),
                                   str(workdir / "writer.jsonl")], cwd=REPO)]
    processes += [subprocess.Popen([*module, "reader", str(index), str(seconds),
                                    "fresh" if n % 2 else "long", str(log)], cwd=REPO)
                  for n, log in enumerate(logs)]
    codes = [p.wait(timeout=seconds + 300) for p in processes]
    result = check(CORPUS, workdir / "writer.jsonl", logs, time.monotonic() - started)
    result.problems += [f"process {n} exited with {code}" for n, code in enumerate(codes)
                        if code]
    clean = workdir / "clean"
    update_index(Paths(corpus, clean), progress=False, embedder=FakeEmbedder())
    if without_marking(index_content(index, FakeEmbedder(), QUESTIONS)) != without_marking(
            index_content(clean, FakeEmbedder(), QUESTIONS)):
        result.problems.append("the final index differs from a clean rebuild")
    return result


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "writer":
        run_writer(Path(args[0]), Path(args[1]), float(args[2]), Path(args[3]))
    else:
        run_reader(Path(args[0]), float(args[1]), args[2], Path(args[3]))
