"""Escape sequences in documents (Markdown, HTML and PDF) and in a file name never reach
the terminal: `qa ask` shows visible pictures in their place (on a real pseudo-terminal,
where it colours its own output, and through a pipe), `--json` keeps the exact text,
and the TUI renders no control character at all. Once, in a real terminal emulator
(tmux): neither `qa ask` nor the TUI changes the title, clears the screen or colours
the text red."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from textual.geometry import Region
from textual.pilot import Pilot

from qa.index.layout import STORE_FILE
from qa.index.store import Store
from qa.settings import Paths
from qa.tui.document_screen import DocumentScreen
from tests.conftest import REPO, live, run_fake_qa, run_qa
from tests.support.terminal import Tmux
from tests.tui.test_app import ask, run, screen_text, wait_for, wait_ready
from tests.tui.test_robustness import fake_app

QUESTION = "zebrafish lighthouse keeper"
# CSI (clear screen, colour), OSC 0 (window title) ended by BEL, OSC 8 (a hyperlink)
# ended by ST, a lone BEL, and C1 CSI.
ATTACK = ("\x1b[2J\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b]8;;https://evil.example\x1b\\"
          "click\x1b]8;;\x1b\\ \x07\x9b1m")
PICTURED = ("\u241b[2J\u241b[31mred\u241b[0m \u241b]0;pwned\u2407 \u241b]8;;https://evil."
            "example\u241b\\click\u241b]8;;\u241b\\ \u2407")  # then C1 CSI: \ufffd, but
# HTML maps the reference &#155; to U+203A (windows-1252), as browsers do.
BODY = ("The zebrafish lighthouse keeper logged every ship that passed the northern cape."
        " {attack} The keeper also fed the zebrafish in the lighthouse tank each morning.")
EVIL_NAME = "evil\x1b[31mname.md"


def _own_words(kind: str) -> str:
    """A paragraph only this document has, so the three documents, which share BODY,
    are not taken for republished copies of one another (`qa.index.minhash`)."""
    return " ".join(f"{kind}{n}word" for n in range(150)) + "."

# Any control character but newline (and tab, which layout may use).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _html() -> str:
    refs = "".join(f"&#{ord(c)};" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c
                   for c in ATTACK)
    paragraphs = "".join(f"<p>{BODY.format(attack=refs)} Paragraph {n}.</p>" for n in range(3))
    paragraphs += f"<p>{_own_words('html')}</p>"
    return (f"<html><head><title>Harbour &#27;]0;owned&#7; log</title></head>"
            f"<body><article><h1>Harbour log</h1>{paragraphs}</article></body></html>")


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(w=0, text=BODY.format(attack=ATTACK.replace("\x9b", "")) + "\n"
                   + _own_words("pdf"))
    pdf.set_title("Cape report \x1b]0;owned\x07")
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


@pytest.fixture
def evil_index(fake_index: Paths) -> Paths:
    corpus = fake_index.corpus
    (corpus / EVIL_NAME).write_text(
        '---\ntitle: "Keeper \\e]0;owned\\a notes"\nsource: "Gazette \\e[5m"\n---\n\n'
        + BODY.format(attack=ATTACK) + "\n\n" + _own_words("md") + "\n", encoding="utf-8")
    (corpus / "evil.html").write_text(_html(), encoding="utf-8")
    (corpus / "evil.pdf").write_bytes(_pdf())
    indexed = run_qa(fake_index, "index")
    assert indexed.returncode == 0, indexed.stderr
    return fake_index


def _own_colour_removed(text: str) -> str:
    return text.replace("\x1b[1;33m", "").replace("\x1b[0m", "")


def test_ask_on_a_terminal_shows_pictures_and_only_its_own_colour(evil_index: Paths):
    primary, secondary = pty.openpty()
    env = {**os.environ, "QA_CORPUS": str(evil_index.corpus),
           "QA_INDEX": str(evil_index.index)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.fake_model", "ask", QUESTION],
                            cwd=REPO, env=env, stdout=secondary, stderr=subprocess.PIPE)
    os.close(secondary)
    shown = _read_all(primary).decode("utf-8")
    stderr = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 0, stderr
    assert "\x1b[1;33m" in shown  # it is a terminal: qa colours the answering sentence
    plain = _own_colour_removed(shown).replace("\r\n", "\n")
    assert not CONTROL.search(plain), repr(CONTROL.search(plain))
    assert plain.count(PICTURED) >= 2  # the Markdown and the HTML passages
    assert "evil\u241b[31mname.md" in plain and "Keeper \u241b]0;owned\u2407 notes" in plain
    assert "evil.pdf" in plain and "\u241b]0;pwned\u2407" in plain
    assert not CONTROL.search(stderr)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_ask_through_a_pipe_and_as_json(evil_index: Paths):
    piped = run_fake_qa(evil_index, "ask", QUESTION)
    assert piped.returncode == 0, piped.stderr
    assert not CONTROL.search(piped.stdout) and not CONTROL.search(piped.stderr)
    assert PICTURED in piped.stdout

    as_json = run_fake_qa(evil_index, "ask", "--json", QUESTION)
    assert as_json.returncode == 0, as_json.stderr
    assert not CONTROL.search(as_json.stdout)
    results = json.loads(as_json.stdout)["results"]
    assert {r["doc"] for r in results} >= {EVIL_NAME, "evil.html", "evil.pdf"}
    store = Store(live(evil_index.index) / STORE_FILE)
    try:
        for r in results:
            text = store.db.execute("SELECT text FROM documents WHERE path = ?",
                                    (r["doc"],)).fetchone()[0]
            assert r["text"] == text[r["start"]:r["end"]]  # exact, escapes and all
    finally:
        store.close()
    markdown = next(r for r in results if r["doc"] == EVIL_NAME)
    assert ATTACK in markdown["text"] and markdown["title"] == "Keeper \x1b]0;owned\x07 notes"


def test_the_tui_renders_pictures_and_no_control_character(evil_index: Paths):
    app = fake_app(evil_index)

    async def scenario(pilot: Pilot) -> None:
        await wait_ready(pilot)
        await ask(pilot, QUESTION)
        hits = app.results.hits
        docs = [h.passage.path for h in hits]
        assert {EVIL_NAME, "evil.html", "evil.pdf"} <= set(docs)
        pictured = set()
        for row, (doc, hit) in enumerate(zip(docs, hits, strict=True)):
            app.results.move_cursor(row=row)
            await pilot.pause()
            _assert_nothing_raw(app)
            if doc in (EVIL_NAME, "evil.html") and "zebrafish" in hit.passage.text:
                assert PICTURED in str(app.passage.body.visual)  # a passage of BODY
                pictured.add(doc)
        assert pictured == {EVIL_NAME, "evil.html"}
        app.results.move_cursor(row=docs.index(EVIL_NAME))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentScreen))
        _assert_nothing_raw(app)
        assert "\u241b]0;pwned\u2407" in screen_text(app)

    run(app, scenario, size=(160, 50))


def _assert_nothing_raw(app) -> None:
    for widget in app.screen.query("*"):
        if not widget.display:
            continue
        for strip in widget.render_lines(Region(0, 0, *widget.size)):
            for segment in strip:
                assert not CONTROL.search(segment.text), (widget, repr(segment.text))


RED = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:31|5)m")  # red, or blink (the front matter's)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_in_a_real_terminal_nothing_is_interpreted(evil_index: Paths, tmp_path: Path):
    env = {**os.environ, "QA_CORPUS": str(evil_index.corpus),
           "QA_INDEX": str(evil_index.index), "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    tmux = Tmux(tmp_path, env)
    qa = [sys.executable, "-m", "tests.support.fake_model"]
    try:
        # Tall enough for the whole answer, so a clear screen would blank its top line.
        tmux.run([*qa, "ask", "-k", "10", QUESTION], size=(200, 300))
        shown = tmux.wait_for("qa exited ")
        assert "qa exited 0" in shown
        assert shown.startswith(f"Q: {QUESTION}\n")  # no ESC[2J cleared the screen
        assert shown.count(PICTURED) >= 2
        assert "evil\u241b[31mname.md" in shown and "Keeper \u241b]0;owned\u2407 notes" in shown
        assert "evil.pdf" in shown and "\u241b]0;pwned\u2407" in shown
        assert not RED.search(tmux.screen(colours=True))
        assert tmux.show("#{pane_title}") == tmux.pane_title  # no OSC 0 reached tmux
        assert "owned" not in tmux.show("#{window_name}")  # no rename sequence either

        tmux.run([*qa, "tui"], size=(160, 50))
        tmux.wait_for("Ask a question")
        tmux.send("-l", QUESTION)
        tmux.send("Enter")
        shown = tmux.wait_for("\u241b]0;pwned\u2407")
        assert "Question" in shown.splitlines()[0]  # the app's frame is still on top
        assert not RED.search(tmux.screen(colours=True))
        assert tmux.show("#{pane_title}") == tmux.pane_title
        tmux.send("C-q")
        assert "qa exited 0" in tmux.wait_for("qa exited ")
    finally:
        tmux.close()
