"""Pascal VOC XML (one file per image) <-> TensorBay BOX2D labels.

Reading an ``<annotation>``: ``<filename>`` is the remotePath; each ``<object>`` becomes a
BOX2D with ``category = <name>`` and, for the elements present, the attributes
``truncated``/``difficult``/``occluded`` (booleans from 0/1) and ``pose`` (string).
VOC corners are 1-based pixel indices, both inclusive; TensorBay boxes use pixel edges from
0 (as COCO), so ``xmin = <xmin> - 1``, ``ymin = <ymin> - 1``, ``xmax = <xmax>``,
``ymax = <ymax>`` (``docs/formats.md``).

The XML is parsed with the standard library's expat, which gives every element's line and
column. A ``<!DOCTYPE>`` (and so any entity declaration) is refused, which rules out entity
expansion attacks ("billion laughs", external entities) without another dependency.

Checks (one diagnostic each, at the element): malformed XML, a DOCTYPE, a root other than
``<annotation>``, no ``<filename>``, an object without ``<name>`` or ``<bndbox>``,
non-numeric or missing corners, ``xmin > xmax``, a box outside ``<size>``, a flag not 0/1,
two XML files for one image.

Writing (:func:`dump`) returns the original text when the labels are unchanged; otherwise it
keeps every non-object element, keeps the unchanged objects' elements and rebuilds the others,
tab-indented as VOC's own files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import FormatError, Parsed, line_col, problem
from labelsync.local.labels import remote_path_problem

FLAGS = ("truncated", "occluded", "difficult")
_INT = re.compile(r"^[+-]?\d+$")
ROUND_DIGITS = 10


@dataclass
class Node:
    """An XML element with its 1-based position."""

    tag: str
    attrs: dict[str, str]
    line: int
    col: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str) -> str | None:
        node = self.find(tag)
        return node.text.strip() if node is not None else None


class _Refused(Exception):
    pass


def parse_xml(text: str) -> Node:
    """The element tree of ``text``; ``ValueError("line:col: message")`` when malformed."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    root: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    def doctype(*_: Any) -> None:
        raise _Refused("a DOCTYPE is not allowed in a VOC file")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise ValueError(f"{exc.lineno}:{exc.offset + 1}:malformed XML: {expat.ErrorString(exc.code)}") from None
    except _Refused as exc:
        line, col = line_col(text, text.find("<!DOCTYPE"))
        raise ValueError(f"{line}:{col}:{exc}") from None
    return root[0]


def _number(text: str | None) -> int | float | None:
    if text is None:
        return None
    try:
        return int(text) if _INT.match(text) else float(text)
    except ValueError:
        return None


def _r(v: Any) -> Any:
    return round(v, ROUND_DIGITS) if type(v) is float else v


def parse(text: str, *, file: str = "<voc>") -> tuple[str | None, dict[str, Any], Parsed]:
    """One VOC document: ``(remotePath, label, parsed)``; ``parsed`` holds the diagnostics
    (and the label under the remotePath when it read)."""
    parsed = Parsed()
    add = parsed.diagnostics.append
    try:
        root = parse_xml(text)
    except ValueError as exc:
        line, col, message = str(exc).split(":", 2)
        fix = ("remove the DOCTYPE: VOC files need none" if "DOCTYPE" in message
               else "fix the XML (every tag closed, one root element)")
        add(problem(file, int(line), int(col), message, fix))
        return None, {}, parsed
    if root.tag != "annotation":
        add(problem(file, root.line, root.col, f"the root element is <{root.tag}>, not <annotation>"))
        return None, {}, parsed
    name = root.value("filename")
    if not name:
        add(problem(file, root.line, root.col, "no <filename>", "name the image file, relative to the data directory"))
        return None, {}, parsed
    bad = remote_path_problem(name)
    if bad:
        node = root.find("filename") or root
        add(problem(file, node.line, node.col, bad.replace("'remotePath'", "<filename>"),
                    "name the image relative to the data directory, with '/'"))
        return None, {}, parsed
    size = root.find("size")
    width = _number(size.value("width")) if size is not None else None
    height = _number(size.value("height")) if size is not None else None
    boxes: list[dict[str, Any]] = []
    for obj in (c for c in root.children if c.tag == "object"):
        box = _object(obj, file, width or None, height or None, add)
        if box is not None:
            boxes.append(box)
    label = {"BOX2D": boxes} if boxes else {}
    parsed.labels[name] = label
    return name, label, parsed


def _object(obj: Node, file: str, width: Any, height: Any, add: Callable[[Any], None]) -> dict[str, Any] | None:
    name = obj.value("name")
    if not name:
        add(problem(file, obj.line, obj.col, "an <object> without <name>", "add <name>class</name>"))
        return None
    bnd = obj.find("bndbox")
    if bnd is None:
        add(problem(file, obj.line, obj.col, f"object {name!r} has no <bndbox>"))
        return None
    corners: dict[str, Any] = {}
    for key in ("xmin", "ymin", "xmax", "ymax"):
        node = bnd.find(key)
        value = _number(node.text.strip()) if node is not None else None
        if value is None:
            where = node or bnd
            add(problem(file, where.line, where.col, f"object {name!r}: <{key}> must be a number"))
            return None
        corners[key] = value
    if corners["xmin"] > corners["xmax"] or corners["ymin"] > corners["ymax"]:
        add(problem(file, bnd.line, bnd.col, f"object {name!r}: xmin > xmax or ymin > ymax", "swap the corners"))
        return None
    if corners["xmin"] < 1 or corners["ymin"] < 1 or (width and corners["xmax"] > width) or (
        height and corners["ymax"] > height
    ):
        add(problem(file, bnd.line, bnd.col,
                    f"object {name!r}: box ({corners['xmin']}, {corners['ymin']})-({corners['xmax']}, {corners['ymax']}) "
                    f"is outside the {width}x{height} image",
                    "VOC corners are 1-based: 1 <= xmin <= xmax <= width, 1 <= ymin <= ymax <= height"))
        return None
    attributes: dict[str, Any] = {}
    pose = obj.value("pose")
    if pose is not None:
        attributes["pose"] = pose
    for flag in FLAGS:
        node = obj.find(flag)
        if node is None:
            continue
        if node.text.strip() not in ("0", "1"):
            add(problem(file, node.line, node.col, f"object {name!r}: <{flag}> must be 0 or 1"))
            return None
        attributes[flag] = node.text.strip() == "1"
    box2d = {"xmin": _r(corners["xmin"] - 1), "ymin": _r(corners["ymin"] - 1), "xmax": corners["xmax"], "ymax": corners["ymax"]}
    out: dict[str, Any] = {"box2d": box2d, "category": name}
    if attributes:
        out["attributes"] = attributes
    return out


# ---------------------------------------------------------------- writing


def _fmt(v: Any) -> str:
    return str(v) if type(v) is int else repr(float(v))


def _serialise(node: Node, depth: int, out: list[str]) -> None:
    pad = "\t" * depth
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrs.items())
    if node.children:
        out.append(f"{pad}<{node.tag}{attrs}>\n")
        for child in node.children:
            _serialise(child, depth + 1, out)
        out.append(f"{pad}</{node.tag}>\n")
    else:
        out.append(f"{pad}<{node.tag}{attrs}>{escape(node.text.strip())}</{node.tag}>\n")


def _leaf(tag: str, text: str) -> Node:
    return Node(tag, {}, 0, 0, text=text)


def _object_node(box: Mapping[str, Any]) -> Node:
    b = box["box2d"]
    attrs = box.get("attributes") or {}
    node = Node("object", {}, 0, 0, [_leaf("name", str(box.get("category") or "object"))])
    if "pose" in attrs:
        node.children.append(_leaf("pose", str(attrs["pose"])))
    for flag in FLAGS:
        if flag in attrs:
            node.children.append(_leaf(flag, "1" if attrs[flag] else "0"))
    corners = {"xmin": _r(b["xmin"] + 1), "ymin": _r(b["ymin"] + 1), "xmax": b["xmax"], "ymax": b["ymax"]}
    node.children.append(Node("bndbox", {}, 0, 0, [_leaf(k, _fmt(v)) for k, v in corners.items()]))
    return node


def dump(original: str | None, label: Mapping[str, Any], *, remote_path: str,
         image_size: tuple[int, int] | None = None, file: str = "<voc>") -> str:
    """The VOC XML of one image's ``label`` (only BOX2D is written); ``original`` is returned
    as it is when it already reads as ``label``. ``image_size`` (width, height) fills
    ``<size>`` of a new file."""
    boxes = list(label.get("BOX2D") or [])
    old_boxes: list[Any] = []
    if original is not None:
        name, old_label, parsed = parse(original, file=file)
        if not parsed.ok:
            raise FormatError(parsed.diagnostics)
        old_boxes = list(old_label.get("BOX2D") or [])
        if name == remote_path and old_boxes == boxes:
            return original
        root = parse_xml(original)
        prolog = original[: original.find("<annotation")] if original.lstrip().startswith("<?xml") else ""
    else:
        root = Node("annotation", {}, 0, 0, [_leaf("folder", ""), _leaf("filename", remote_path)])
        if image_size is not None:
            w, h = image_size
            root.children.append(Node("size", {}, 0, 0, [_leaf("width", str(w)), _leaf("height", str(h)), _leaf("depth", "3")]))
        root.children.append(_leaf("segmented", "0"))
        prolog = ""
    old_nodes = [c for c in root.children if c.tag == "object"]
    first = next((i for i, c in enumerate(root.children) if c.tag == "object"), len(root.children))
    keep = [c for c in root.children if c.tag != "object"]
    fn = next((c for c in keep if c.tag == "filename"), None)
    if fn is not None:
        fn.text = remote_path
    objects = [
        old_nodes[i] if i < len(old_boxes) and i < len(old_nodes) and old_boxes[i] == box else _object_node(box)
        for i, box in enumerate(boxes)
    ]
    before = sum(1 for c in root.children[:first] if c.tag != "object")
    root.children = keep[:before] + objects + keep[before:]
    out: list[str] = [prolog]
    _serialise(root, 0, out)
    return "".join(out)


# ---------------------------------------------------------------- directories


def read(directory: Path, *, display: str | None = None) -> Parsed:
    """Every ``*.xml`` below ``directory`` (sorted): labels by ``<filename>`` and diagnostics."""
    out = Parsed()
    first: dict[str, str] = {}
    base = display or str(directory)
    for path in sorted(directory.rglob("*.xml")):
        file = f"{base}/{path.relative_to(directory).as_posix()}"
        name, label, parsed = parse(read_text(path), file=file)
        out.diagnostics += parsed.diagnostics
        if name is None:
            continue
        if name in first:
            out.diagnostics.append(problem(file, 1, 1, f"{name!r} is also labelled by {first[name]}",
                                           "keep one XML file per image"))
            continue
        first[name] = file
        out.labels[name] = label
        out.origin[name] = file
    return out


def files_of(directory: Path) -> dict[str, Path]:
    """remotePath -> the XML file labelling it."""
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.xml")):
        name, _, parsed = parse(read_text(path))
        if name is not None and parsed.ok:
            found.setdefault(name, path)
    return found


def write(directory: Path, labels: Mapping[str, Mapping[str, Any]], *,
          image_size: Callable[[str], tuple[int, int]] | None = None) -> list[Path]:
    """Write each image's labels into its XML file (new files: ``<remotePath stem>.xml``);
    return the files whose bytes changed."""
    existing = files_of(directory) if directory.exists() else {}
    changed: list[Path] = []
    for remote_path in sorted(labels):
        path = existing.get(remote_path) or directory / (str(Path(remote_path).with_suffix("")) + ".xml")
        original = read_text(path) if path.exists() else None
        size = image_size(remote_path) if image_size is not None and original is None else None
        if write_text(path, dump(original, labels[remote_path], remote_path=remote_path, image_size=size, file=str(path))):
            changed.append(path)
    return changed


def catalog_from(directory: Path) -> dict[str, Any]:
    """BOX2D with the classes found (sorted) and the VOC flags/pose as attributes."""
    names = sorted({o["category"] for label in read(directory).labels.values() for o in label.get("BOX2D", [])})
    attributes: list[dict[str, Any]] = [{"name": f, "type": "boolean"} for f in FLAGS]
    attributes.append({"name": "pose", "type": "string"})
    return {"BOX2D": {"categories": [{"name": n} for n in names], "attributes": attributes}}
