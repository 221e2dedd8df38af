"""`qa mcp` as an assistant meets it: a real `python -m qa mcp` subprocess, driven over
stdio by the official SDK's client, checked against `qa ask --json` on the same index."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from qa.hashing import file_sha256
from qa.settings import Paths
from tests.conftest import run_qa

EXAMPLE = "why did Baku reject mediators?"
FILTERS = 'source:"War on the Rocks" -Pashinyan'
UNANSWERABLE = "What is the recipe for Armenian lavash bread?"

Session = Any  # mcp.client.session.ClientSession


def with_server(paths: Paths, scenario: Callable[[Session], Awaitable[None]]) -> None:
    """Start `python -m qa mcp` on `paths`, connect the SDK's client, run `scenario`."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "qa", "mcp"],
        env={**os.environ, "QA_CORPUS": str(paths.corpus), "QA_INDEX": str(paths.index)})

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await scenario(session)

    asyncio.run(asyncio.wait_for(main(), timeout=240))


async def call(session: Session, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    # Structured output, and the same as JSON text for clients that read only text.
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def refused(session: Session, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return result.content[0].text


def ask_json(paths: Paths, question: str, k: int) -> dict[str, Any]:
    ran = run_qa(paths, "ask", "--json", "--no-update", "-k", str(k), question)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def index_hashes(paths: Paths) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(paths.index.iterdir())
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_tools_answer_like_qa_ask_and_read_verbatim(index_copy: Paths):
    expected = {q: ask_json(index_copy, q, 3) for q in (EXAMPLE, UNANSWERABLE)}
    expected["filtered"] = ask_json(index_copy, f"{FILTERS} {EXAMPLE}", 3)
    before = index_hashes(index_copy)
    seen: dict[str, Any] = {}

    async def scenario(session: Session) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        seen["tools"] = tools
        for question in (EXAMPLE, UNANSWERABLE):
            seen[question] = await call(session, "search", question=question, k=3)
        seen["filtered"] = await call(session, "search", question=EXAMPLE, k=3,
                                      filters=FILTERS)
        top = seen[EXAMPLE]["results"][0]
        seen["read"] = await call(session, "read", doc=top["doc"], start=top["start"],
                                  end=top["end"])
        seen["around"] = await call(session, "read", doc=top["doc"],
                                    start=max(top["start"] - 200, 0), end=top["end"] + 200)
        seen["sources"] = await call(session, "sources")

    with_server(index_copy, scenario)

    tools = seen["tools"]
    assert set(tools) == {"search", "read", "sources"}
    assert set(tools["search"].input_schema["properties"]) == {"question", "k", "filters"}
    assert set(tools["read"].input_schema["properties"]) == {"doc", "start", "end"}
    assert all(t.annotations.read_only_hint for t in tools.values())
    for question in (EXAMPLE, UNANSWERABLE):
        assert seen[question] == expected[question]
    assert expected[EXAMPLE]["answered"] and not expected[UNANSWERABLE]["answered"]
    assert seen["filtered"] == expected["filtered"]
    filtered = expected["filtered"]
    assert filtered["filters"]["source"] == ["War on the Rocks"] and filtered["results"]
    assert {r["source"] for r in filtered["results"]} == {"War on the Rocks"}
    assert not any("Pashinyan" in r["text"] for r in filtered["results"])

    top = expected[EXAMPLE]["results"][0]
    read = seen["read"]
    assert (read["text"], read["citation"]) == (top["text"], top["citation"])
    assert not read["stale"]
    around = seen["around"]
    assert top["text"] in around["text"]
    indexed = (index_copy.corpus / top["doc"]).read_text(encoding="utf-8")
    assert around["text"] in indexed  # verbatim: Markdown is indexed as its body

    documents = seen["sources"]["documents"]
    assert [d["doc"] for d in documents] == sorted(p.name for p in index_copy.corpus.iterdir())
    assert {top["doc"]: top["title"]}.items() <= {d["doc"]: d["title"] for d in documents}.items()
    status = run_qa(index_copy, "status").stdout
    assert f"chunks      {sum(d['chunks'] for d in documents)}" in status
    assert seen["sources"]["not_indexed"] == [] and "warning" not in seen["sources"]
    assert index_hashes(index_copy) == before


def test_refusals_are_tool_errors_and_a_stale_index_is_reported_not_updated(
        index_copy: Paths):
    new_note = index_copy.corpus / "2026-02-02-new-note.md"
    new_note.write_text("---\ntitle: A new note\n---\n\nMediators met again in Vienna.\n",
                        encoding="utf-8")
    secret = index_copy.corpus.parent / "secret.md"
    secret.write_text("Not in the corpus.", encoding="utf-8")
    before = index_hashes(index_copy)
    doc = sorted(p.name for p in index_copy.corpus.glob("20*.md"))[0]
    seen: dict[str, Any] = {}

    async def scenario(session: Session) -> None:
        seen["search"] = await call(session, "search", question=EXAMPLE)
        seen["filtered"] = await call(session, "search", question=EXAMPLE,
                                      filters="in:nowhere/")
        seen["sources"] = await call(session, "sources")
        for name, arguments in {
            "parent": {"doc": "../secret.md"},
            "absolute": {"doc": str(secret)},
            "sneaky": {"doc": f"{doc}/../../secret.md"},
            "unindexed": {"doc": new_note.name},
            "range": {"doc": doc, "start": 0, "end": 10**9},
            "backwards": {"doc": doc, "start": 50, "end": 10},
        }.items():
            seen[name] = await refused(session, "read", **arguments)
        seen["filters"] = await refused(session, "search", question=EXAMPLE,
                                        filters={"after": "2024-01-01"})
        seen["k"] = await refused(session, "search", question=EXAMPLE, k=0)
        seen["empty"] = await refused(session, "search", question="  ")

    with_server(index_copy, scenario)

    assert "1 new" in seen["search"]["warning"] and "never updates" in seen["search"]["warning"]
    assert seen["sources"]["not_indexed"] == [new_note.name]
    for name in ("parent", "absolute", "sneaky"):
        assert "outside the corpus" in seen[name], seen[name]
    assert "not an indexed document" in seen["unindexed"]
    assert "out of range" in seen["range"] and "out of range" in seen["backwards"]
    assert "filters: not supported" in seen["filters"]
    assert seen["filtered"]["results"] == []  # the filter applied: no such folder
    assert seen["filtered"]["filters"] is not None
    assert "k: 0 is out of range" in seen["k"]
    assert "question: empty" in seen["empty"]
    assert index_hashes(index_copy) == before  # read-only, even with the corpus changed

