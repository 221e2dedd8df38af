"""The `qa` command line: one click group; each command imports its machinery lazily.

User errors (QaError) become one line on stderr and a non-zero exit, never a
traceback. Exit codes: 0 ok, 1 error, 2 usage, 3 index needs `--rebuild`,
4 done but some files were skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

import click

from qa.errors import QaError
from qa.settings import Paths

EXIT_SKIPPED = 4


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QaError as exc:
            click.echo(f"qa: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("qa: interrupted", err=True)
            sys.exit(130)

    return wrapper


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
    if report.skipped or report.skipped_parts:
        sys.exit(EXIT_SKIPPED)


def _run_update(paths: Paths, *, rebuild: bool = False, quiet: bool = False,
                allow_empty: bool = False) -> Any:
    from qa.index.writer import update_index

    report = update_index(paths, rebuild=rebuild, progress=not quiet, allow_empty=allow_empty)
    for path, reason in report.skipped:
        click.echo(f"qa: {path}: skipped, {reason}", err=True)
    for path, part in report.skipped_parts:
        click.echo(f"qa: {path}: {part}", err=True)
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
        click.echo(f"qa: no index at {paths.index} yet; building it", err=True)
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
        click.echo(f"qa: warning: corpus changed since the last index ({stale.describe()});"
                   " answering from the old index (--no-update)", err=True)
        return frozenset(stale.changed + stale.removed)
    click.echo(f"qa: corpus changed since the last index ({stale.describe()}); updating",
               err=True)
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
    from qa.output.json_output import answer_json
    from qa.output.text import answer_text
    from qa.search.searcher import Searcher

    searcher = Searcher(paths.index)
    color = sys.stdout.isatty() and not as_json
    try:
        for n, question in enumerate(asked):
            answer = searcher.search(question, k, mode=mode)
            if as_json:
                click.echo(json.dumps(answer_json(answer, changed), ensure_ascii=False))
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

        click.echo(run_beir(paths, beir_dir, split))
        return
    if not questions_file:
        raise QaError("QUESTIONS_FILE: give a JSONL question file, or --beir DIR")
    from qa.evaluation.questions import run_questions

    _ensure_fresh(paths, update=not no_update, quiet=False)
    click.echo(run_questions(paths, questions_file))


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
        click.echo(f"added {rel}")
    for src, rel in result.identical:
        click.echo(f"qa: {src}: identical content already in the corpus as {rel}; skipped",
                   err=True)
    for src, reason in result.refused:
        click.echo(f"qa: {src}: refused, {reason}", err=True)
    report = _run_update(paths, quiet=quiet)
    click.echo(report.summary())
    if result.refused:
        sys.exit(1)
    if report.skipped or report.skipped_parts:
        sys.exit(EXIT_SKIPPED)


@_corpus_change("targets")
def remove(targets: tuple[str, ...], quiet: bool, corpus: str | None,
           index_dir: str | None) -> None:
    """Remove documents (files or folders, corpus-relative) from the corpus and index."""
    from qa.corpus.edit import remove_from_corpus

    paths = Paths.resolve(corpus, index_dir)
    for rel in remove_from_corpus(paths.corpus, list(targets)):
        click.echo(f"removed {rel}")
    click.echo(_run_update(paths, quiet=quiet, allow_empty=True).summary())


@cli.command()
@_corpus_option
@_index_option
@_user_errors
def status(corpus: str | None, index_dir: str | None) -> None:
    """Documents, chunks, model, size, last update, and stale or skipped files."""
    from qa.index.status import status_text

    click.echo(status_text(Paths.resolve(corpus, index_dir)))


@cli.command()
@_corpus_option
@_index_option
@_user_errors
def watch(corpus: str | None, index_dir: str | None) -> None:
    """Keep the index up to date as files arrive, change or leave (Ctrl-C stops)."""
    from qa.watch.loop import run_watch

    run_watch(Paths.resolve(corpus, index_dir), click.echo, partial(click.echo, err=True))


@cli.command(name="mcp")
@_corpus_option
@_index_option
@_user_errors
def mcp_server(corpus: str | None, index_dir: str | None) -> None:
    """Serve the index to AI assistants: an MCP server on stdin/stdout (read-only)."""
    from qa.mcp_server.server import serve

    serve(Paths.resolve(corpus, index_dir))


@cli.command()
@_corpus_option
@_index_option
@_user_errors
def tui(corpus: str | None, index_dir: str | None) -> None:
    """Open the terminal UI."""
    from qa.tui.app import create_app

    create_app(Paths.resolve(corpus, index_dir)).run()


def main() -> None:
    cli()
