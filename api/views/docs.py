"""A browsable API reference rendered on the server from the OpenAPI schema: no JavaScript
and no CDN (the CSP forbids both), readable by anyone logged in."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@login_required
@require_GET
def docs(request):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary") or op.get("description", "").split("\n")[0],
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "type": p.get("schema", {}).get("type", ""),
                            "enum": p.get("schema", {}).get("enum", []),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "tag": (op.get("tags") or [""])[0],
                }
            )
    return render(request, "api/docs.html", {"schema": schema, "operations": operations})
