"""
A JSON Schema check of Helm values, as ``helm install`` makes it against a
chart's ``values.schema.json``: every error at once, each with the dotted
path of the value it is about.

The keywords Zero to JupyterHub's schema uses are checked (type, enum,
const, properties, additionalProperties, patternProperties, required, items,
anyOf, oneOf, allOf, not, minimum, maximum, minLength, maxLength, pattern,
minItems, maxItems); annotations (description, default, title, examples,
format, $schema, $comment) are not checks. Any other keyword is left
unchecked: docs/contracts.md says which.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = _TYPES.get(kind)
    return expected is not None and isinstance(value, expected)


def _type_name(value) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, kind):
            return kind
    return type(value).__name__


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def schema_errors(value, schema: dict, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, what is wrong) for each way ``value`` breaks ``schema``."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, kind) for kind in allowed):
            yield path, f"is {_type_name(value)}, the chart wants {' or '.join(allowed)}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield path, f"is {value!r}, the chart allows {', '.join(repr(item) for item in schema['enum'])}"
    if "const" in schema and value != schema["const"]:
        yield path, f"is {value!r}, the chart wants {schema['const']!r}"
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema and not any(not list(schema_errors(value, option, path)) for option in schema[keyword]):
            yield path, f"{value!r} matches none of the forms the chart allows"
    for option in schema.get("allOf", []):
        yield from schema_errors(value, option, path)
    if "not" in schema and not list(schema_errors(value, schema["not"], path)):
        yield path, "has a form the chart forbids"
    if isinstance(value, dict):
        yield from _object_errors(value, schema, path)
    elif isinstance(value, list):
        yield from _array_errors(value, schema, path)
    elif isinstance(value, str):
        yield from _string_errors(value, schema, path)
    elif _is(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            yield path, f"is {value}, below the chart's minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield path, f"is {value}, above the chart's maximum {schema['maximum']}"


def _object_errors(value: dict, schema: dict, path: str) -> Iterator[tuple[str, str]]:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key in schema.get("required", []):
        if key not in value:
            yield _join(path, key), "is required by the chart and missing"
    for key, item in value.items():
        matched = [sub for pattern, sub in patterns.items() if re.search(pattern, str(key))]
        if key in properties:
            yield from schema_errors(item, properties[key], _join(path, key))
        for sub in matched:
            yield from schema_errors(item, sub, _join(path, key))
        if key in properties or matched:
            continue
        extra = schema.get("additionalProperties", True)
        if extra is False:
            yield _join(path, key), "is not a value the chart knows (its schema allows no other keys here)"
        elif isinstance(extra, dict):
            yield from schema_errors(item, extra, _join(path, key))


def _array_errors(value: list, schema: dict, path: str) -> Iterator[tuple[str, str]]:
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield path, f"has {len(value)} items, the chart wants at least {schema['minItems']}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        yield path, f"has {len(value)} items, the chart allows at most {schema['maxItems']}"
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            yield from schema_errors(item, items, f"{path}[{index}]")


def _string_errors(value: str, schema: dict, path: str) -> Iterator[tuple[str, str]]:
    if "minLength" in schema and len(value) < schema["minLength"]:
        yield path, f"is shorter than the chart's minimum of {schema['minLength']} characters"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        yield path, f"is longer than the chart's maximum of {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], value):
        yield path, f"{value!r} does not match the chart's pattern {schema['pattern']}"
