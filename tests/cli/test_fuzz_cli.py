"""Fuzzing the command line: random commands, options, arguments, standard input and
QA_* environment values, run through the real CLI (with the fake model) in a sandbox
folder. Whatever comes in, qa ends with a documented exit code and no traceback, and
never with 70 ("a bug in qa")."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qa.errors import EXIT_ERROR, EXIT_OK, EXIT_REBUILD, EXIT_SKIPPED, EXIT_SYSTEM, EXIT_USAGE
from qa.settings import Paths
from tests.conftest import run_qa
from tests.support.fuzzing import fuzz_settings, tricky_text

DOCUMENTED = {EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REBUILD, EXIT_SKIPPED, EXIT_SYSTEM}
CONTROL = frozenset(chr(c) for c in [*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])

# Names inside the sandbox: what exists there, and anything else that stays inside it
# (no "/", no "~", never "." or ".."), so no command can reach outside the test's folder.
EXISTING = ["corpus", "index", "notes.md", "questions.jsonl", "beir", "empty",
            "corpus/2024-02-armenia-azerbaijan-going-it-alone.md"]
inside = st.one_of(
    st.sampled_from(EXISTING),
    tricky_text.map(lambda t: t.replace("/", "_").replace("\x00", "").lstrip("~"))
    .filter(lambda t: t not in ("", ".", "..")),
)
numbers = st.one_of(st.sampled_from(["", "0", "1", "5", "-1", "abc", "1e3", "nan", "inf",
                                     "1e400", " 7 ", "0x10", "3.5"]), tricky_text)
questions = st.one_of(st.just("why did Baku reject mediators?"), tricky_text)


def option(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return value.map(lambda v: [name, v])


flags = {
    "ask": st.lists(st.one_of(option("-k", numbers), st.just(["--json"]),
                              st.just(["--no-update"]), st.just(["-q"]),
                              option("--mode", st.sampled_from(["hybrid", "bm25", "dense",
                                                                "both", ""])))),
    "index": st.lists(st.sampled_from([["--rebuild"], ["-q"]])),
    "status": st.just([]),
    "add": st.just([["-q"]]),
    "remove": st.just([["-q"]]),
    "eval": st.lists(st.one_of(option("--beir", inside), option("--split", tricky_text),
                               st.just(["--no-update"]))),
}
positionals = {"ask": st.lists(questions, max_size=3).map(lambda qs: qs or ["-"]),
               "index": st.just([]), "status": st.just([]),
               "add": st.lists(inside, max_size=3), "remove": st.lists(inside, max_size=3),
               "eval": st.lists(inside, max_size=1)}
folders = st.lists(st.one_of(option("--corpus", inside), option("--index", inside)),
                   max_size=1)
environment = st.dictionaries(st.sampled_from(["QA_LOCK_TIMEOUT", "QA_MAX_FILE_BYTES"]),
                              numbers.map(lambda v: v.replace("\x00", "")),  # as in a real
                              max_size=2)  # environment


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(flags)))
    parts = draw(flags[command]) + draw(folders)
    argv = [command, *(token for part in parts for token in part)]
    argv += draw(positionals[command])
    if draw(st.integers(0, 9)) == 0:  # now and then, junk anywhere after the command
        argv.insert(draw(st.integers(1, len(argv))), draw(tricky_text))
    return [token.replace("\x00", "") for token in argv]  # no NUL in a real argv


def _sandbox(root: Path, index: Paths) -> Paths:
    shutil.copytree(index.corpus, root / "corpus")
    shutil.copytree(index.index, root / "index")
    (root / "notes.md").write_text("---\ntitle: Notes\n---\n\nBaku met Yerevan.\n",
                                   encoding="utf-8")
    (root / "questions.jsonl").write_text(
        '{"id": "1", "question": "why did Baku reject mediators?", "evidence": ["Baku"]}\n',
        encoding="utf-8")
    (root / "beir").mkdir()
    (root / "empty").mkdir()
    return Paths(root / "corpus", root / "index")


@fuzz_settings(60)
@given(argv=command_lines(), env=environment, stdin=tricky_text)
def test_any_command_line_ends_with_a_documented_code_and_no_traceback(
    fake_model: None, fake_index_once: Paths, argv: list[str], env: dict[str, str], stdin: str
):
    with tempfile.TemporaryDirectory() as tmp:
        paths = _sandbox(Path(tmp), fake_index_once)
        with contextlib.chdir(tmp):
            result = run_qa(paths, *argv, stdin=stdin, env=env)
    assert result.escaped is None, (argv, repr(result.escaped))
    assert result.returncode in DOCUMENTED, (argv, result.stderr)
    assert "Traceback" not in result.stderr
    if result.returncode != EXIT_USAGE:  # click echoes a bad argument as it was typed
        assert not CONTROL & set(result.stdout + result.stderr), (argv, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("qa: ")]
        assert (result.returncode == EXIT_OK) or errors, (argv, result.stderr)
