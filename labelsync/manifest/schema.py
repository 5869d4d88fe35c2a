"""The JSON Schema of manifest v1: generated from the models, compiled once, errors translated.

``schemas/labelsync-v1.schema.json`` is :func:`manifest_schema` written out (regenerate with
``python -m labelsync.manifest.schema > schemas/labelsync-v1.schema.json``); a test fails
when the committed file and the models disagree. Optional fields are *optional*, not
nullable: the generated ``anyOf [X, null]`` pairs are folded to ``X``, so an empty YAML value
(``description:``) is reported as a wrong type.

:func:`schema_diagnostics` runs the compiled Draft 2020-12 validator over one document and
returns one :class:`~labelsync.diagnostics.Diagnostic` per problem, worded for people:
unknown fields with a "did you mean", missing fields, wrong types, values outside an enum.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import sys
from collections.abc import Iterable
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from labelsync.diagnostics import Diagnostic, json_type
from labelsync.manifest.load import Document, JsonPath
from labelsync.manifest.model import NAME_PATTERN, Manifest
from labelsync.providers.registry import PROVIDERS

SCHEMA_ID = "https://labelsync.dev/schemas/labelsync-v1.schema.json"


def _fold_nullable(node: Any) -> Any:
    """Fold pydantic's ``anyOf: [X, {type: null}]`` into ``X``, recursively; drop titles."""
    if isinstance(node, list):
        return [_fold_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _fold_nullable(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        rest = [b for b in any_of if b != {"type": "null"}]
        if len(rest) != len(any_of):
            if len(rest) == 1:
                merged = dict(rest[0])
                for k, v in node.items():
                    if k != "anyOf":
                        merged.setdefault(k, v)
                node = merged
            else:
                node["anyOf"] = rest
    if node.get("default", 0) is None:
        del node["default"]
    return node


def manifest_schema() -> dict[str, Any]:
    """The manifest v1 JSON Schema (Draft 2020-12), generated from :class:`Manifest`."""
    generated = Manifest.model_json_schema(by_alias=True, mode="validation")
    body = _fold_nullable(generated)
    body.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "labelsync manifest v1",
        "description": (
            "One labelsync manifest document (kind: Dataset): a dataset on a labelling platform "
            "remote, its label catalog, segments, sensors, data and label files. "
            "Generated from labelsync.manifest.model; do not edit by hand."
        ),
        **body,
    }


def schema_text() -> str:
    """The schema as committed: 2-space indented JSON, sorted keys, trailing newline."""
    return json.dumps(manifest_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    # No check_schema here: it costs a quarter second per run, and the schema is ours,
    # generated from the models and meta-validated by tests/manifest/test_schema.py.
    schema = manifest_schema()
    return jsonschema.validators.validator_for(schema)(schema)


_TYPE_NAMES = {"null": "null (an empty value)", "array": "list", "object": "mapping"}


def _type_name(value: Any) -> str:
    """What a YAML value is, in the words of the messages (``mapping``, ``list``, ...)."""
    if not isinstance(value, (type(None), bool, int, float, str, list, dict)):
        return type(value).__name__
    name = json_type(value)
    return _TYPE_NAMES.get(name, name)


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean (true/false)", "null": "null"}


def _expected(types: Any) -> str:
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    return _TYPE_WORDS.get(str(types), str(types))


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``choices``, else ``""``."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _provider_setting(key: str) -> str | None:
    """The provider whose ``spec.<provider>`` block has a field ``key`` (manifests of
    earlier releases gave these directly under ``spec``), or ``None``."""
    for name, spec in PROVIDERS.items():
        fields = spec.settings_model.model_fields
        if any((f.alias or n) == key for n, f in fields.items()):
            return name
    return None


def _allowed_keys(schema: dict[str, Any]) -> list[str]:
    return list(schema.get("properties", {}))


def _bad_name(name: str) -> str:
    """Why a dataset, segment or sensor name is refused, in the user's words."""
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name.split("/"):
        why = "a name is not a path (no '/', '\\', or leading '.')"
    elif not name:
        why = "a name must not be empty"
    elif len(name) > 128:
        why = "a name has at most 128 characters"
    else:
        why = "a name starts with a letter or digit and holds only letters, digits, '_', '.' and '-'"
    return f"invalid name {_short(name)}: {why}"


def _describe(err: ValidationError) -> list[tuple[JsonPath, str, bool]]:
    """``(path, message, at_key)`` for one jsonschema error, in the user's words."""
    path: JsonPath = tuple(err.absolute_path)
    v = err.validator
    inst = err.instance
    schema = err.schema if isinstance(err.schema, dict) else {}
    if v in ("anyOf", "oneOf") and err.context:
        # Prefer a branch whose type fitted (its error says what else is wrong); when no
        # branch's type fitted, say which types would.
        fitted = [e for e in err.context if e.validator != "type"]
        if fitted:
            inner = best_match(fitted)
            if inner is not None:
                return _describe(inner)
        types: list[str] = []
        for e in err.context:
            for t in e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]:
                if str(t) not in types:
                    types.append(str(t))
        return [(path, f"expected {_expected(types)}, got {_type_name(inst)} {_short(inst)}".rstrip(), False)]
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = _allowed_keys(schema)
        patterns = list(schema.get("patternProperties", {}))
        out = []
        for key in inst:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            owner = _provider_setting(key) if path == ("spec",) else None
            if patterns and not allowed:
                msg = f"invalid key {key!r} (keys must match {' or '.join(patterns)})"
            elif owner is not None:
                msg = f"unknown field {key!r}: it is a {owner} setting; move it under spec.{owner}"
            else:
                msg = f"unknown field {key!r}{did_you_mean(key, allowed)}"
                if not did_you_mean(key, allowed) and allowed:
                    msg += f"; allowed: {', '.join(allowed)}"
            out.append((path + (key,), msg, True))
        return out
    if v == "required":
        match = re.match(r"'([^']*)' is a required property", err.message)
        name = match.group(1) if match else err.message
        return [(path, f"missing required field {name!r}", False)]
    if v == "type":
        return [(path, f"expected {_expected(err.validator_value)}, got {_type_name(inst)} {_short(inst)}".rstrip(), False)]
    if v == "const":
        return [(path, f"{_short(inst)} is not allowed here; use {_short(err.validator_value)}", False)]
    if v == "enum":
        options = [str(o) for o in list(err.validator_value)]  # type: ignore[arg-type]
        hint = did_you_mean(str(inst), options) if isinstance(inst, str) else ""
        return [(path, f"{_short(inst)} is not one of {', '.join(options)}{hint}", False)]
    if v == "pattern" and err.validator_value == NAME_PATTERN and isinstance(inst, str):
        return [(path, _bad_name(inst), False)]
    if v == "pattern":
        return [(path, f"{_short(inst)} does not match the pattern {err.validator_value}", False)]
    if v == "minLength" and err.validator_value == 1:
        return [(path, "must not be empty", False)]
    return [(path, err.message, False)]


def schema_diagnostics(doc: Document) -> list[Diagnostic]:
    """Every JSON Schema violation of ``doc``, each located at its line and column."""
    out: list[Diagnostic] = []
    seen: set[tuple[JsonPath, str]] = set()
    for err in sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        for path, message, at_key in _describe(err):
            if (path, message) in seen:
                continue
            seen.add((path, message))
            out.append(doc.diagnostic(path, message, key=at_key))
    return out


def main() -> None:
    """Print the schema (``python -m labelsync.manifest.schema > schemas/labelsync-v1.schema.json``)."""
    sys.stdout.write(schema_text())


if __name__ == "__main__":
    main()
