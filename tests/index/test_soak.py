"""Soak (about a minute): four reader processes ask questions in a loop while a writer
adds, edits and removes documents. No reader may fail, every passage must be the exact
text of a version of its document that was committed while the question ran (never a
document removed before it was asked, never a torn passage), and the index the writer
leaves must equal a clean rebuild. `bench/soak.py` runs it longer and prints the rates.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.soak import run_soak

SECONDS = 45


def test_readers_only_ever_see_committed_states(tmp_path: Path):
    result = run_soak(tmp_path, SECONDS)
    assert not result.problems, "\n".join(result.problems[:20])
    assert result.writes >= 10 and result.questions >= 4 * 20, result


def test_the_check_catches_a_removed_document_and_a_torn_passage(tmp_path: Path):
    """The soak's check itself, on made-up logs: it must not pass everything."""
    import json

    from tests.conftest import CORPUS
    from tests.support.soak import check, indexed_text

    writer = tmp_path / "writer.jsonl"
    writer.write_text(json.dumps({"started": 1.0, "finished": 2.0,
                                  "changes": [["soak-0000.md", 0]]}) + "\n"
                      + json.dumps({"started": 5.0, "finished": 6.0,
                                    "changes": [["soak-0000.md", None]]}) + "\n")
    text = indexed_text("soak-0000.md", 0)

    def reader(asked: float, passage_text: str) -> Path:
        log = tmp_path / f"reader-{asked}-{len(passage_text)}.jsonl"
        log.write_text(json.dumps({"asked": asked, "answered": asked + 0.1, "passages": [
            ["soak-0000.md", 1, 40, passage_text]]}) + "\n")
        return log

    good = check(CORPUS, writer, [reader(3.0, text[1:40])], 10.0)
    assert not good.problems and good.questions == 1 and good.writes == 2
    removed = check(CORPUS, writer, [reader(7.0, text[1:40])], 10.0)
    torn = check(CORPUS, writer, [reader(3.0, text[1:39] + "#")], 10.0)
    assert len(removed.problems) == 1 and len(torn.problems) == 1
