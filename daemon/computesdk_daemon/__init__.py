"""The computesdk daemon: the HTTP + WebSocket server inside a sandbox."""
