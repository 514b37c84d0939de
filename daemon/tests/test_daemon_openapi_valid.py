"""The daemon's OpenAPI document is a valid OpenAPI 3.1 document (checked by openapi-spec-validator)."""

from __future__ import annotations

import pytest
from computesdk_daemon.testing import DaemonProcess

validator = pytest.importorskip("openapi_spec_validator")


def test_the_document_is_valid_openapi_3_1(daemon: DaemonProcess) -> None:
    doc = daemon.request("GET", "/openapi.json").json()
    # Raises with the first schema violation (a bad $ref, a wrong type, a missing description...).
    validator.validate(doc, cls=validator.OpenAPIV31SpecValidator)


def test_the_validator_would_notice_a_broken_document(daemon: DaemonProcess) -> None:
    doc = daemon.request("GET", "/openapi.json").json()
    del doc["paths"]["/health"]["get"]["responses"]["200"]["description"]
    with pytest.raises(Exception, match="description"):
        validator.validate(doc, cls=validator.OpenAPIV31SpecValidator)
