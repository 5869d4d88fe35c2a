"""Write a segment's labels in a label format (``labelsync pull`` and ``labelsync convert``).

:func:`write_labels_as` is the one place that knows which options each format's writer
takes (:mod:`labelsync.formats`): the data directory (image sizes for new COCO, VOC and
labelme entries, YOLO's normalisation), YOLO's class-names file, KITTI's calibration
directory, the catalog (COCO categories and keypoints of a new file). Every writer keeps what
did not change byte for byte and replaces each file atomically; a file whose bytes would not
change is not touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError


def image_sizes(data_dir: Path | None) -> Any:
    """``remotePath -> (width, height)`` read from the image header under ``data_dir``."""
    from labelsync.formats.yolo import image_size

    def size(remote_path: str) -> tuple[int, int]:
        found = image_size(data_dir / remote_path) if data_dir is not None else None
        if found is None:
            raise LocalDataError(
                f"cannot read the size of image {remote_path!r} in {data_dir}",
                hint="the image header must be PNG, JPEG, GIF, BMP, TIFF or WebP",
            )
        return found

    return size


def write_labels_as(
    fmt: str,
    path: Path,
    labels: Mapping[str, Mapping[str, Any]],
    *,
    data_dir: Path | None,
    options: Mapping[str, Path] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write ``labels`` (remotePath -> TensorBay label) to ``path`` in format ``fmt``; return
    the files whose bytes changed. Raises :class:`LocalDataError` for what cannot be written
    (an image of unknown size, a missing calibration file, no class names)."""
    from labelsync import formats

    module = formats.get(fmt).module
    options = options or {}
    if fmt == "tensorbay":
        return [path] if module.write(path, labels) else []
    if fmt == "coco":
        return [path] if module.write(path, labels, catalog=catalog, image_size=image_sizes(data_dir)) else []
    if fmt == "voc":
        return list(module.write(path, labels, image_size=image_sizes(data_dir)))
    if fmt == "yolo":
        return list(module.write(path, labels, images_dir=data_dir, names_file=options.get("classes")))
    if fmt == "labelme":
        return list(module.write(path, labels, data_dir=data_dir, image_size=image_sizes(data_dir)))
    if fmt == "kitti":
        return list(module.write(path, labels, calib_dir=options.get("calib")))
    raise LocalDataError(f"cannot write label format {fmt!r}")


def yolo_names(catalog: Mapping[str, Any]) -> list[str]:
    """The class names a new YOLO names file lists: BOX2D then POLYGON categories, in order."""
    names: list[str] = []
    for t in ("BOX2D", "POLYGON"):
        for c in (catalog.get(t) or {}).get("categories") or []:
            if c.get("name") not in names:
                names.append(c["name"])
    return names


__all__ = ["image_sizes", "write_labels_as", "yolo_names"]
