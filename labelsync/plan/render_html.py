"""Plan -> one self-contained HTML report (``labelsync plan --format html -o plan.html``).

No network and no external assets: styles are inline, images are embedded as data URIs
(downscaled by :mod:`labelsync.plan.report_images`, which needs the ``html`` extra), labels
are inline SVG. The report holds:

* the summary (the plan's summary line, one row per dataset and segment, call-outs,
  blocked reasons and warnings) and the label statistics that change;
* each changed image item (a file or label change whose labels differ, at most
  ``image_limit``, then a count), with its before and after labels drawn over the picture:
  boxes, polygons, polylines, keypoints and masks, coloured by category, with a legend
  (in colour order), and the label-level diff under it. Each category of the report has
  its own colour (:func:`report_colours`: a fixed, well-separated palette assigned in the
  desired catalogs' category order, from the plan's ``stats["categories"]``, so stable for a
  given catalog; a name outside the catalogs takes the next colour when first drawn); a category
  the plan renames keeps its colour: the before side draws the old name in the new name's
  colour, titled ``bus -> coach``, and the legend reads ``coach (renamed from bus)``; mask
  pixels are coloured by their category too (:func:`mask_colours`: a semantic mask's value
  is a category id, a panoptic mask's value an instance whose ``info`` names its category;
  an instance mask's instances get one colour each), the names from the plan's
  ``stats["masks"]`` (the desired catalog's ids), and the legend lists the mask categories
  a mask holds;
* items that are not images (point clouds, ...) as a table of their label-level diffs.

The file size is bounded: pictures are embedded while their total stays under ``budget``
bytes; later items are drawn over an empty frame of the image's size. The report states
its own size and how many pictures it embeds.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from labelsync.plan.labeldiff import diff_labels, label_of
from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan, format_bytes
from labelsync.plan.palette import CategoryColours
from labelsync.plan.render_stats import change_cell, changed_rows, row_what
from labelsync.plan.render_text import callouts, counts_text, summary_rows
from labelsync.plan.report_images import Picture, load_mask, load_picture
from labelsync.plan.stats import MASK_TYPES
from labelsync.renames import Renames

__all__ = ["IMAGE_SUFFIXES", "mask_colours", "render_html", "report_colours"]

IMAGE_SUFFIXES = frozenset((".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"))
_DISPLAY = 420  # CSS pixels of the longer side of each panel
_DRAWN = frozenset(("BOX2D", "POLYGON", "MULTI_POLYGON", "POLYLINE2D", "MULTI_POLYLINE2D", "KEYPOINTS2D"))
_SIZE_MARK = "@@LABELSYNC_REPORT_SIZE@@"
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
td.n{text-align:right}.panels{display:flex;gap:16px;flex-wrap:wrap}.panel h4{margin:4px 0}
figure{margin:16px 0;padding:8px;border:1px solid #ddd}figcaption{font-weight:600}
pre{background:#f6f8fa;padding:6px;margin:6px 0;white-space:pre-wrap}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.warn{color:#b00}svg{background:#eee;display:block}
"""


def report_colours(plan: Plan) -> CategoryColours:
    """The category colours of ``plan``'s report: seeded with the categories of the label
    types the report draws, dataset by dataset in plan order, each in its desired catalog's
    order (``stats["categories"]``); a renamed category is there under its new name, and the
    report draws its old name in that colour."""
    drawn = _DRAWN | set(MASK_TYPES)
    order = []
    for d in plan.datasets:
        pairs = d.stats.get("categories") if isinstance(d.stats, Mapping) else None
        for pair in pairs if isinstance(pairs, list) else []:
            if isinstance(pair, list) and len(pair) == 2 and pair[0] in drawn and isinstance(pair[1], str):
                order.append(pair[1])
    return CategoryColours(order)


def mask_colours(mask_type: str, value: Any, ids: Mapping[str, str]) -> dict[int, str]:
    """Pixel value -> category name of one mask: ``value`` is the label's mask entry (its
    ``info``), ``ids`` the catalog's ``{str(categoryId): name}`` of ``mask_type``. A value
    with no category is left out (an instance mask's instances, an unknown id)."""
    out: dict[int, str] = {}
    if mask_type == "PANOPTIC_MASK":
        for one in (value.get("info") if isinstance(value, Mapping) else None) or []:
            if isinstance(one, Mapping) and isinstance(one.get("instanceId"), int):
                name = ids.get(str(one.get("categoryId")))
                if name:
                    out[one["instanceId"]] = name
        return out
    return {int(k): v for k, v in ids.items() if k.isdigit() and v}


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_html(
    plan: Plan,
    *,
    root: Path | None = None,
    image_limit: int = 50,
    budget: int = 20 * 1024 * 1024,
    max_side: int = 512,
) -> str:
    """The report for ``plan`` (see the module docstring). Images are read from each file
    change's ``source`` under ``root`` (default: the plan's root)."""
    base = root if root is not None else (Path(plan.root) if plan.root else None)
    state = _State(base, image_limit, budget, max_side, report_colours(plan))
    body = [f"<h1>labelsync plan</h1><p><b>{_e(plan.summary_line())}</b></p>", _summary(plan)]
    for dataset in plan.datasets:
        body.append(_dataset(dataset, state))
    legend = "".join(
        f'<span><i style="background:{state.colours(c)}"></i>{_e(c)}{_e(_renamed_from(state, c))}</span>'
        for c in sorted(state.categories, key=state.colours.rank)
    )
    if legend:
        body.insert(2, f'<h2>Legend</h2><p class="legend">{legend}</p>')
    body.append(
        f"<p><small>Report size: {_SIZE_MARK}; {state.embedded:,} picture(s) embedded "
        f"({format_bytes(state.used)} of a {format_bytes(budget)} budget), at most {image_limit:,} items drawn."
        "</small></p>"
    )
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">'
        f"<title>labelsync plan</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    size = len(doc.encode("utf-8"))
    return doc.replace(_SIZE_MARK, format_bytes(size))


class _State:
    """What the report has used so far: drawn items, embedded bytes, categories seen, and
    the category colours."""

    def __init__(self, root: Path | None, limit: int, budget: int, max_side: int, colours: CategoryColours) -> None:
        self.root, self.limit, self.budget, self.max_side = root, limit, budget, max_side
        self.colours = colours
        self.drawn = 0
        self.skipped = 0
        self.embedded = 0
        self.used = 0
        self.categories: set[str] = set()
        self.renames = Renames()
        self.mask_ids: Mapping[str, Mapping[str, str]] = {}
        self.renamed: dict[str, set[str]] = {}  # new category -> old names drawn

    def path(self, source: Any) -> Path | None:
        if not isinstance(source, str) or not source:
            return None
        p = Path(source)
        return p if p.is_absolute() or self.root is None else self.root / p

    def picture(self, source: Any) -> Picture | None:
        path = self.path(source)
        if path is None or not path.is_file():
            return None
        pic = load_picture(path, max_side=self.max_side)
        if pic is None:
            return None
        if self.used + pic.size > self.budget:
            return Picture(pic.width, pic.height, "")  # over budget: the frame, not the picture
        self.used += pic.size
        self.embedded += 1
        return pic

    def mask(self, source: Any, names: Mapping[int, str], prefix: str) -> Picture | None:
        """The mask at ``source`` coloured by category (``names``: pixel value -> category;
        other values by ``prefix`` and the value); its categories join the legend."""
        path = self.path(source)
        if path is None or not path.is_file():
            return None
        pic = load_mask(path, lambda v: self.colours(names.get(v) or f"{prefix} {v}"), max_side=self.max_side)
        if pic is None or self.used + pic.size > self.budget:
            return None
        self.used += pic.size
        self.categories.update(names[v] for v in pic.values if v in names)
        return pic


def _renamed_from(state: _State, category: str) -> str:
    old = sorted(state.renamed.get(category, ()))
    return f" (renamed from {', '.join(old)})" if old else ""


def _summary(plan: Plan) -> str:
    rows = []
    for d in plan.datasets:
        for r in summary_rows(d):
            where = "(dataset)" if r.segment is None else r.segment
            rows.append(f"<tr><td>{_e(d.name)}</td><td>{_e(where)}</td><td>{_e(counts_text(r.counts, r.upload_bytes))}</td></tr>")
    out = []
    if rows:
        out.append("<h2>Summary</h2><table><tr><th>Dataset</th><th>Segment</th><th>Changes</th></tr>" + "".join(rows) + "</table>")
    stats = []
    for d in plan.datasets:
        for s in changed_rows(d.stats, d.renames)[0]:
            stats.append(
                f"<tr><td>{_e(d.name)}</td><td>{_e(s.segment)}</td><td>{_e(row_what(s))}</td>"
                f'<td class="n">{s.before:,}</td><td class="n">{s.after:,}</td><td class="n">{change_cell(s)}</td></tr>'
            )
    if stats:
        out.append(
            "<h2>Label statistics</h2><table><tr><th>Dataset</th><th>Segment</th><th>Count of</th>"
            "<th>Before</th><th>After</th><th>Change</th></tr>" + "".join(stats) + "</table>"
        )
    notes = [c for d in plan.datasets for c in callouts(d)]
    notes += [f"blocked: dataset.{d.name}: {r}" for d in plan.datasets for r in d.blocked]
    notes += [f"warning: dataset.{d.name}: {w}" for d in plan.datasets for w in d.warnings]
    if notes:
        out.append('<ul class="warn">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return "".join(out)


def _dataset(dataset: DatasetPlan, state: _State) -> str:
    state.renames = Renames.from_json(dataset.renames) if dataset.renames else Renames()
    masks = dataset.stats.get("masks") if isinstance(dataset.stats, Mapping) else None
    state.mask_ids = masks if isinstance(masks, Mapping) else {}
    figures: list[str] = []
    table: list[str] = []
    for change in dataset.changes:
        if change.kind not in (Kind.FILE, Kind.LABEL) or change.action is Action.REPLACE:
            continue
        deltas = diff_labels(change.before, change.after)
        if not deltas and change.action is Action.UPDATE and change.kind is Kind.LABEL:
            continue
        name = change.address.rsplit("/", 1)[-1].split(".", 1)[-1]
        seg = change.segment or ""
        diff_text = "\n".join(d.line() for d in deltas) or "(no label changes)"
        if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            table.append(f"<tr><td>{_e(seg)}</td><td>{_e(name)}</td><td><pre>{_e(diff_text)}</pre></td></tr>")
            continue
        if state.drawn >= state.limit:
            state.skipped += 1
            continue
        state.drawn += 1
        figures.append(_figure(change, seg, name, diff_text, state))
    if not figures and not table:
        return ""
    out = [f"<h2>dataset.{_e(dataset.name)}</h2>", *figures]
    if state.skipped:
        out.append(f"<p>... and {state.skipped:,} more changed image(s) not drawn (limit {state.limit:,}).</p>")
        state.skipped = 0
    if table:
        out.append("<h3>Other data</h3><table><tr><th>Segment</th><th>Item</th><th>Label changes</th></tr>" + "".join(table) + "</table>")
    return "".join(out)


def _figure(change: Change, segment: str, name: str, diff_text: str, state: _State) -> str:
    f = change.file
    pic = state.picture(f.source) if f is not None and change.action is not Action.DELETE else None
    before_label, after_label = label_of(change.before), label_of(change.after)
    width, height = (pic.width, pic.height) if pic else _extent(before_label, after_label)
    masks: Mapping[str, str | None] = {m.kind: m.source for m in f.masks} if f is not None else {}
    panels = []
    ref = None
    if pic is not None and pic.uri:  # embedded once, drawn in both panels
        ref = f"p{state.embedded}"
        panels.append(
            f'<svg width="0" height="0" style="position:absolute"><defs><image id="{ref}" href="{pic.uri}" '
            f'x="0" y="0" width="{width}" height="{height}" preserveAspectRatio="none"/></defs></svg>'
        )
    empty: Mapping[str, str | None] = {}
    sides = [("before", before_label, empty), ("after", after_label, masks)]
    if change.action is Action.DELETE:
        sides = sides[:1]
    for title, label, side_masks in sides:
        note = ""
        if title == "before" and change.action is Action.CREATE:
            note = " (new file)"
        elif title == "before" and change.kind is Kind.FILE and change.action is Action.UPDATE:
            note = " (drawn over the new image)"
        svg = _svg(ref, width, height, label, side_masks, state, before=title == "before")
        panels.append(f'<div class="panel"><h4>{title}{note}</h4>{svg}</div>')
    caption = f"{segment}/{name}" if segment else name
    marker = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}.get(change.action, "")
    return (
        f'<figure data-item="{_e(caption)}"><figcaption>{_e(marker)} {_e(caption)}</figcaption>'
        f'<div class="panels">{"".join(panels)}</div><pre>{_e(diff_text)}</pre></figure>'
    )


def _extent(*labels: Mapping[str, Any]) -> tuple[int, int]:
    """An image size for labels with no picture: the labels' extent plus a margin (min 64)."""
    xs, ys = [64.0], [64.0]
    for label in labels:
        for _, one in _each(label):
            for x, y in _points_of(one):
                xs.append(x)
                ys.append(y)
    return int(max(xs) * 1.1), int(max(ys) * 1.1)


def _each(label: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out = []
    for label_type, value in label.items():
        for one in value if isinstance(value, list) else [value]:
            out.append((label_type, one))
    return out


def _points_of(value: Any) -> list[tuple[float, float]]:
    if isinstance(value, Mapping):
        if all(isinstance(value.get(k), int | float) for k in ("xmin", "ymin", "xmax", "ymax")):
            return [(value["xmin"], value["ymin"]), (value["xmax"], value["ymax"])]
        if isinstance(value.get("x"), int | float) and isinstance(value.get("y"), int | float) and "z" not in value:
            return [(float(value["x"]), float(value["y"]))]
        return [p for v in value.values() for p in _points_of(v)]
    if isinstance(value, list):
        return [p for v in value for p in _points_of(v)]
    return []


def _svg(ref: str | None, width: int, height: int, label: Mapping[str, Any], masks: Mapping[str, str | None], state: _State,
         *, before: bool = False) -> str:
    longest = max(width, height, 1)
    scale = max(min(1.0, _DISPLAY / longest), min(4.0, 240 / longest))  # small images are enlarged
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * scale)}" '
        f'height="{round(height * scale)}" preserveAspectRatio="none">'
    ]
    if ref is not None:
        parts.append(f'<use href="#{ref}"/>')
    for mask_type, source in sorted(masks.items()):
        if mask_type in label:
            ids = state.mask_ids.get(mask_type)
            names = mask_colours(mask_type, label[mask_type], ids if isinstance(ids, Mapping) else {})
            prefix = "instance" if mask_type == "INSTANCE_MASK" else mask_type.lower()
            overlay = state.mask(source, names, prefix)
            if overlay is not None:
                parts.append(f'<image href="{overlay.uri}" x="0" y="0" width="{width}" height="{height}" preserveAspectRatio="none"/>')
    radius = max(width, height) / 150
    for label_type, one in _each(label):
        parts.append(_shape(label_type, one, radius, state, before=before))
    parts.append("</svg>")
    return "".join(parts)


def _shape(label_type: str, one: Any, radius: float, state: _State, *, before: bool = False) -> str:
    if not isinstance(one, Mapping):
        return ""
    category = str(one.get("category") or label_type.lower())
    renames = state.renames.types.get(label_type)
    new = renames.categories.get(category) if before and renames else None
    colour = state.colours(new or category)
    stroke = f'stroke="{colour}" stroke-width="2" vector-effect="non-scaling-stroke"'
    title = f"<title>{_e(label_type.lower())} {_e(category)}{_e(f' -> {new}' if new else '')}</title>"
    if label_type in _DRAWN:
        state.categories.add(new or category)
        if new:
            state.renamed.setdefault(new, set()).add(category)
    if label_type == "BOX2D" and isinstance(one.get("box2d"), Mapping):
        g = one["box2d"]
        try:
            x, y, w, h = g["xmin"], g["ymin"], g["xmax"] - g["xmin"], g["ymax"] - g["ymin"]
        except (KeyError, TypeError):
            return ""
        return f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" {stroke} data-category="{_e(category)}">{title}</rect>'
    if label_type in ("POLYGON", "MULTI_POLYGON", "POLYLINE2D", "MULTI_POLYLINE2D"):
        key = {"POLYGON": "polygon", "MULTI_POLYGON": "multiPolygon", "POLYLINE2D": "polyline2d", "MULTI_POLYLINE2D": "multiPolyline2d"}[label_type]
        geo = one.get(key)
        rings = geo if label_type.startswith("MULTI") and isinstance(geo, list) else [geo]
        tag = "polygon" if "POLYGON" in label_type else "polyline"
        fill = f'fill="{colour}" fill-opacity="0.2"' if tag == "polygon" else 'fill="none"'
        out = []
        for ring in rings:
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in _points_of(ring))
            out.append(f'<{tag} points="{pts}" {fill} {stroke}>{title}</{tag}>')
        return "".join(out)
    if label_type == "KEYPOINTS2D":
        return "".join(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{radius:.2f}" fill="{colour}">{title}</circle>'
            for x, y in _points_of(one.get("keypoints2d"))
        )
    return ""
