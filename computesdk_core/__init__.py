"""computesdk: one blocking Python API for code-execution sandboxes on any provider."""
