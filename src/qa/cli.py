"""The `qa` command line: one click group; each command imports its machinery lazily.

Every failure ends in one line on stderr and a documented exit code (`qa.errors`:
0 ok, 1 error, 2 usage, 3 index needs `--rebuild`, 4 done but some files were skipped,
5 the system refused a read or write, 70 a bug in qa, 130 interrupted), never in a
traceback: `_user_errors` turns user errors, full disks, read-only folders and damaged
SQLite files into their line with the fix, and anything unexpected into a line naming
the log file that holds the traceback (`qa.crash_log`). `QA_DEBUG=1` shows tracebacks.
Text from documents and file names is printed with control characters made visible
(`qa.output.safe_text`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from qa.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_SKIPPED, QaError
from qa.output.safe_text import visible_line, visible_text
from qa.settings import Paths


def _say(line: str) -> None:
    """One line on stderr, with any control character from a file name made visible."""
    click.echo(visible_line(line), err=True)


def _show(text: str) -> None:
    """Text on stdout (names, summaries, tables), with control characters made visible."""
    click.echo(visible_text(text))


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (SystemExit, click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: usage errors and exits, reported by click
        except BaseException as exc:
            sys.exit(_fail(exc, kwargs.get("index_dir")))

    return wrapper


def _fail(exc: BaseException, index_option: str | None) -> int:
    """Say what went wrong in one line; return the exit code. Unexpected exceptions are
    logged with their traceback, and the line names the log."""
    if isinstance(exc, KeyboardInterrupt):
        _say("qa: interrupted")
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        # The reader of our output went away (`qa ask ... | head`): nothing to tell it.
        with contextlib.suppress(OSError):  # so that the exit's flush fails quietly too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    if os.environ.get("QA_DEBUG") and not isinstance(exc, QaError):
        raise exc
    from qa.crash_log import explain

    error = explain(exc, Paths.resolve(None, index_option).index)
    _say(f"qa: {error}")
    return error.exit_code


_corpus_option = click.option(
    "--corpus", type=click.Path(file_okay=False), default=None,
    help="Corpus folder (default: $QA_CORPUS or ./corpus).")
_index_option = click.option(
    "--index", "index_dir", type=click.Path(file_okay=False), default=None,
    help="Index folder (default: $QA_INDEX or ./index).")


@click.group(invoke_without_command=True)
@click.version_option(package_name="qa")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ask questions of a folder of documents; get ranked, cited passages."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command()
@_corpus_option
@_index_option
@click.option("--rebuild", is_flag=True, help="Start from scratch instead of updating.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_user_errors
def index(corpus: str | None, index_dir: str | None, rebuild: bool, quiet: bool) -> None:
    """Build or incrementally update the index from the corpus."""
    paths = Paths.resolve(corpus, index_dir)
    report = _run_update(paths, rebuild=rebuild, quiet=quiet)
    click.echo(report.summary())
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


def _run_update(paths: Paths, *, rebuild: bool = False, quiet: bool = False,
                allow_empty: bool = False) -> Any:
    from qa.index.writer import update_index

    report = update_index(paths, rebuild=rebuild, progress=not quiet, allow_empty=allow_empty)
    for path, reason in report.skipped:
        _say(f"qa: {path}: skipped, {reason}")
    return report


def _ensure_fresh(paths: Paths, update: bool, quiet: bool) -> frozenset[str]:
    """Build a missing index; update a stale one (or warn, with --no-update).

    Returns the documents that changed on disk since indexing and were not updated:
    their passages are still cited from the indexed copy, and flagged as such.
    """
    from qa.corpus.walk import require_documents, scan_corpus
    from qa.index.layout import index_exists, store_path
    from qa.index.staleness import staleness
    from qa.index.store import Store

    files = scan_corpus(paths.corpus)
    require_documents(paths.corpus, files)
    if not index_exists(paths.index):
        if not update:
            raise QaError(f"{paths.index}: no index yet; run `qa index`")
        _say(f"qa: no index at {paths.index} yet; building it")
        _run_update(paths, quiet=quiet)
        return frozenset()
    store = Store(store_path(paths.index))
    try:
        stale = staleness(paths, store, files)
    finally:
        store.close()
    if not stale:
        return frozenset()
    if not update:
        _say(f"qa: warning: corpus changed since the last index ({stale.describe()});"
             " answering from the old index (--no-update)")
        return frozenset(stale.changed + stale.removed)
    _say(f"qa: corpus changed since the last index ({stale.describe()}); updating")
    _run_update(paths, quiet=quiet)
    return frozenset()


def _read_questions(questions: tuple[str, ...]) -> list[str]:
    if questions == ("-",):
        return [line.strip() for line in sys.stdin if line.strip()]
    if not questions:
        raise QaError("question: none given; e.g. qa ask \"why did Baku reject mediators?\"")
    for q in questions:
        if not q.strip():
            raise QaError("question: empty; ask something, e.g. qa ask \"why did Baku reject"
                          " mediators?\"")
    return list(questions)


@cli.command()
@click.argument("questions", nargs=-1)
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Passages per question.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question (JSONL).")
@click.option("--no-update", is_flag=True, help="Do not update a stale index; warn instead.")
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid",
              show_default=True, help="Retrieval side(s) to use.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar if indexing is needed.")
@_corpus_option
@_index_option
@_user_errors
def ask(questions: tuple[str, ...], k: int, as_json: bool, no_update: bool, mode: str,
        quiet: bool, corpus: str | None, index_dir: str | None) -> None:
    """Answer QUESTIONS (or `-` to read one per line from stdin)."""
    paths = Paths.resolve(corpus, index_dir)
    asked = _read_questions(questions)
    if not asked:
        raise QaError("question: stdin held no questions")
    changed = _ensure_fresh(paths, update=not no_update, quiet=quiet)
    from qa.output.json_output import answer_json, json_line
    from qa.output.text import answer_text
    from qa.search.searcher import Searcher

    searcher = Searcher(paths.index)
    color = sys.stdout.isatty() and not as_json
    try:
        for n, question in enumerate(asked):
            answer = searcher.search(question, k, mode=mode)
            if as_json:
                click.echo(json_line(answer_json(answer, changed)))
            else:
                click.echo(("\n" if n else "") + answer_text(answer, color, changed),
                           nl=False)
    finally:
        searcher.close()


@cli.command(name="eval")
@click.argument("questions_file", required=False, type=click.Path(dir_okay=False))
@click.option("--beir", "beir_dir", type=click.Path(file_okay=False),
              help="Run a BEIR-format benchmark folder instead.")
@click.option("--split", default="test", show_default=True, help="BEIR qrels split.")
@click.option("--no-update", is_flag=True, help="Do not update a stale index.")
@_corpus_option
@_index_option
@_user_errors
def evaluate(questions_file: str | None, beir_dir: str | None, split: str, no_update: bool,
             corpus: str | None, index_dir: str | None) -> None:
    """Score retrieval on a question file (JSONL like dev.jsonl) or a BEIR benchmark."""
    paths = Paths.resolve(corpus, index_dir)
    if beir_dir:
        from qa.evaluation.beir import run_beir

        _show(run_beir(paths, beir_dir, split))
        return
    if not questions_file:
        raise QaError("QUESTIONS_FILE: give a JSONL question file, or --beir DIR")
    from qa.evaluation.questions import run_questions

    _ensure_fresh(paths, update=not no_update, quiet=False)
    _show(run_questions(paths, questions_file))


def _corpus_change(argument: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The shared shape of `qa add` and `qa remove`: paths, --quiet, folders, errors."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed([
            cli.command(),
            click.argument(argument, nargs=-1, required=True),
            click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
            _corpus_option, _index_option, _user_errors,
        ]):
            func = decorator(func)
        return func

    return decorate


@_corpus_change("sources")
def add(sources: tuple[str, ...], quiet: bool, corpus: str | None, index_dir: str | None) -> None:
    """Copy files or folders into the corpus and update the index."""
    from qa.corpus.edit import add_to_corpus

    paths = Paths.resolve(corpus, index_dir)
    result = add_to_corpus(paths.corpus, list(sources))
    for rel in result.copied:
        _show(f"added {visible_line(rel)}")
    for src, rel in result.identical:
        _say(f"qa: {src}: identical content already in the corpus as {rel}; skipped")
    for src, reason in result.refused:
        _say(f"qa: {src}: refused, {reason}")
    report = _run_update(paths, quiet=quiet)
    click.echo(report.summary())
    if result.refused:
        sys.exit(1)
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


@_corpus_change("targets")
def remove(targets: tuple[str, ...], quiet: bool, corpus: str | None,
           index_dir: str | None) -> None:
    """Remove documents (files or folders, corpus-relative) from the corpus and index."""
    from qa.corpus.edit import remove_from_corpus

    paths = Paths.resolve(corpus, index_dir)
    for rel in remove_from_corpus(paths.corpus, list(targets)):
        _show(f"removed {visible_line(rel)}")
    click.echo(_run_update(paths, quiet=quiet, allow_empty=True).summary())


@cli.command()
@_corpus_option
@_index_option
@_user_errors
def status(corpus: str | None, index_dir: str | None) -> None:
    """Documents, chunks, model, size, last update, and stale or skipped files."""
    from qa.index.status import status_text

    _show(status_text(Paths.resolve(corpus, index_dir)))


@cli.command()
@_corpus_option
@_index_option
@_user_errors
def tui(corpus: str | None, index_dir: str | None) -> None:
    """Open the terminal UI."""
    from qa.tui.app import create_app

    app = create_app(Paths.resolve(corpus, index_dir))
    app.run()
    if app.crash is not None:  # the app printed its one line as it closed
        sys.exit(app.crash.exit_code)


def main() -> None:
    try:
        cli()
    except Exception as exc:  # outside any command (the commands catch their own)
        sys.exit(_fail(exc, None))
