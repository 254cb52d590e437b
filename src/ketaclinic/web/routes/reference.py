"""``/api-reference``: the JSON API described from its own OpenAPI schema, served from this host."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.web.deps import SignedIn
from ketaclinic.web.templating import render

router = APIRouter(tags=["reference"])


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, operation in methods.items():
            parameters = [p["name"] for p in operation.get("parameters", [])]
            body = "requestBody" in operation
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": parameters + (["(JSON body)"] if body else []),
                    "tags": ", ".join(operation.get("tags", [])),
                }
            )
    return rows


@router.get("/api-reference", response_class=HTMLResponse, dependencies=[SignedIn])
def api_reference(request: Request) -> Response:
    rows = [r for r in _operations(request.app.openapi()) if r["path"].startswith("/api/")]
    return render(request, "api_reference.html", {"operations": rows})
