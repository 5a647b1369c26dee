"""Checks a real response against what the app's own /openapi.json promises for it.

An XML body (Open311's) is read back into the values its schema describes, guided by the
schema's ``xml`` names, and validated the same way: an element the schema does not name
stays in as text and fails, and the root element must be the one the schema names.

A client generator trusts the document: a status code it does not list becomes an unknown
error, a key it does not list is dropped or refused. So a response passes only when its
operation lists its status code and its body validates against that status's schema with
every object closed (``additionalProperties: false`` wherever the schema does not say
otherwise), so an undocumented key fails as surely as a missing one.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator


def _closed(schema: Any) -> Any:
    """A copy of ``schema`` in which every object that names its properties allows no
    others; ones that say ``additionalProperties`` themselves keep what they say."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class OpenAPIContract:
    """The operations of one app's OpenAPI document, to check responses against."""

    def __init__(self, app: FastAPI) -> None:
        self.document = app.openapi()
        self.components = _closed(copy.deepcopy(self.document.get("components", {})))
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in self.document["paths"]
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The template and operation a request to ``path`` reaches, if the document has it."""
        for pattern, template in self._templates:
            if pattern.match(path):
                op = self.document["paths"][template].get(method.lower())
                if op is not None:
                    return template, op
        return None

    def check(self, response: httpx.Response) -> None:
        """Fail unless the response's status and body are the ones its operation documents.

        Requests to no documented operation (an unknown path, a wrong method) are the
        framework's, not an operation's, and are not checked here."""
        request = response.request
        found = self.operation(request.method, request.url.path)
        if found is None:
            return
        template, op = found
        status = str(response.status_code)
        where = f"{request.method} {template} answered {status}"
        documented = op["responses"]
        assert status in documented, f"{where}, which it does not document ({sorted(documented)})"
        content = documented[status].get("content")
        if not response.content:
            assert not content or response.status_code == 204, f"{where} with no body"
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media == "text/xml":
            assert content and media in content, f"{where} with an undocumented XML body"
            documented_schema = content[media]["schema"]
            body = self._from_xml(ET.fromstring(response.content), documented_schema, where)
        else:
            assert content and "application/json" in content, f"{where} with an undocumented body"
            documented_schema = content["application/json"]["schema"]
            body = response.json()
        schema = _closed(documented_schema)
        validator = Draft202012Validator({**schema, "components": self.components})
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.path)) or 'body'}: {e.message}" for e in errors[:5]
        )

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed; an optional (``anyOf`` with null) schema
        becomes its non-null member, remembered as ``nullable``."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = {**self.document["components"]["schemas"][name], **{
                k: v for k, v in schema.items() if k != "$ref"}}
        options = schema.get("anyOf")
        if options:
            real = [o for o in options if o.get("type") != "null"]
            nullable = len(real) < len(options)
            if len(real) == 1:
                return {**self._resolve(real[0]), "nullable": nullable}
        return schema

    def _from_xml(self, element: ET.Element, schema: dict[str, Any], where: str) -> Any:
        """The root ``element`` of a body as JSON values, checking its name first."""
        resolved = self._resolve(schema)
        name = schema.get("xml", {}).get("name") or resolved.get("xml", {}).get("name")
        assert element.tag == name, f"{where}: root element <{element.tag}>, documented <{name}>"
        return self._xml_value(element, schema)

    def _xml_value(self, element: ET.Element, schema: dict[str, Any]) -> Any:
        """One element as the value ``schema`` describes: lists from the wrapper's children,
        objects from named children, scalars from the text (``true``/``false``, numbers)."""
        resolved = self._resolve(schema)
        kind = resolved.get("type")
        text = element.text or ""
        if not len(element) and not text and resolved.get("nullable"):
            return None
        if kind == "array":
            return [self._xml_value(child, resolved.get("items", {})) for child in element]
        if kind == "object" or "properties" in resolved:
            props = resolved.get("properties", {})
            return {
                child.tag: self._xml_value(child, props[child.tag])
                if child.tag in props else (child.text or "")
                for child in element
            }
        converters = {"integer": int, "number": float, "boolean": {"true": True,
                                                                    "false": False}.get}
        convert = converters.get(str(kind))
        try:
            value = convert(text) if convert else text
        except ValueError:
            return text  # stays text, so the schema's type check names it
        return text if value is None else value
