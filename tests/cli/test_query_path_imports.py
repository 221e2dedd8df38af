"""`qa ask` on a built index must stay light: no writer, no ingest, no torch.

The import-linter contracts check the static graph; this checks what a real `qa ask`
process actually loads, lazy imports included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from qa.settings import Paths

PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["qa", "ask", "--json", "-k", "1", "why did Baku reject mediators?"]
from qa.cli import main
main()
"""

HEAVY = ("torch", "sentence_transformers", "transformers", "trafilatura", "pypdf",
         "qa.index.writer", "qa.index.batches", "qa.ingest", "qa.embed.document_embedder",
         "qa.embed.onnx_export", "docx", "ebooklib", "rapidocr", "cv2", "pypdfium2",
         "watchfiles", "mcp", "qa.watch", "qa.mcp_server", "qa.index.minhash", "datasketch",
         "scipy", "ray", "qa.index.distributed")


def test_qa_ask_imports_neither_the_writer_nor_torch_nor_new_inputs(real_index: Paths):
    env = {**os.environ, "QA_CORPUS": str(real_index.corpus), "QA_INDEX": str(real_index.index)}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"]
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    assert "qa.search.searcher" in modules  # the probe saw the query path itself
    loaded = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert loaded == []
