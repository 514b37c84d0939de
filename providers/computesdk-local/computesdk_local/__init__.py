"""computesdk provider "local": isolated sandboxes on this machine."""
