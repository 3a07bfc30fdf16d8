"""HTTP serving of the domain-name model: FastAPI app, dynamic batching, a one-page UI."""
