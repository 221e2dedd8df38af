"""Terminal UI responsiveness: launch to interactive, and Enter to results on screen.

Usage: .venv/bin/python bench/tui_latency.py

Runs the real app headless (Textual's Pilot) on the configured index. "Interactive" is
the time from this process's start (imports included) until the app is mounted with the
question box focused, ready for keys; "model ready" until the index and model finished
loading in their worker. A search is timed from pressing Enter until the results table
holds that question's answer (the repaint follows on the next frame), for every dev
question, after one warm-up search.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

from qa.settings import Paths  # noqa: E402
from qa.tui.app import create_app  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


async def measure(paths: Paths, questions: list[str]) -> tuple[float, float, list[float]]:
    app = create_app(paths)
    async with app.run_test(size=(100, 30)) as pilot:
        interactive = time.perf_counter() - STARTED
        assert app.question_input.has_focus
        while not app.ready:
            await pilot.pause(0.01)
        ready = time.perf_counter() - STARTED
        times = []
        for question in ["warm-up: why did Baku reject mediators?", *questions]:
            app.question_input.focus()
            app.question_input.value = question
            start = time.perf_counter()
            # The key is pressed in a task and the answer watched with asyncio.sleep:
            # awaiting pilot.press (or pilot.pause) waits for the app to be fully idle,
            # which was measured to add ~150 ms after the results are already shown.
            press = asyncio.create_task(pilot.press("enter"))
            while app.results.answer is None or app.results.answer.question != question:
                await asyncio.sleep(0.001)
            times.append(time.perf_counter() - start)
            await press
        return interactive, ready, times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default=str(REPO.parent / "shared/eval/dev.jsonl"))
    args = parser.parse_args()
    from qa.evaluation.questions import load_questions

    questions = [q.question for q in load_questions(args.dev)]
    interactive, ready, times = asyncio.run(measure(Paths.resolve(), questions))
    print(f"launch to interactive: {interactive:.2f} s; model ready: {ready:.2f} s")
    print(f"Enter to results ({len(times)} dev questions, warm): median"
          f" {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
