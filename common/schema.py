"""drf-spectacular post-processing: document the error answers every client must handle."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        'Why the request was refused: {"detail": "…"}, or field names mapped to lists of '
        'messages ({"started_at": ["Datetime has wrong format. …"]}). A 409 for a stale '
        "version also carries `current`, the representation as it is now."
    ),
    "additionalProperties": {},
}

ERRORS = {
    "400": "The request is invalid; the body says which fields and why.",
    "401": "No valid session or `Authorization: Token <key>` header.",
    "403": "Your role may not do this: viewers only read, and only staff delete (`detail` says).",
    "404": "There is no such object.",
    "409": "The version sent is out of date, or the change conflicts with data saved meanwhile.",
    "413": "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            codes = ["401"]
            if method in ("post", "put", "patch") or operation.get("parameters"):
                codes.append("400")
            if method in ("post", "put", "patch", "delete"):
                codes.append("403")  # common.permissions.RolePermission
            if "{" in path:
                codes.append("404")
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
            if method in ("post", "put", "patch"):
                codes.append("413")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ERRORS[code], "content": error_ref})
    return result
