"""computesdk provider for Runloop devboxes (https://runloop.ai), driven through Runloop's REST API."""

from computesdk_runloop.devbox import RunloopDevbox

__all__ = ["RunloopDevbox"]
