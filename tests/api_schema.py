"""Checks a real response against what the app's own /openapi.json promises for it.

A client generator trusts the document: a status code it does not list becomes an unknown
error, a key it does not list is dropped or refused. So a response passes only when its
operation lists its status code and its body validates against that status's schema with
every object closed (``additionalProperties: false`` wherever the schema does not say
otherwise), so an undocumented key fails as surely as a missing one.
"""

from __future__ import annotations

import copy
import re
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
        assert content and "application/json" in content, f"{where} with an undocumented body"
        schema = _closed(content["application/json"]["schema"])
        validator = Draft202012Validator({**schema, "components": self.components})
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.path)) or 'body'}: {e.message}" for e in errors[:5]
        )
