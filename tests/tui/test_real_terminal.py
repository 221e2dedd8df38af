"""The TUI in a real terminal emulator (tmux), typed at as a user types: after a search
the results have the focus, and the next question, typed straight away, must go into
the question box, not fire the results' actions (the "o" of "What did..." used to open
a document)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from qa.index.layout import HISTORY_FILE
from qa.settings import Paths
from tests.support.terminal import Tmux

FIRST = "why did Baku reject mediators?"
NEXT = "What did the envoy offer?"  # o, d, f, e...: once single-key actions


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_the_next_question_typed_in_a_real_terminal_is_asked(fake_index: Paths,
                                                             tmp_path: Path):
    env = {**os.environ, "QA_CORPUS": str(fake_index.corpus),
           "QA_INDEX": str(fake_index.index), "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    tmux = Tmux(tmp_path, env)
    try:
        tmux.run([sys.executable, "-m", "tests.support.fake_model", "tui"], size=(120, 40))
        tmux.wait_for("Ask a question")
        tmux.send("-l", FIRST)
        tmux.send("Enter")
        first = tmux.wait_for("Result 1 of 5")
        assert FIRST in first
        tmux.send("-l", NEXT)  # the results have the focus now
        tmux.send("Enter")
        shown = tmux.wait_for(lambda screen: NEXT in screen and "Result 1 of 5" in screen
                              and "Searching" not in screen)
        lines = shown.splitlines()
        assert "Question" in lines[0] and lines[1].strip(" ▊▎") == NEXT  # asked, whole
        assert "Results" in shown and "Document" not in lines[0]  # nothing was opened
        tmux.send("C-q")
        assert "qa exited 0" in tmux.wait_for("qa exited ")
        asked = [json.loads(line)["q"] for line in (fake_index.index / HISTORY_FILE)
                 .read_text(encoding="utf-8").splitlines()]
        assert asked[-2:] == [FIRST, NEXT]  # the Enter asked it, rather than open a result
    finally:
        tmux.close()
