"""The mask rules of label checking (SEMANTIC/INSTANCE/PANOPTIC_MASK): a mixin of
:class:`labelsync.local.labelrules.LabelChecker`, which provides ``cat``, ``add``,
``mask_base``, ``root`` and ``attributes``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from labelsync.diagnostics import json_type
from labelsync.errors import LocalDataError
from labelsync.local.catalogindex import MASK_INFO_KEYS, Add, CatalogIndex, JsonPath
from labelsync.local.paths import resolve_inside


class MaskRules:
    """Mask checks (see the module docstring)."""

    cat: CatalogIndex
    add: Add
    mask_base: Path
    root: Path | None

    def attributes(self, t: str, category: str | None, value: Any, path: JsonPath) -> None:  # provided by LabelChecker
        raise NotImplementedError

    def mask(self, t: str, value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict):
            self.add(path, f'{t} must be an object {{"path", "info"?}}, got {json_type(value)}')
            return
        for k in value:
            if k not in ("path", "info"):
                self.add(
                    (*path, k),
                    f"unknown key {k!r} in {t}",
                    "reference the mask image with 'path' (relative to the label file)",
                )
        if "path" not in value:
            self.add(path, "missing 'path'", "the mask image, relative to the label file")
        elif not isinstance(value["path"], str) or not value["path"]:
            self.add((*path, "path"), "'path' must be a non-empty string")
        else:
            self.mask_file(value["path"], (*path, "path"))
        required, allowed = MASK_INFO_KEYS[t]
        if "info" not in value:
            if t == "PANOPTIC_MASK":
                self.add(
                    path, "missing 'info' (PANOPTIC_MASK needs it)", 'write "info": [] when there is none'
                )
            return
        info = value["info"]
        if not isinstance(info, list):
            self.add((*path, "info"), f"'info' must be a list, got {json_type(info)}")
            return
        ids = self.cat.mask_ids.get(t, {})
        for i, item in enumerate(info):
            ip = (*path, "info", i)
            if not isinstance(item, dict):
                self.add(ip, f"an info item must be an object, got {json_type(item)}")
                continue
            for k in item:
                if k not in allowed:
                    self.add(
                        (*ip, k),
                        f"unknown key {k!r} in a {t} info item",
                        f"expected {', '.join(sorted(allowed))}",
                    )
            for k in required:
                if k not in item:
                    self.add(ip, f"missing {k!r}")
                elif type(item[k]) is not int:
                    self.add((*ip, k), f"{k!r} must be an integer, got {json_type(item[k])}")
            category: str | None = None
            cid = item.get("categoryId")
            if "categoryId" in allowed and type(cid) is int:
                if cid not in ids:
                    self.add(
                        (*ip, "categoryId"),
                        f"undeclared categoryId {cid} for {t}",
                        f"declare it in spec.catalog.{t}.categories",
                    )
                else:
                    category = ids[cid]
            if "attributes" in item:
                self.attributes(t, category, item["attributes"], (*ip, "attributes"))

    def mask_file(self, rel: str, path: JsonPath) -> None:
        if self.root is not None:
            try:
                target = resolve_inside(self.root, self.mask_base, rel)
            except LocalDataError as exc:
                self.add(path, f"mask {exc.message}", exc.hint)
                return
        else:
            if os.path.isabs(rel):
                self.add(path, f"mask path {rel!r} is absolute", "write it relative to the label file")
                return
            target = self.mask_base / rel
        if not os.path.isfile(target):
            self.add(path, f"mask file {rel!r} does not exist", "mask paths are relative to the label file")
