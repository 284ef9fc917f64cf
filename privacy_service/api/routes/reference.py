"""``GET /docs``: the API reference, rendered on the server from the service's own OpenAPI document.

Plain HTML and one inline stylesheet, with no script, style, font or image
from anywhere (the default Swagger UI loads its code from a CDN, which a
service on a closed network cannot reach and should not trust). Every value
taken from the document is escaped with ``html.escape``. The page carries a
Content-Security-Policy of its own that allows that one stylesheet by its
hash and nothing else, so it runs under a policy as strict as the API's.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1d1d1f}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
h3{font-size:1.05rem;margin:2rem 0 .3rem}code,.path{font-family:ui-monospace,monospace}
.method{display:inline-block;min-width:4.5rem;font-weight:700}
.get{color:#0b6e4f}.post{color:#1b4f9c}.put,.patch{color:#8a5a00}.delete{color:#a4161a}
table{border-collapse:collapse;margin:.4rem 0 1rem;width:100%}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}nav ul{columns:2}.muted{color:#666}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

#: The page's own policy: only its inline stylesheet, by hash; no script, no frame, no form, no base.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_CONSTRAINTS = (
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "pattern",
    "default",
)


@router.get("/docs", include_in_schema=False)
def api_reference(request: Request) -> HTMLResponse:
    return HTMLResponse(
        render_reference(request.app.openapi()), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    )


def render_reference(document: Mapping[str, Any]) -> str:
    """The whole reference page for an OpenAPI 3.1 document."""
    info = document.get("info", {})
    operations = list(_operations(document))
    by_tag: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, method, operation in operations:
        by_tag.setdefault((operation.get("tags") or ["other"])[0], []).append((path, method, operation))

    title, version = escape(info.get("title", "API")), escape(info.get("version", ""))
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}: API reference</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1>{title} <span class="muted">{version}</span></h1>',
        f"<p>{escape(info.get('summary', ''))}</p>",
        '<p>The machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI '
        f"{escape(document.get('openapi', ''))}). Errors are <code>application/problem+json</code> "
        "(RFC 9457) with a stable <code>code</code>, except on <code>/oauth/*</code>, which answer "
        "RFC 6749 §5.2 <code>application/json</code> errors.</p>",
        "<nav><h2>Operations</h2>",
    ]
    for tag, tagged in by_tag.items():
        parts.append(f"<h3>{escape(tag)}</h3><ul>")
        parts.extend(
            f'<li><a href="#{_anchor(method, path)}"><span class="method {method}">{method.upper()}</span>'
            f'<span class="path">{escape(path)}</span></a> {escape(operation.get("summary", ""))}</li>'
            for path, method, operation in tagged
        )
        parts.append("</ul>")
    parts.append("</nav><main>")
    for tag, tagged in by_tag.items():
        parts.append(f"<h2>{escape(tag)}</h2>")
        parts.extend(_operation_html(path, method, operation) for path, method, operation in tagged)
    schemas = document.get("components", {}).get("schemas", {})
    parts.append("<h2>Schemas</h2>")
    parts.extend(_schema_html(name, schema) for name, schema in schemas.items())
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _anchor(method: str, path: str) -> str:
    slug = "".join(character if character.isalnum() else "-" for character in path).strip("-")
    return f"{method}-{slug}"


def _operation_html(path: str, method: str, operation: Mapping[str, Any]) -> str:
    parts = [
        f'<section id="{_anchor(method, path)}"><h3><span class="method {method}">{method.upper()}</span>'
        f'<span class="path">{escape(path)}</span></h3>',
        f"<p>{escape(operation.get('summary', ''))}</p>",
    ]
    if operation.get("description"):
        parts.append(f"<p>{escape(operation['description'])}</p>")
    parameters = operation.get("parameters", [])
    if parameters:
        parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>")
        parts.extend(_parameter_row(parameter) for parameter in parameters)
        parts.append("</table>")
    body = operation.get("requestBody")
    if body:
        parts.append("<table><tr><th>request body</th><th>type</th></tr>")
        parts.extend(
            f"<tr><td><code>{escape(media_type)}</code>{_required(body.get('required', False))}</td>"
            f"<td>{_type_html(content.get('schema', {}))}</td></tr>"
            for media_type, content in body.get("content", {}).items()
        )
        parts.append("</table>")
    parts.append("<table><tr><th>status</th><th>description</th><th>body</th><th>headers</th></tr>")
    for status, response in operation.get("responses", {}).items():
        bodies = "<br>".join(
            f"<code>{escape(media_type)}</code> {_type_html(content.get('schema', {}))}"
            for media_type, content in response.get("content", {}).items()
        )
        headers = ", ".join(f"<code>{escape(name)}</code>" for name in response.get("headers", {}))
        parts.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response.get('description', ''))}</td>"
            f"<td>{bodies}</td><td>{headers}</td></tr>"
        )
    parts.append("</table></section>")
    return "\n".join(parts)


def _parameter_row(parameter: Mapping[str, Any]) -> str:
    name = f"<code>{escape(parameter['name'])}</code>{_required(parameter.get('required', False))}"
    where = escape(parameter.get("in", ""))
    kind = _type_html(parameter.get("schema", {}))
    description = escape(parameter.get("description", ""))
    return f"<tr><td>{name}</td><td>{where}</td><td>{kind}</td><td>{description}</td></tr>"


def _schema_html(name: str, schema: Mapping[str, Any]) -> str:
    parts = [f'<section id="schema-{escape(name)}"><h3>{escape(name)}</h3>']
    if schema.get("description"):
        parts.append(f"<p>{escape(schema['description'])}</p>")
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        parts.append("<table><tr><th>field</th><th>type</th><th>description</th></tr>")
        parts.extend(
            f"<tr><td><code>{escape(field)}</code>{_required(field in required)}</td>"
            f"<td>{_type_html(definition)}</td><td>{escape(definition.get('description', ''))}</td></tr>"
            for field, definition in properties.items()
        )
        parts.append("</table>")
    else:
        parts.append(f"<p>{_type_html(schema)}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _required(required: bool) -> str:
    return " <strong>required</strong>" if required else ""


def _type_html(schema: Mapping[str, Any]) -> str:
    """A JSON Schema as a short line: ``string (date-time)``, a link to a named schema, a union, ..."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            joiner = " and " if combinator == "allOf" else " | "
            described = joiner.join(_type_html(variant) for variant in schema[combinator])
            title = f"{escape(schema['title'])}: " if combinator == "oneOf" and "title" in schema else ""
            return title + described
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(json.dumps(value))}</code>" for value in schema["enum"])
    kind = schema.get("type", "any")
    text = " or ".join(escape(str(each)) for each in kind) if isinstance(kind, list) else escape(str(kind))
    if kind == "array" and "items" in schema:
        text = f"array of {_type_html(schema['items'])}"
    elif kind == "object" and "properties" in schema:
        fields = ", ".join(
            f"<code>{escape(field)}</code>: {_type_html(definition)}"
            for field, definition in schema["properties"].items()
        )
        text = f"object {{{fields}}}"
    if "format" in schema:
        text += f" ({escape(str(schema['format']))})"
    constraints = [f"{key} {escape(json.dumps(schema[key]))}" for key in _CONSTRAINTS if key in schema]
    if constraints:
        text += f' <span class="muted">{"; ".join(constraints)}</span>'
    return text
