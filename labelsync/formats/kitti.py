"""KITTI object labels (``label_2/<frame>.txt`` + ``calib/<frame>.txt``) <-> BOX2D and BOX3D.

A label line has 15 fields (16 with a detection score)::

    type truncated occluded alpha  left top right bottom  h w l  x y z  rotation_y [score]

* the 2D box (image pixels, origin at the top-left corner) becomes a BOX2D on the camera
  image ``<camera>/<frame>.png``;
* the 3D box becomes a BOX3D on the point cloud ``<lidar>/<frame>.bin``, in the **lidar
  frame**: KITTI gives the bottom-centre ``(x, y, z)`` in rectified reference-camera
  coordinates (x right, y down, z forward, metres) and the yaw ``rotation_y`` about the
  camera's y axis; with ``X_rect = R0_rect * Tr_velo_to_cam * X_velo`` the centre is
  ``inv(R0_rect * Tr_velo_to_cam) * (x, y - h/2, z)`` and the rotation is the box frame
  (x = heading ``(cos ry, 0, -sin ry)``, z = up ``(0, -1, 0)``) carried into the lidar frame,
  as a unit quaternion; size is ``{x: l, y: w, z: h}`` (length along the heading);
* both objects carry ``category = type``, ``instance = str(line number)`` and the
  attributes ``truncated`` (0..1), ``occluded`` (0..3), ``alpha`` (radians) and ``score``
  when present. ``DontCare`` (and any line whose location is -1000) has no BOX3D.
* ``P2`` (camera 2's projection) projects the corners of a BOX3D written without a BOX2D.

Checks (one diagnostic each, ``file:line:column``): the wrong field count, a non-number, a
truncation/occlusion out of range, ``left > right`` or ``top > bottom``, a missing calib
file or matrix, a matrix with the wrong number of values.

Writing keeps every line whose objects did not change as it was; changed or new lines use
KITTI's two decimals; an unchanged frame gives back the original text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import Parsed, problem

Matrix = list[list[float]]
Vec = list[float]
CALIB_KEYS = {"P2": (3, 4), "R0_rect": (3, 3), "Tr_velo_to_cam": (3, 4)}
ROUND_DIGITS = 10


# ---------------------------------------------------------------- small linear algebra


def _mv(m: Matrix, v: Sequence[float]) -> Vec:
    return [sum(m[i][k] * v[k] for k in range(len(v))) for i in range(len(m))]


def _mm(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _inv3(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if abs(det) < 1e-12:
        raise ValueError("singular calibration matrix")
    cof = [[e * i - f * h, c * h - b * i, b * f - c * e],
           [f * g - d * i, a * i - c * g, c * d - a * f],
           [d * h - e * g, b * g - a * h, a * e - b * d]]
    return [[v / det for v in row] for row in cof]


def quaternion(m: Matrix) -> dict[str, float]:
    """Unit quaternion ``{w, x, y, z}`` of a (near-)rotation matrix (w >= 0)."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = m
    tr = m00 + m11 + m22
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        w, x, y, z = 0.25 * s, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s
    elif m00 > m11 and m00 > m22:
        s = math.sqrt(1.0 + m00 - m11 - m22) * 2
        w, x, y, z = (m21 - m12) / s, 0.25 * s, (m01 + m10) / s, (m02 + m20) / s
    elif m11 > m22:
        s = math.sqrt(1.0 + m11 - m00 - m22) * 2
        w, x, y, z = (m02 - m20) / s, (m01 + m10) / s, 0.25 * s, (m12 + m21) / s
    else:
        s = math.sqrt(1.0 + m22 - m00 - m11) * 2
        w, x, y, z = (m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, 0.25 * s
    n = math.sqrt(w * w + x * x + y * y + z * z)
    sign = -1.0 if w < 0 else 1.0
    return {"w": sign * w / n, "x": sign * x / n, "y": sign * y / n, "z": sign * z / n}


def rotation(q: Mapping[str, float]) -> Matrix:
    """The rotation matrix of a quaternion (normalised first)."""
    w, x, y, z = q["w"], q["x"], q["y"], q["z"]
    n = math.sqrt(w * w + x * x + y * y + z * z) or 1.0
    w, x, y, z = w / n, x / n, y / n, z / n
    return [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]


@dataclass(frozen=True)
class Calib:
    """The matrices of one frame: ``A, t`` map lidar to rectified camera (``A x + t``)."""

    P2: Matrix
    A: Matrix
    t: Vec

    @classmethod
    def of(cls, mats: Mapping[str, Matrix]) -> Calib:
        tr = mats["Tr_velo_to_cam"]
        r0 = mats["R0_rect"]
        a = _mm(r0, [row[:3] for row in tr])
        return cls(mats["P2"], a, _mv(r0, [row[3] for row in tr]))

    def to_lidar(self, p: Sequence[float]) -> Vec:
        return _mv(_inv3(self.A), [p[i] - self.t[i] for i in range(3)])

    def to_camera(self, p: Sequence[float]) -> Vec:
        return [v + self.t[i] for i, v in enumerate(_mv(self.A, p))]

    @property
    def intrinsics(self) -> dict[str, float]:
        """Camera 2's ``fx, fy, cx, cy`` from P2."""
        return {"fx": self.P2[0][0], "fy": self.P2[1][1], "cx": self.P2[0][2], "cy": self.P2[1][2]}


def parse_calib(text: str, *, file: str = "<calib>") -> tuple[Calib | None, Parsed]:
    """A KITTI object calib file: the :class:`Calib` or ``None`` with one diagnostic."""
    parsed = Parsed()
    mats: dict[str, Matrix] = {}
    for n, line in enumerate(text.split("\n"), 1):
        key, sep, rest = line.partition(":")
        if not sep or key.strip() not in CALIB_KEYS:
            continue
        rows, cols = CALIB_KEYS[key.strip()]
        try:
            values = [float(v) for v in rest.split()]
        except ValueError:
            values = []
        if len(values) != rows * cols:
            parsed.diagnostics.append(problem(file, n, len(key) + 2, f"{key.strip()} needs {rows * cols} numbers"))
            return None, parsed
        mats[key.strip()] = [values[r * cols:(r + 1) * cols] for r in range(rows)]
    missing = [k for k in CALIB_KEYS if k not in mats]
    if missing:
        parsed.diagnostics.append(problem(file, 1, 1, f"no {', '.join(missing)} in the calibration",
                                          "use the object benchmark's calib file (P0..P3, R0_rect, Tr_velo_to_cam)"))
        return None, parsed
    try:
        calib = Calib.of(mats)
        _inv3(calib.A)
    except ValueError as exc:
        parsed.diagnostics.append(problem(file, 1, 1, str(exc)))
        return None, parsed
    return calib, parsed


# ---------------------------------------------------------------- lines


def _r(v: float) -> float:
    return round(v, ROUND_DIGITS)


def _columns(line: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    col = 0
    for part in line.split(" "):
        if part.strip():
            out.append((col + 1, part.strip()))
        col += len(part) + 1
    return out


Objects = tuple[dict[str, Any] | None, dict[str, Any] | None]


def parse_line(line: str, n: int, calib: Calib, *, file: str, add: Callable[[Any], None]) -> Objects | None:
    """``(BOX2D object, BOX3D object or None)`` of one label line, or ``None`` after one diagnostic."""
    fields = _columns(line)
    if len(fields) not in (15, 16):
        add(problem(file, n, 1, f"{len(fields)} fields: a KITTI label line has 15 (16 with a score)",
                    "type truncated occluded alpha left top right bottom h w l x y z rotation_y [score]"))
        return None
    kind = fields[0][1]
    values: list[float] = []
    for col, text in fields[1:]:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            add(problem(file, n, col, f"{text!r} is not a number"))
            return None
        values.append(v)
    truncated, occluded, alpha, left, top, right, bottom, h, w, length, x, y, z, ry = values[:14]
    if not (-1 <= truncated <= 1):
        add(problem(file, n, fields[1][0], f"truncated {truncated} is not in [0, 1]"))
        return None
    if occluded not in (-1, 0, 1, 2, 3):
        add(problem(file, n, fields[2][0], f"occluded {fields[2][1]} is not 0, 1, 2 or 3"))
        return None
    if left > right or top > bottom:
        add(problem(file, n, fields[4][0], "the 2D box has left > right or top > bottom", "swap the corners"))
        return None
    attributes: dict[str, Any] = {"truncated": truncated, "occluded": int(occluded), "alpha": alpha}
    if len(values) == 15:
        attributes["score"] = values[14]
    common = {"category": kind, "attributes": attributes, "instance": str(n)}
    box2d = {"box2d": {"xmin": left, "ymin": top, "xmax": right, "ymax": bottom}, **common}
    if kind == "DontCare" or x <= -1000:
        return box2d, None
    center = [_r(v) for v in calib.to_lidar([x, y - h / 2, z])]
    c, s = math.cos(ry), math.sin(ry)
    axes_cam = [[c, s, 0.0], [0.0, 0.0, -1.0], [-s, c, 0.0]]  # columns: heading, left, up
    inv = _inv3(calib.A)
    rot = {k: _r(v) for k, v in quaternion(_mm(inv, axes_cam)).items()}
    box3d = {"box3d": {"translation": dict(zip("xyz", center, strict=True)), "rotation": rot,
                       "size": {"x": length, "y": w, "z": h}}, **common}
    return box2d, box3d


def parse(text: str, calib: Calib, *, file: str = "<kitti>") -> tuple[list[dict[str, Any]], list[dict[str, Any]], Parsed]:
    """A label file's ``(BOX2D objects, BOX3D objects, parsed)`` (diagnostics in ``parsed``)."""
    parsed = Parsed()
    boxes2d: list[dict[str, Any]] = []
    boxes3d: list[dict[str, Any]] = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        got = parse_line(line, n, calib, file=file, add=parsed.diagnostics.append)
        if got is None:
            continue
        if got[0] is not None:
            boxes2d.append(got[0])
        if got[1] is not None:
            boxes3d.append(got[1])
    return boxes2d, boxes3d, parsed


def _f(v: float) -> str:
    text = f"{v:.2f}"
    return "0.00" if text == "-0.00" else text


def format_line(b2: Mapping[str, Any] | None, b3: Mapping[str, Any] | None, calib: Calib) -> str:
    """The KITTI line of one object (either box may be missing)."""
    first = b2 or b3
    assert first is not None
    attrs = first.get("attributes") or {}
    kind = first.get("category") or "DontCare"
    if b3 is not None:
        g = b3["box3d"]
        size, tr = g["size"], g["translation"]
        length, w, h = size["x"], size["y"], size["z"]
        cx, cy, cz = calib.to_camera([tr["x"], tr["y"], tr["z"]])
        heading = _mm(calib.A, rotation(g["rotation"]))
        ry = math.atan2(-heading[2][0], heading[0][0])
        three = [h, w, length, cx, cy + h / 2, cz, ry]
    else:
        three = [-1, -1, -1, -1000, -1000, -1000, -10]
    if b2 is not None:
        b = b2["box2d"]
        two = [b["xmin"], b["ymin"], b["xmax"], b["ymax"]]
    else:
        two = _project(three, calib)
    alpha = attrs.get("alpha", -10)
    fields = [kind, _f(attrs.get("truncated", 0)), str(int(attrs.get("occluded", 0))), _f(alpha)]
    fields += [_f(v) for v in two + three]
    if "score" in attrs:
        fields.append(_f(attrs["score"]))
    return " ".join(fields)


def _project(three: Sequence[float], calib: Calib) -> list[float]:
    """The 2D box (left, top, right, bottom) of the 3D box's corners projected with P2."""
    h, w, length, x, y, z, ry = three
    c, s = math.cos(ry), math.sin(ry)
    xs, ys = [], []
    for dx in (length / 2, -length / 2):
        for dz in (w / 2, -w / 2):
            for dy in (0.0, -h):
                px, pz = x + c * dx + s * dz, z - s * dx + c * dz
                u, v, d = _mv(calib.P2, [px, y + dy, pz, 1.0])
                if d > 1e-6:
                    xs.append(u / d)
                    ys.append(v / d)
    if not xs:
        return [0.0, 0.0, 0.0, 0.0]
    return [min(xs), min(ys), max(xs), max(ys)]


def dump(original: str | None, boxes2d: Sequence[Mapping[str, Any]], boxes3d: Sequence[Mapping[str, Any]],
         calib: Calib) -> str:
    """The label file of one frame: objects paired by ``instance`` (BOX2D order first);
    lines of ``original`` whose objects are unchanged are kept verbatim."""
    kept: list[tuple[str, Objects]] = []
    if original is not None:
        for n, line in enumerate(original.split("\n"), 1):
            if line.strip():
                got = parse_line(line, n, calib, file="", add=lambda d: None)
                if got is not None:
                    kept.append((line, got))
        o2, o3, _ = parse(original, calib)
        if o2 == list(boxes2d) and o3 == list(boxes3d):
            return original
    by_instance: dict[Any, list[Any]] = {}
    for i, b in enumerate(boxes2d):
        by_instance.setdefault(b.get("instance", ("2d", i)), [None, None])[0] = b
    for i, b in enumerate(boxes3d):
        by_instance.setdefault(b.get("instance", ("3d", i)), [None, None])[1] = b
    lines: list[str] = []
    for b2, b3 in by_instance.values():
        match = next((i for i, (_, objs) in enumerate(kept) if _same(objs, (b2, b3))), None)
        lines.append(kept.pop(match)[0] if match is not None else format_line(b2, b3, calib))
    return "".join(line + "\n" for line in lines)


def _same(objs: Objects, wanted: Sequence[Any]) -> bool:
    """Equal objects, ignoring ``instance`` (the line number, which moves)."""
    def strip(o: Any) -> Any:
        return {k: v for k, v in o.items() if k != "instance"} if o is not None else None
    return strip(objs[0]) == strip(wanted[0]) and strip(objs[1]) == strip(wanted[1])


# ---------------------------------------------------------------- directories


@dataclass(frozen=True)
class Layout:
    """Where a frame's files are, and the remotePaths its labels get."""

    camera: str = "image_2"
    lidar: str = "velodyne"
    image_ext: str = ".png"
    lidar_ext: str = ".bin"

    def paths(self, frame: str) -> tuple[str, str]:
        return f"{self.camera}/{frame}{self.image_ext}", f"{self.lidar}/{frame}{self.lidar_ext}"


def read(label_dir: Path, *, calib_dir: Path | None = None, layout: Layout = Layout(),
         display: str | None = None) -> Parsed:
    """Every ``label_2/*.txt`` with its ``calib/*.txt`` (default: ``../calib``): BOX2D under
    the camera remotePath, BOX3D under the lidar one."""
    calib_dir = calib_dir or label_dir.parent / "calib"
    out = Parsed()
    shown = display or str(label_dir)
    for path in sorted(label_dir.glob("*.txt")):
        file = f"{shown}/{path.name}"
        calib_path = calib_dir / path.name
        if not calib_path.is_file():
            out.diagnostics.append(problem(file, 1, 1, f"no calibration file {calib_path}",
                                           "put the frame's calib file next to label_2 in calib/"))
            continue
        calib, cparsed = parse_calib(read_text(calib_path), file=str(calib_path))
        out.diagnostics += cparsed.diagnostics
        if calib is None:
            continue
        b2, b3, parsed = parse(read_text(path), calib, file=file)
        out.diagnostics += parsed.diagnostics
        image, cloud = layout.paths(path.stem)
        out.labels[image] = {"BOX2D": b2} if b2 else {}
        out.labels[cloud] = {"BOX3D": b3} if b3 else {}
        out.origin[image] = out.origin[cloud] = file
    return out


def write(label_dir: Path, labels: Mapping[str, Mapping[str, Any]], *, calib_dir: Path | None = None,
          layout: Layout = Layout()) -> list[Path]:
    """Write each frame's BOX2D/BOX3D labels into ``label_dir/<frame>.txt`` (the calib file
    must exist); return the files whose bytes changed."""
    calib_dir = calib_dir or label_dir.parent / "calib"
    frames: set[str] = set()
    for rp in labels:
        sensor, _, name = rp.partition("/")
        if sensor in (layout.camera, layout.lidar):
            frames.add(Path(name).stem)
    changed: list[Path] = []
    for frame in sorted(frames):
        image, cloud = layout.paths(frame)
        calib_path = calib_dir / f"{frame}.txt"
        if not calib_path.is_file():
            raise LocalDataError(f"no calibration file {calib_path}", hint="KITTI labels need the frame's calib file")
        calib, cparsed = parse_calib(read_text(calib_path), file=str(calib_path))
        if calib is None:
            raise LocalDataError(str(cparsed.diagnostics[0]))
        path = label_dir / f"{frame}.txt"
        original = read_text(path) if path.exists() else None
        text = dump(original, (labels.get(image) or {}).get("BOX2D") or [], (labels.get(cloud) or {}).get("BOX3D") or [],
                    calib)
        if write_text(path, text):
            changed.append(path)
    return changed


def catalog_from(label_dir: Path, *, calib_dir: Path | None = None) -> dict[str, Any]:
    """BOX2D and BOX3D with the classes found (sorted) and KITTI's attributes."""
    names: set[str] = set()
    score = False
    for path in sorted(label_dir.glob("*.txt")):
        for line in read_text(path).split("\n"):
            parts = line.split()
            if parts:
                names.add(parts[0])
                score = score or len(parts) == 16
    attributes: list[dict[str, Any]] = [
        {"name": "truncated", "type": "number", "minimum": -1, "maximum": 1},
        {"name": "occluded", "type": "integer", "minimum": -1, "maximum": 3},
        {"name": "alpha", "type": "number", "minimum": -10, "maximum": 3.15},
    ]
    if score:
        attributes.append({"name": "score", "type": "number"})
    categories = [{"name": n} for n in sorted(names)]
    return {"BOX2D": {"categories": categories, "attributes": attributes},
            "BOX3D": {"categories": [c for c in categories if c["name"] != "DontCare"], "attributes": attributes}}
