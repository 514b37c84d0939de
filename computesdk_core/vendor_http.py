"""HTTP to a vendor's API for provider plugins: one session, errors mapped, safe retries.

Retries (tenacity) happen only for calls that are safe to repeat: idempotent methods by default,
or a call its plugin marks ``idempotent=True``. They cover HTTP 429 (honouring ``Retry-After``),
5xx answers and broken connections; every other failure raises at once with the vendor's message.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import requests
import tenacity

from computesdk_core import errors
from computesdk_core.daemon_client.http import CONNECT_TIMEOUT, error_from_response
from computesdk_core.secrets import Secret

T = TypeVar("T")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_TIMEOUT = 60.0
DEFAULT_ATTEMPTS = 4
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (errors.RateLimitError, errors.ConnectionLostError)):
        return True
    return isinstance(exc, errors.ProviderAPIError) and (exc.status_code or 0) >= 500


def _wait(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return float(min(retry_after, MAX_RETRY_AFTER))
    return float(tenacity.wait_exponential_jitter(multiplier=0.5, max=MAX_BACKOFF)(state))


class VendorAPI:
    """Blocking calls to one vendor base URL with fixed headers (credentials as :class:`Secret`)."""

    def __init__(self, provider: str, base_url: str, headers: Mapping[str, str | Secret] | None = None,
                 timeout: float = DEFAULT_TIMEOUT, attempts: int = DEFAULT_ATTEMPTS) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self._session = requests.Session()
        for name, value in (headers or {}).items():
            self._session.headers[name] = value.reveal() if isinstance(value, Secret) else value
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VendorAPI({self.provider!r}, {self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout: float | None | str = "default",
        stream: bool = False,
        base_url: str | None = None,
    ) -> requests.Response:
        """Send a request; return the 2xx response or raise the mapped error.

        ``idempotent`` decides whether failures worth retrying are retried (default: by method).
        ``timeout`` is the read deadline in seconds (``None`` only for streams that end on their own).
        ``files`` is a multipart upload, as ``requests`` takes it.
        """
        method = method.upper()
        retry = IDEMPOTENT_METHODS.__contains__(method) if idempotent is None else idempotent
        url = (base_url or self.base_url).rstrip("/") + path
        read_timeout = self.timeout if timeout == "default" else timeout

        def once() -> requests.Response:
            try:
                response = self._session.request(
                    method, url, json=json, params=params, data=data, files=files, headers=headers, stream=stream,
                    timeout=(CONNECT_TIMEOUT, read_timeout),  # type: ignore[arg-type]
                )
            except requests.Timeout as exc:
                raise errors.OperationTimeoutError(
                    f"{self.provider}: {method} {path} got no answer within {read_timeout} s"
                ) from exc
            except requests.ConnectionError as exc:
                raise errors.ConnectionLostError(
                    f"{self.provider}: cannot reach {self.base_url} ({type(exc).__name__})"
                ) from exc
            if response.status_code >= 400:
                error = error_from_response(response, provider=self.provider)
                response.close()
                raise error
            return response

        if not retry:
            return once()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable), wait=_wait,
            stop=tenacity.stop_after_attempt(self.attempts), reraise=True,
        )
        response: requests.Response = retrying(once)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON body (None for an empty one)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise errors.ProviderAPIError(
                f"{self.provider}: {method} {path} answered with a body that is not JSON",
                status_code=response.status_code, provider=self.provider, request_id=None,
            ) from exc

    def close(self) -> None:
        """Close the connection pool; idempotent."""
        with self._lock:
            self._session.close()


def path_segment(value: object) -> str:
    """``value`` as one percent-encoded URL path segment: an id can never add a path level."""
    return urllib.parse.quote(str(value), safe="")


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_frozen(item) for item in value)
    return value


class ClientCache(Generic[T]):
    """One API client per provider configuration, shared by every hook call (one connection pool each)."""

    def __init__(self, factory: Callable[[Mapping[str, Any]], T]) -> None:
        self._factory = factory
        self._clients: dict[Any, T] = {}
        self._lock = threading.Lock()

    def get(self, config: Mapping[str, Any]) -> T:
        """The client of ``config``, made on first use."""
        key = _frozen(config)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._factory(config)
            return client
