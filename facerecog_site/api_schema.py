"""Post-processing of the OpenAPI schema: what every authenticated operation can answer."""

from __future__ import annotations

from typing import Any

UNAUTHORIZED = {
    "description": "No credentials, or a token that is unknown, expired or revoked "
    "(code not_authenticated or authentication_failed).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_unauthorized(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the 401 answer to every operation that needs credentials."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            security = operation.get("security")
            if not isinstance(security, list) or not security or {} in security:
                continue  # open to anonymous callers (the token endpoint)
            operation.setdefault("responses", {}).setdefault("401", UNAUTHORIZED)
    return result
