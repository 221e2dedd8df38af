"""qa: cited answers from a folder of documents, with no generative model."""
