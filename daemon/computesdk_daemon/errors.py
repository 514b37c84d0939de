"""Every failure becomes a JSON ``{"error": message}`` body with a fitting status code."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from computesdk_daemon.responses import error_response

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A failure to report to the client as ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def os_error_status(exc: OSError) -> int:
    """The HTTP status for a failed file operation."""
    if isinstance(exc, FileNotFoundError):
        return 404
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileExistsError)):
        return 400
    return 500


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError, aiohttp's HTTP errors (404, 405, 413...) and crashes into JSON errors."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason, headers=exc.headers)
    except OSError as exc:
        # A file operation the handler did not expect to fail; strerror keeps paths out of it.
        status = os_error_status(exc)
        if status == 500:
            logger.exception("I/O error in %s %s", request.method, request.path)
        return error_response(status, exc.strerror or type(exc).__name__)
    except Exception:
        # The path only: the query may hold the token.
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal error")
