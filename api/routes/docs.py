"""`GET /docs`: the API's endpoints as one plain page made from the OpenAPI schema on this server.

FastAPI's own /docs loads Swagger UI from a CDN, which renders blank on a machine without a network (askdoc's
home); this page needs nothing beyond the server. The full schema stays at /openapi.json.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    items = [_endpoint(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    title = escape(spec["info"]["title"])
    body = "\n".join(items)
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{title} API</title>"
        f"<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}}"
        f"code{{background:#f2f2f2;padding:0 .25rem}}li{{margin:.2rem 0}}</style>"
        f"<h1>{title} API</h1><p>{escape(spec['info'].get('description', ''))} "
        f"The full schema: <a href=openapi.json><code>/openapi.json</code></a>.</p><ul>{body}</ul></html>"
    )


def _endpoint(path: str, method: str, op: dict[str, Any]) -> str:
    params = [f"<code>{escape(p['name'])}</code> ({escape(p['in'])})" for p in op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {})
    schema = next(iter(body.values()), {}).get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    said = [", ".join(params)] if params else []
    said += [f"body <code>{escape(schema)}</code>"] if schema else []
    return (
        f"<li><code>{method.upper()} {escape(path)}</code>: {escape(op.get('summary', ''))}"
        + (f" — {'; '.join(said)}" if said else "")
        + "</li>"
    )
