"""`qa mcp`: the index served to AI assistants over the Model Context Protocol (stdio).

Built on the official SDK's `MCPServer`: each tool is a typed function, from which the
SDK derives the input schema the assistant sees, and returns a dict (structured output,
also sent as JSON text). The server generates nothing: every word a tool returns is a
verbatim slice of an indexed document or metadata about one. stdout carries the
protocol, so nothing else may print there; the SDK logs warnings to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from qa.errors import QaError
from qa.mcp_server.tools import MAX_READ_CHARS, CorpusTools
from qa.settings import Paths

INSTRUCTIONS = (
    "qa searches the user's own documents and returns ranked passages, each quoted"
    " verbatim with its citation (document, source, date, page or chapter or paragraph,"
    " character span). Cite passages as given; `answered` is false when no passage is a"
    " confident answer. Use read() to see more of a document around a passage, and"
    " sources() to see what the corpus holds."
)


def build_server(paths: Paths) -> Any:
    """The MCP server over `paths`, with the tools search, read and sources."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    tools = CorpusTools(paths)
    server = MCPServer("qa", instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                idempotent_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    @_tool_errors
    def search(question: str, k: int = 5, filters: dict[str, Any] | str | None = None
               ) -> dict[str, Any]:
        """Search the user's documents. Returns the question, `answered` (false when no
        passage clears the confidence bar), `confidence`, and up to `k` ranked results:
        rank, score, doc, title, source, published, author, paragraph, page, chapter,
        chapter_title, ocr, start, end, text (verbatim), answer (the answering sentence),
        citation, weak, stale. `filters`: qa's filter syntax as a string, e.g.
        `source:"RFE/RL" after:2024-01`, applied before ranking."""
        return tools.search(question, k, filters)

    @server.tool(annotations=read_only, description=(
        "Read a document's indexed text verbatim from character `start` to `end`"
        " (default: the end), with the citation of that span. `doc` is the path that"
        " search and sources return, relative to the corpus; start and end are offsets"
        f" as in search results. At most {MAX_READ_CHARS:,} characters per call."))
    @_tool_errors
    def read(doc: str, start: int = 0, end: int | None = None) -> dict[str, Any]:
        return tools.read(doc, start, end)

    @server.tool(annotations=read_only)
    @_tool_errors
    def sources() -> dict[str, Any]:
        """The documents in the index: doc, title, source, published, author, chars,
        chunks, section_kind and sections (pages or chapters), indexed_at, stale; also
        files not indexed yet and files skipped, with why."""
        return tools.sources()

    return server


def _tool_errors(func: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A QaError becomes a tool error whose message the assistant reads; anything else
    is a crash, which the SDK reports without details."""
    from mcp.server.mcpserver.exceptions import ToolError

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return func(*args, **kwargs)
        except QaError as exc:
            raise ToolError(str(exc)) from None

    return wrapper


def serve(paths: Paths) -> None:
    """Run the server on stdin/stdout until the client disconnects."""
    build_server(paths).run("stdio")
