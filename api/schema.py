"""OpenAPI description of the token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from /account/tokens/ (nyi_<prefix>_<secret>).",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": "`{field: [messages]}` for invalid input, `{detail: message}` otherwise.",
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid input: the body names each bad field.",
    "401": "No token, or a malformed, unknown, expired or revoked one.",
    "403": "The token's user may not do this, or the token is read-only.",
    "404": "No such object in your scope (another tenant's id is the same 404).",
    "413": "Request body too large.",
    "429": "Too many requests for this token.",
}
WRITE_ERRORS = {"409": "The object's state does not allow this (e.g. already resolved)."}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents its error answers,
    so clients (and schemathesis) know every status code the API may return."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            codes = dict(ERRORS) | (WRITE_ERRORS if method != "get" else {})
            if method == "get":
                responses.setdefault(
                    "304", {"description": "Not modified (If-None-Match matched the ETag)."}
                )
            for code, text in codes.items():
                responses.setdefault(code, {"description": text, "content": ref})
    return result
