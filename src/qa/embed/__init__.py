"""Text to vectors: the model's identity, the document embedder, the ONNX query encoder.

`qa.embed.model` and `qa.embed.query_encoder` are light (no torch). The document embedder
and the ONNX export import torch, and only the index writer uses them.
"""
