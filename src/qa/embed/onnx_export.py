"""Export the MiniLM transformer to ONNX, so queries can be embedded without torch.

Importing torch and sentence-transformers costs seconds; a question should not. The
index therefore carries an ONNX copy of the same transformer, made once at index time,
and `qa.embed.query_encoder` runs it with onnxruntime, doing pooling and normalisation itself.
Only the transformer is exported (to last_hidden_state): pooling in numpy keeps the
graph a plain BERT that the legacy exporter handles reliably.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from qa.atomic import atomic_path
from qa.embed.model import model_dir, set_offline_env

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"


class _Wrapper(nn.Module):
    """Positional inputs in, last_hidden_state out.

    torch.onnx.export passes inputs positionally, but HF models' positional order is not
    a stable contract (and differs between versions), so they are handed on by keyword.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            return_dict=True,
        )
        return out.last_hidden_state


def _load_transformer() -> nn.Module:
    set_offline_env()
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # Eager attention: a plain matmul/softmax graph that traces identically for any
    # sequence length, rather than an SDPA kernel choice baked in at trace time.
    model = AutoModel.from_pretrained(
        str(model_dir()), local_files_only=True, attn_implementation="eager"
    )
    return model.eval()


def export_query_encoder(out_path: Path) -> None:
    """Write the ONNX transformer to `out_path`, atomically.

    Written through `qa.atomic.atomic_path`, so a killed export never leaves a truncated
    model that a later query would try to load.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = _Wrapper(_load_transformer())
    # Two rows with a padded tail, so the trace sees a real mask, not an all-ones one.
    input_ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.zeros_like(input_ids)
    dynamic = {0: "batch", 1: "sequence"}

    with atomic_path(out_path) as tmp, torch.no_grad(), warnings.catch_warnings():
        # The legacy (TorchScript) exporter is chosen on purpose and warns about
        # it; tracer warnings about Python-side shape checks are expected too.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # transformers' padding mask indexes with aranges, never negative indices,
        # which is the only case this warning is about.
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            wrapper,
            (input_ids, attention_mask, token_type_ids),
            str(tmp),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={**{name: dynamic for name in INPUT_NAMES}, OUTPUT_NAME: dynamic},
            opset_version=OPSET,
            dynamo=False,
        )
