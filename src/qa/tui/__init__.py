"""The Textual terminal UI: ask, read ranked cited passages, open the source document.

`qa.tui.app.create_app(paths)` builds the app; nothing heavy (numpy, FAISS, the ONNX
model) is imported until a worker thread needs it, so the UI paints at once.
"""
