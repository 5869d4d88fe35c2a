"""Read manifest files into plain JSON values with the line and column of every node.

Contract: :func:`read_documents` never raises for anything a file can contain. It returns
the documents it could read and a :class:`~labelsync.diagnostics.Diagnostic` for every
problem, each with the file, a 1-based line and column, and a one-line message.

Limits (hostile input gets one clear line, never a hang or a traceback):

* a file larger than :data:`MAX_FILE_BYTES` (10 MiB) is not read;
* bytes that are not UTF-8 are reported at the line and column of the first bad byte;
* nesting deeper than :data:`MAX_DEPTH` (64 levels) is refused;
* a document that expands (through YAML aliases) to more than :data:`MAX_NODES` values
  is refused, so "billion laughs" alias bombs cannot exhaust memory;
* duplicate mapping keys are errors (ruamel.yaml's round-trip loader refuses them);
* mapping keys must be strings, values JSON-like (no dates, no custom tags);
* a file with no document (empty, or only comments) is an error.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from labelsync.diagnostics import (
    Diagnostic,
    format_path,  # noqa: F401 - re-exported for callers
)

MAX_FILE_BYTES = 10 * 1024 * 1024
"""The largest manifest file read (10 MiB); manifests name data, they do not hold it."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and sequences accepted in a manifest."""
MAX_NODES = 200_000
"""The most values one document may hold once YAML aliases are expanded."""

JsonPath = tuple[str | int, ...]




@dataclass(frozen=True)
class Document:
    """One YAML document as plain JSON values plus the position of each of its nodes.

    ``values`` maps a JSON path to the 1-based ``(line, column)`` where that value starts;
    ``keys`` maps the path of a mapping entry to where its key starts.
    """

    file: str
    index: int
    data: Any
    line: int = 1
    column: int = 1
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """The best known position of ``path``: its key (if asked), value, or nearest ancestor."""
        p = tuple(path)
        while True:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return (self.line, self.column)
            p = p[:-1]

    def diagnostic(
        self, path: JsonPath, message: str, *, hint: str | None = None, key: bool = False
    ) -> Diagnostic:
        """A diagnostic located at ``path`` in this document."""
        line, column = self.position(path, key=key)
        return Diagnostic(self.file, line, column, message, format_path(path), hint)


class _TooBig(Exception):
    def __init__(self, message: str, path: JsonPath) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class _Converter:
    """Turn ruamel's round-trip nodes into plain JSON values, recording positions."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.values: dict[JsonPath, tuple[int, int]] = {}
        self.keys: dict[JsonPath, tuple[int, int]] = {}
        self.problems: list[tuple[JsonPath, str, bool]] = []

    def convert(self, node: Any, path: JsonPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(
                f"document holds more than {MAX_NODES} values (a YAML alias bomb?); refusing to expand it",
                path,
            )
        if depth > MAX_DEPTH:
            raise _TooBig(f"nesting deeper than {MAX_DEPTH} levels", path)
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    where = path + (str(key),)
                    self._mark_key(node, key, where)
                    self.problems.append((where, f"mapping key {key!r} is not a string; quote it", True))
                    continue
                where = path + (key,)
                self._mark_key(node, key, where)
                out[key] = self.convert(value, where, depth + 1)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for i, value in enumerate(node):
                where = path + (i,)
                try:
                    line, col = node.lc.item(i)
                    self.values[where] = (line + 1, col + 1)
                except (KeyError, TypeError, IndexError):
                    pass
                items.append(self.convert(value, where, depth + 1))
            return items
        if node is None or isinstance(node, bool | str):
            return str(node) if isinstance(node, str) else node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, datetime.date):
            self.problems.append((path, f"{node} is read as a date; quote it to make it a string", False))
            return str(node)
        self.problems.append((path, f"unsupported YAML value of type {type(node).__name__}; use plain JSON-like values", False))
        return None

    def _mark_key(self, node: CommentedMap, key: Any, where: JsonPath) -> None:
        try:
            kline, kcol = node.lc.key(key)
            self.keys[where] = (kline + 1, kcol + 1)
            vline, vcol = node.lc.value(key)
            self.values[where] = (vline + 1, vcol + 1)
        except (KeyError, TypeError):
            pass


def _new_yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _decode(file: str, raw: bytes) -> tuple[str | None, Diagnostic | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, Diagnostic(
            file, line, column, f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", "",
            "save the file as UTF-8",
        )


_OPENED = {
    "while parsing a flow sequence": "unclosed flow sequence",
    "while parsing a flow mapping": "unclosed flow mapping",
    "while scanning a quoted scalar": "unclosed quoted string",
}


def _opened_by(context: str, problem: str) -> str:
    """What the context mark started, in the user's words (``unclosed flow sequence``)."""
    what = _OPENED.get(context)
    if "quoted scalar" in context:
        ended = "end of stream" in problem or "document separator" in problem
        what = "unclosed quoted string" if ended else "invalid quoted string"
    if what is None:
        what = "invalid YAML in " + re.sub(r"^while (parsing|scanning|constructing) ", "", context)
    return what


def _yaml_error(file: str, exc: YAMLError) -> Diagnostic:
    """One diagnostic for a YAML syntax error.

    When ruamel gives a context mark (where the unclosed bracket, quote or block began), the
    diagnostic points there and names where the parser stopped:
    ``file:4:9: unclosed flow sequence (started here); expected ',' or ']' at 5:5``.
    Otherwise it points where the parser stopped.
    """
    if isinstance(exc, MarkedYAMLError):
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        context = (exc.context or "").strip()
        duplicate = re.match(r'found duplicate key "(.*?)" with value', problem)
        if duplicate:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            return Diagnostic(
                file, line, column, f"duplicate key {duplicate.group(1)!r} in a mapping", "", "remove one of the two entries"
            )
        start, stop = exc.context_mark, exc.problem_mark
        if context and exc.problem and start is not None and stop is not None:
            if context in ("while parsing a flow sequence", "while parsing a flow mapping"):
                problem = re.sub(r",? but (got|found) .*$", "", problem)
            what = _opened_by(context, problem)
            problem = problem.replace("found unexpected end of stream", "the file ends")
            problem = problem.replace("expected <block end>, but found", "expected the block to end (check the indentation), found")
            message = f"{what} (started here); {problem} at {stop.line + 1}:{stop.column + 1}"
            return Diagnostic(file, start.line + 1, start.column + 1, message)
        mark = stop or start
        message = f"invalid YAML: {context + ', ' if context and exc.problem else ''}{problem}"
        if mark is not None:
            return Diagnostic(file, mark.line + 1, mark.column + 1, message)
        return Diagnostic(file, 1, 1, message)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Diagnostic(file, 1, 1, f"invalid YAML: {text}")


_FLOW_TOKENS = re.compile(r"""[\[\]{}]|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|(?:^|[ \t])#[^\n]*""", re.M)


def _flow_depth_problem(file: str, text: str) -> Diagnostic | None:
    """Find flow collections (``[[[...]]]``) nested deeper than :data:`MAX_DEPTH`, cheaply.

    The YAML scanner is slow (quadratic) on very deep flow nesting, so this linear pre-scan
    refuses it before parsing. Brackets inside quoted strings and comments are skipped.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _FLOW_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                return Diagnostic(file, line, column, f"nesting deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth = max(0, depth - 1)
    return None


def parse_text(file: str, text: str) -> tuple[list[Document], list[Diagnostic]]:
    """Parse YAML ``text`` (named ``file`` in messages) into documents and diagnostics."""
    docs: list[Document] = []
    diags: list[Diagnostic] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    too_deep = _flow_depth_problem(file, text)
    if too_deep is not None:
        return [], [too_deep]
    yaml = _new_yaml()
    stream: Iterator[Any] = iter(yaml.load_all(text))
    index = 0
    while True:
        try:
            node = next(stream)
        except StopIteration:
            break
        except YAMLError as exc:
            diags.append(_yaml_error(file, exc))
            break
        except RecursionError:
            diags.append(Diagnostic(file, 1, 1, f"nesting too deep (the limit is {MAX_DEPTH} levels)"))
            break
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. a scalar the constructor rejects
            diags.append(Diagnostic(file, 1, 1, f"invalid YAML value: {exc}"))
            break
        if node is None:  # an empty document (only comments, or a bare `---`)
            index += 1
            continue
        conv = _Converter(file)
        line, column = 1, 1
        if isinstance(node, CommentedMap | CommentedSeq):
            line, column = node.lc.line + 1, node.lc.col + 1
        try:
            data = conv.convert(node, (), 0)
        except _TooBig as big:
            pos = conv.values.get(big.path) or conv.keys.get(big.path) or (line, column)
            diags.append(Diagnostic(file, pos[0], pos[1], big.message, format_path(big.path)))
            index += 1
            continue
        except RecursionError:
            diags.append(Diagnostic(file, line, column, f"nesting too deep (the limit is {MAX_DEPTH} levels)"))
            index += 1
            continue
        doc = Document(file, index, data, line, column, conv.values, conv.keys)
        for path, message, at_key in conv.problems:
            diags.append(doc.diagnostic(path, message, key=at_key))
        docs.append(doc)
        index += 1
    if not docs and not diags:
        diags.append(
            Diagnostic(file, 1, 1, "file holds no YAML document", "", "add a manifest (apiVersion: labelsync/v1, kind: Dataset) or delete the file")
        )
    return docs, diags


def read_documents(
    path: Path, display: str | None = None, *, raw: bytes | None = None
) -> tuple[list[Document], list[Diagnostic]]:
    """Read the YAML documents of ``path``; ``display`` is the file name used in messages.

    ``raw`` are the file's bytes when the caller already read them (at most
    :data:`MAX_FILE_BYTES`): the file is then not read again.
    """
    file = display if display is not None else str(path)
    try:
        size = len(raw) if raw is not None else path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [
                Diagnostic(
                    file, 1, 1, f"file is {size} bytes, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit for manifests",
                    "", "split it into several files",
                )
            ]
        if raw is None:
            raw = path.read_bytes()
    except FileNotFoundError:
        return [], [Diagnostic(file, 0, 0, "file does not exist")]
    except IsADirectoryError:
        return [], [Diagnostic(file, 0, 0, "is a directory, not a file")]
    except OSError as exc:
        return [], [Diagnostic(file, 0, 0, f"cannot read the file: {exc.strerror or exc}")]
    text, bad = _decode(file, raw)
    if bad is not None or text is None:
        return [], [bad] if bad else []
    return parse_text(file, text)
