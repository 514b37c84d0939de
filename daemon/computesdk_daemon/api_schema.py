"""Building blocks for the modules' ``OPENAPI_PATHS``: schemas, bodies and the response envelopes.

A leaf module (it imports nothing of the daemon), so that every feature module can use it,
including those that :mod:`computesdk_daemon.openapi` itself imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
SECONDS: Schema = {"type": "number", "minimum": 0, "description": "Seconds; 0 or null means none"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
# A route anyone may call, with no token (the document's default is "a token is required").
PUBLIC: list[Any] = []
_ERROR_REF: Schema = {"$ref": "#/components/responses/Error"}


def errors(*codes: int) -> dict[str, Schema]:
    """Responses for error statuses, all ``{"error": str}``: the same entries as
    ``openapi.error_responses``, for modules that the openapi module imports (a cycle otherwise)."""
    return {str(code): _ERROR_REF for code in codes}


def nullable(schema: Schema) -> Schema:
    """``schema`` or JSON null (OpenAPI 3.1 spelling)."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], required: Iterable[str] = (), **extra: Any) -> Schema:
    """An object schema with these properties."""
    schema: Schema = {"type": "object", "properties": properties, **extra}
    needed = list(required)
    if needed:
        schema["required"] = needed
    return schema


def array(items: Schema) -> Schema:
    """An array of ``items``."""
    return {"type": "array", "items": items}


def json_body(schema: Schema, required: bool = True) -> Schema:
    """A JSON request body."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def flat(description: str, schema: Schema) -> Schema:
    """A response whose JSON body is the object itself (no envelope)."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def wrapped(description: str, data: Schema) -> Schema:
    """A response in the ``{"message", "data"}`` envelope."""
    return flat(description, obj({"message": STRING, "data": data}, required=("message", "data")))


def status_wrapped(description: str, data: Schema) -> Schema:
    """A response in the ``{"status", "message", "data"}`` envelope."""
    envelope = obj({"status": STRING, "message": STRING, "data": data}, required=("status", "message", "data"))
    return flat(description, envelope)


def empty(description: str) -> Schema:
    """A response without a body."""
    return {"description": description}


def path_parameter(name: str, description: str) -> Schema:
    """A required string parameter in the path."""
    return {"name": name, "in": "path", "required": True, "description": description, "schema": STRING}


def query_parameter(name: str, description: str, schema: Schema | None = None) -> Schema:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or STRING}
