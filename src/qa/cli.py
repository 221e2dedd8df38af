"""The `qa` command line: one click group; each command imports its machinery lazily.

Every failure ends in one line on stderr and a documented exit code (`qa.errors`:
0 ok, 1 error, 2 usage, 3 index needs `--rebuild`, 4 done but some files were skipped,
5 the system refused a read or write, 70 a bug in qa, 130 interrupted), never in a
traceback: `_user_errors` turns user errors, full disks, read-only folders and damaged
SQLite files into their line with the fix, and anything unexpected into a line naming
the log file that holds the traceback (`qa.crash_log`). `QA_DEBUG=1` shows tracebacks.
Text from documents and file names is printed with control characters made visible
(`qa.output.safe_text`).

Longer than qa's other modules on purpose: every command is declared in this one click
group (the layout simonw/llm uses), so the whole command line, its options and its
exit codes read in one place; each command's work lives in the package it belongs to.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

import click

from qa.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_SKIPPED, QaError, QaUsageError
from qa.output.cite import FORMATS as CITATION_FORMATS
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


def _ray_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--ray, --ray-files, --ray-threads and --ray-stall-timeout: load, chunk and embed
    on a Ray cluster (the `ray` extra)."""
    func = click.option(
        "--ray-stall-timeout", "ray_stall_s", type=click.FloatRange(min=0),
        envvar="QA_RAY_STALL_TIMEOUT", default=300.0, show_default=True, metavar="SECONDS",
        help="With --ray: stop, saying why, after this long without a result while Ray"
             " reports work it cannot place (e.g. after a lost node); 0 waits for ever.")(func)
    func = click.option(
        "--ray-threads", type=click.IntRange(min=1), envvar="QA_RAY_THREADS", default=None,
        help="With --ray: CPUs (onnxruntime threads) per embedding actor. Default: the"
             " smallest node's CPUs, at most 2.")(func)
    func = click.option(
        "--ray-files", type=click.Choice(["auto", "ship"]), envvar="QA_RAY_FILES",
        default="auto", show_default=True,
        help="With --ray: workers read files by path where they see the corpus (shared"
             " storage), else the driver ships them; `ship` always ships.")(func)
    return click.option(
        "--ray", "ray_address", metavar="ADDRESS", envvar="QA_RAY_ADDRESS", default=None,
        help="Index on a Ray cluster: auto (join the running one), local (start one"
             " here) or the head's HOST:PORT. Default: $QA_RAY_ADDRESS, else no Ray.")(func)


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
@click.option("--optimize", is_flag=True,
              help="Then merge the vector segments into one (drops deleted vectors).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_ray_options
@_user_errors
def index(corpus: str | None, index_dir: str | None, rebuild: bool, optimize: bool,
          quiet: bool, ray_address: str | None, ray_files: str,
          ray_threads: int | None, ray_stall_s: float) -> None:
    """Build or incrementally update the index from the corpus."""
    paths = Paths.resolve(corpus, index_dir)
    report = _run_update(paths, rebuild=rebuild, quiet=quiet, optimize=optimize,
                         indexer=_ray_indexer(ray_address, ray_files, ray_threads,
                                              ray_stall_s))
    click.echo(report.summary())
    if report.skipped or report.skipped_parts:
        sys.exit(EXIT_SKIPPED)


def _run_update(paths: Paths, *, rebuild: bool = False, quiet: bool = False,
                allow_empty: bool = False, indexer: Any = None, optimize: bool = False,
                only: list[str] | None = None) -> Any:
    """Update the index (of the files in `only` alone, for `qa add` and `qa remove`)."""
    from qa.index.writer import update_index

    report = update_index(paths, rebuild=rebuild, progress=not quiet, allow_empty=allow_empty,
                          indexer=indexer, optimize=optimize, only=only)
    for path, reason in report.skipped:
        _say(f"qa: {path}: skipped, {reason}")
    for path, part in report.skipped_parts:
        _say(f"qa: {path}: {part}")
    return report


def _ray_indexer(address: str | None, files: str, threads: int | None,
                 stall_s: float) -> Any:
    """A RayIndexer for --ray ADDRESS, or None (index here); Ray is imported only now."""
    if not address:
        return None
    try:
        from qa.index.distributed.indexer import RayIndexer, RayOptions
    except ImportError:
        raise QaError("--ray: Ray is not installed; pip install 'qa[ray]'") from None
    return RayIndexer(RayOptions(address, files, threads, stall_s), inform=lambda line: click.echo(
        f"qa: {line}", err=True))


def _ensure_fresh(paths: Paths, update: bool, quiet: bool,
                  meanwhile: Callable[[], object] = lambda: None) -> frozenset[str]:
    """Build a missing index; update a stale one (or warn, with --no-update).

    `meanwhile` runs while the corpus is checked (`qa ask` opens the index then; the
    check runs in a child process, `qa.index.staleness.check_in_background`).
    Returns the documents that changed on disk since indexing and were not updated:
    their passages are still cited from the indexed copy, and flagged as such.
    """
    from qa.index.layout import index_exists
    from qa.index.staleness import check_in_background

    if not index_exists(paths.index):
        from qa.corpus.walk import require_documents, scan_corpus

        require_documents(paths.corpus, scan_corpus(paths.corpus))
        if not update:
            raise QaError(f"{paths.index}: no index yet; run `qa index`")
        _say(f"qa: no index at {paths.index} yet; building it")
        _run_update(paths, quiet=quiet)
        meanwhile()
        return frozenset()
    verdict = check_in_background(paths)
    meanwhile()
    stale = verdict()
    if not stale:
        return frozenset()
    if not update:
        _say(f"qa: warning: corpus changed since the last index ({stale.describe()});"
             " answering from the old index (--no-update)")
        return frozenset(stale.changed + stale.removed)
    _say(f"qa: corpus changed since the last index ({stale.describe()}); updating")
    _run_update(paths, quiet=quiet)
    return frozenset()


def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--source, --title, --in, --type, --after, --before, --phrase, --exclude: the
    inline filter syntax as options (see `qa.search.query_syntax`)."""
    options = [
        ("--source", "sources", True, "Source contains TEXT (repeat: either)."),
        ("--title", "titles", True, "Title contains TEXT (repeat: either)."),
        ("--in", "folders", True, "Documents in this corpus folder (repeat: either)."),
        ("--type", "types", True, "File type: md, txt, html, pdf... (repeat: either)."),
        ("--after", "after", False, "Published in this period or later (YYYY[-MM[-DD]])."),
        ("--before", "before", False, "Published in this period or earlier."),
        ("--phrase", "phrases", True, "Passages must contain this exact phrase."),
        ("--exclude", "excluded", True, "Passages must not contain this word or phrase."),
    ]
    for flag, name, multiple, text in reversed(options):
        func = click.option(flag, name, multiple=multiple, metavar="TEXT", help=text)(func)
    return func


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
@click.option("--cite", type=click.Choice(CITATION_FORMATS),
              help="Print the cited passages as a bibliography in this format instead.")
@click.option("--all-copies", is_flag=True,
              help="Show republished copies as separate results, not under the earliest.")
@_filter_options
@_corpus_option
@_index_option
@_user_errors
def ask(questions: tuple[str, ...], k: int, as_json: bool, no_update: bool, mode: str,
        quiet: bool, cite: str | None, all_copies: bool, corpus: str | None,
        index_dir: str | None, **filter_values: Any) -> None:
    """Answer QUESTIONS (or `-` to read one per line from stdin).

    Filters go inline in a question or as options: source:"War on the Rocks",
    title:peace, in:folder/, type:pdf, after:2024-01, before:2025-06-30,
    "an exact phrase", -word. A filter that cannot be read exits with status 2.
    """
    from qa.search.query_syntax import option_filter, parse_query

    paths = Paths.resolve(corpus, index_dir)
    if cite and as_json:
        raise QaUsageError("--cite and --json: choose one (--cite prints a bibliography)")
    asked = _read_questions(questions)
    if not asked:
        raise QaError("question: stdin held no questions")
    filters = option_filter(**filter_values)
    for question in asked:  # every syntax error before any answer
        parse_query(question).filter.combined(filters)
    from qa.search.searcher import Searcher

    opened: list[Searcher] = []

    def open_index() -> None:
        """Open the index while the corpus is checked; if it cannot be opened now (an
        update may be about to repair it), it is opened again after the check."""
        with contextlib.suppress(QaError):
            opened.append(Searcher.opened(paths.index))

    try:
        changed = _ensure_fresh(paths, update=not no_update, quiet=quiet, meanwhile=open_index)
    except BaseException:
        for searcher in opened:
            searcher.close()
        raise
    from qa.output.json_output import answer_json, json_line
    from qa.output.text import answer_text

    searcher = opened[0] if opened else Searcher(paths.index)
    color = sys.stdout.isatty() and not as_json
    answers = []
    try:
        for n, question in enumerate(asked):
            answer = searcher.search(question, k, mode=mode, filters=filters,
                                     all_copies=all_copies)
            if cite:
                answers.append(answer)
                if not answer.answered:
                    _say(f"qa: no confident answer to {question!r}; citing the closest"
                         " passages")
            elif as_json:
                click.echo(json_line(answer_json(answer, changed)))
            else:
                click.echo(("\n" if n else "") + answer_text(answer, color, changed),
                           nl=False)
    finally:
        searcher.close()
    if cite:
        from qa.output.cite import citations

        click.echo(citations(answers, cite), nl=False)


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
    """Score retrieval on a question file (JSONL like dev.jsonl, or with gold spans like
    squad-dev's) or a BEIR benchmark. A question file beside a corpus/ folder is asked of
    that corpus (indexed under INDEX/eval/) unless --corpus is given."""
    paths = Paths.resolve(corpus, index_dir)
    if beir_dir:
        from qa.evaluation.beir import run_beir

        _show(run_beir(paths, beir_dir, split))
        return
    if not questions_file:
        raise QaError("QUESTIONS_FILE: give a JSONL question file, or --beir DIR")
    from qa.evaluation.questions import eval_paths, run_questions

    paths = eval_paths(paths, questions_file, corpus_given=corpus is not None)
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
@_ray_options
def add(sources: tuple[str, ...], quiet: bool, corpus: str | None, index_dir: str | None,
        ray_address: str | None, ray_files: str, ray_threads: int | None,
        ray_stall_s: float) -> None:
    """Copy files or folders into the corpus and update the index."""
    from qa.corpus.edit import add_to_corpus

    paths = Paths.resolve(corpus, index_dir)
    indexer = _ray_indexer(ray_address, ray_files, ray_threads,
                           ray_stall_s)  # a bad --ray fails first
    result = add_to_corpus(paths.corpus, list(sources))
    for rel in result.copied:
        _show(f"added {visible_line(rel)}")
    for src, rel in result.identical:
        _say(f"qa: {src}: identical content already in the corpus as {rel}; skipped")
    for src, reason in result.refused:
        _say(f"qa: {src}: refused, {reason}")
    report = _run_update(paths, quiet=quiet, indexer=indexer, only=result.copied)
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
    removed = remove_from_corpus(paths.corpus, list(targets))
    for rel in removed:
        _show(f"removed {visible_line(rel)}")
    click.echo(_run_update(paths, quiet=quiet, allow_empty=True, only=removed).summary())


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
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@_corpus_option
@_index_option
@_user_errors
def sources(as_json: bool, corpus: str | None, index_dir: str | None) -> None:
    """Sources and folders in the index, with document counts and date ranges."""
    from qa.index.catalog import catalog
    from qa.index.generations import live_store
    from qa.index.layout import index_exists
    from qa.output.json_output import json_line
    from qa.output.sources import catalog_json, catalog_text

    paths = Paths.resolve(corpus, index_dir)
    if not index_exists(paths.index):
        raise QaError(f"{paths.index}: no index yet; run `qa index`")
    with live_store(paths.index) as store:
        found = catalog(store)
    if as_json:
        click.echo(json_line(catalog_json(found)))
    else:
        _show(catalog_text(found))


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
