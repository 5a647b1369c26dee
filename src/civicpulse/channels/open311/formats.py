"""Open311 documents in XML and JSON from the same plain dictionaries.

Handlers build dictionaries once; this module decides how each looks on the wire, so the
two formats can never disagree about what a request contains.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

FORMATS = ("xml", "json")
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

#: list-valued fields: the element that wraps the list (None: items repeat in place) and
#: the element of each item
_LIST_TAGS: dict[str, tuple[str | None, str]] = {
    # the specification's response wraps them; FixMyStreet's reader (XML::Simple with
    # GroupTags attributes => attribute) finds none without the wrapper
    "attributes": ("attributes", "attribute"),
    "values": ("values", "value"),
    "endpoints": ("endpoints", "endpoint"),
    "formats": ("formats", "format"),
}

# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, Mapping):
        child = ET.SubElement(parent, tag)
        for k, v in value.items():
            _append(child, k, v)
        return
    if isinstance(value, list | tuple):
        wrapper, item = _LIST_TAGS.get(tag, (tag, "item"))
        holder = parent if wrapper is None else ET.SubElement(parent, wrapper)
        for v in value:
            _append(holder, item, v)
        return
    child = ET.SubElement(parent, tag)
    if value is not None:
        child.text = _text(value)


def _serialise(root: ET.Element) -> bytes:
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def xml_list(root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    """``<root><item>…</item>…</root>``: services, service_requests, updates."""
    top = ET.Element(root)
    for it in items:
        _append(top, item, it)
    return _serialise(top)


def xml_object(root: str, obj: Mapping[str, Any]) -> bytes:
    """One object as the root element: discovery, service_definition."""
    top = ET.Element(root)
    for k, v in obj.items():
        _append(top, k, v)
    return _serialise(top)


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_list(fmt: str, root: str, item: str, items: Sequence[Mapping[str, Any]]) -> bytes:
    return xml_list(root, item, items) if fmt == "xml" else json_body(list(items))


def render_object(fmt: str, root: str, obj: Mapping[str, Any]) -> bytes:
    return xml_object(root, obj) if fmt == "xml" else json_body(obj)


def render_error(fmt: str, code: int, description: str) -> bytes:
    """The specification's error body: a list of ``{code, description}``."""
    errors = [{"code": code, "description": description}]
    return render_list(fmt, "errors", "error", errors)
