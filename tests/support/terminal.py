"""A real terminal emulator for tests: tmux, driven from outside.

Pilot runs the TUI headless and a pseudo-terminal shows what a program writes; tmux
also interprets it, as the user's terminal would: a title set, a screen cleared or a
colour changed shows in its state and its capture.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO


class Tmux:
    """A private tmux server (its own socket, no user configuration): a real terminal
    emulator that interprets what it is sent. Each command runs in a new window of its
    own size; when it ends, the shell prints its exit status and waits, so what the
    terminal shows stays on screen (tmux's remain-on-exit would scroll it by a line).
    `scroll-on-clear off`: a clear screen (ESC[2J) blanks the screen, it does not move
    what was on it into the history."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.socket = folder / "tmux.sock"
        config = folder / "tmux.conf"
        config.write_text("set -g scroll-on-clear off\nset -g allow-rename on\n",
                          encoding="utf-8")
        self.env = env
        self._tmux("-f", str(config), "new-session", "-d", "-s", "idle", "sleep 600")
        self.window = "idle"
        self._runs = 0
        self.pane_title = self.show("#{pane_title}")  # tmux's default: the host name

    def run(self, command: list[str], size: tuple[int, int]) -> None:
        self._runs += 1
        self.window = f"run{self._runs}"
        script = (f"cd {shlex.quote(str(REPO))} && {shlex.join(command)};"
                  " echo \"qa exited $?\"; exec sleep 600")
        self._tmux("new-session", "-d", "-s", self.window, "-x", str(size[0]),
                   "-y", str(size[1]), "sh", "-c", script)

    def show(self, form: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.window, form).strip()

    def screen(self, colours: bool = False) -> str:
        """The visible screen, lines joined where they wrapped."""
        return self._tmux("capture-pane", "-p", "-J", "-t", self.window,
                          *(["-e"] if colours else []))

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.window, *keys)

    def wait_for(self, needle: str | Callable[[str], bool], timeout: float = 120) -> str:
        """The screen once it shows `needle` (or once `needle(screen)` holds)."""
        holds = needle if callable(needle) else (lambda screen: needle in screen)
        deadline = time.monotonic() + timeout
        while not holds(shown := self.screen()):
            assert time.monotonic() < deadline, f"no {needle!r}; the terminal shows:\n{shown}"
            time.sleep(0.2)  # polling the terminal for a condition, not a fixed wait
        return shown

    def close(self) -> None:
        self._tmux("kill-server")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], env=self.env,
                              capture_output=True, text=True, check=True, timeout=30).stdout
