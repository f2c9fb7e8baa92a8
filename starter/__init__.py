"""What starts workflows: the CLI, the FastAPI app, and the local stack that `make up` runs."""
