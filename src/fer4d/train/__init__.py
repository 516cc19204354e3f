"""Training stages: the spiral auto-encoder, frame embeddings, the expression classifier, prediction."""
