"""Open API endpoint handlers (contract §2.1-§2.3): plain functions of a :class:`Call`.

Each handler runs in a worker thread, does its database work in one transaction, and
returns the JSON body (status 200) or ``(status, body)``. Anything refused raises
:class:`~.errors.ApiError`. Routing lives in :mod:`.app`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labelsync.emulator.tensorbay import content, history, versions
from labelsync.emulator.tensorbay import items as stored
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.emulator.tensorbay.db import Database
from labelsync.emulator.tensorbay.errors import forbidden, invalid, missing, not_supported
from labelsync.emulator.tensorbay.params import as_int, opt_str, page_body, paging, req_str, segment_name
from labelsync.emulator.tensorbay.render import Renderer
from labelsync.emulator.tensorbay.signing import Signer

Result = dict[str, Any] | tuple[int, dict[str, Any]]


@dataclass
class Emulator:
    """Everything a handler needs: state, storage, signing and settings."""

    db: Database
    blobs: BlobStore
    signer: Signer
    tokens: frozenset[str]
    url_ttl: int
    upload_limit: int


@dataclass
class Call:
    """One parsed API request."""

    emu: Emulator
    query: Mapping[str, str]
    body: dict[str, Any]
    path: Mapping[str, Any]
    base_url: str
    flags: frozenset[str] = field(default_factory=frozenset)
    """Bare query words, e.g. ``copy`` in ``segments?copy``."""

    @property
    def dataset_id(self) -> str:
        return str(self.path["id"])

    def renderer(self) -> Renderer:
        return Renderer(self.emu.signer, self.base_url, self.dataset_id, self.emu.url_ttl)


# -- account and datasets -----------------------------------------------------------------
def get_user(call: Call) -> Result:
    return {
        "id": "00000000000000000000000000000001",
        "nickname": versions.USER,
        "email": None,
        "mobile": None,
        "description": "local TensorBay emulator user",
        "team": {
            "id": "00000000000000000000000000000002",
            "name": "labelsync",
            "email": None,
            "description": "",
        },
    }


def list_datasets(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_datasets(conn, call.query.get("name"), offset, limit)
    return page_body("datasets", items, offset, total)


def create_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return 201, versions.create_dataset(conn, call.body)


def get_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return versions.get_dataset(conn, call.dataset_id)


def update_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.update_dataset(conn, call.dataset_id, call.body)
    return {}


def delete_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.delete_dataset(conn, call.dataset_id)
    return {}


# -- version control ----------------------------------------------------------------------
def create_draft(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return versions.create_draft(conn, call.dataset_id, call.body)


def list_drafts(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_drafts(conn, call.dataset_id, call.query, offset, limit)
    return page_body("drafts", items, offset, total)


def update_draft(call: Call) -> Result:
    number = as_int(call.path["number"], "draftNumber")
    with call.emu.db.transaction() as conn:
        versions.update_draft(conn, call.dataset_id, number, call.body)
    return {}


def create_commit(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return versions.commit(conn, call.dataset_id, call.body)


def list_commits(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_commits(
            conn, call.dataset_id, call.query.get("commit") or None, offset, limit
        )
    return page_body("commits", items, offset, total)


def create_branch(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.create_branch(conn, call.dataset_id, call.body)
    return {}


def list_branches(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_branches(conn, call.dataset_id, call.query.get("name"), offset, limit)
    return page_body("branches", items, offset, total)


def delete_branch(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.delete_branch(conn, call.dataset_id, call.body)
    return {}


def create_tag(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.create_tag(conn, call.dataset_id, call.body)
    return {}


def list_tags(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_tags(conn, call.dataset_id, call.query.get("name"), offset, limit)
    return page_body("tags", items, offset, total)


def delete_tag(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.delete_tag(conn, call.dataset_id, call.body)
    return {}


def _ref_version(conn: sqlite3.Connection, dataset_id: str, ref: str) -> tuple[int, str]:
    """``draft-<n>`` / ``commit-<id>`` -> (version, parent commit)."""
    kind, _, value = ref.partition("-")
    if kind == "draft" and value:
        row = versions.draft_row(conn, dataset_id, as_int(value, "draftNumber"))
        return int(row["version_id"]), str(row["parent_commit"])
    if kind == "commit" and value:
        row = versions.commit_row(conn, dataset_id, value)
        return int(row["version_id"]), str(row["parent_id"] or versions.ROOT)
    raise invalid(f"bad revision '{ref}' in basehead (expected draft-<n> or commit-<id>)")


def _diff_versions(conn: sqlite3.Connection, dataset_id: str, basehead: str) -> tuple[int, int]:
    versions.dataset(conn, dataset_id)
    base_ref, sep, head_ref = basehead.partition("...")
    if not sep:
        head_ref, base_ref = base_ref, ""
    head, parent = _ref_version(conn, dataset_id, head_ref)
    base = (
        _ref_version(conn, dataset_id, base_ref)[0]
        if base_ref
        else int(versions.commit_row(conn, dataset_id, parent)["version_id"])
    )
    return base, head


def diff_segments(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        base, head = _diff_versions(conn, call.dataset_id, str(call.path["basehead"]))
        items = history.diff_segments(conn, base, head)
    return page_body("segments", items[offset : offset + limit], offset, len(items))


def diff_data(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        base, head = _diff_versions(conn, call.dataset_id, str(call.path["basehead"]))
        items = history.diff_data(conn, base, head, str(call.path["segment"]))
    return page_body("data", items[offset : offset + limit], offset, len(items))


# -- notes, catalog, statistics, size ---------------------------------------------------------
def _read(call: Call, fn: Callable[[sqlite3.Connection, int], Any]) -> Any:
    with call.emu.db.transaction() as conn:
        return fn(conn, versions.read_version(conn, call.dataset_id, call.query))


def _write(call: Call, fn: Callable[[sqlite3.Connection, int], None]) -> Result:
    with call.emu.db.transaction() as conn:
        fn(conn, versions.write_version(conn, call.dataset_id, call.body))
        versions.touch(conn, call.dataset_id)
    return {}


def get_notes(call: Call) -> Result:
    return dict(_read(call, content.get_notes))


def patch_notes(call: Call) -> Result:
    return _write(call, lambda conn, v: content.patch_notes(conn, v, call.body))


def get_catalog(call: Call) -> Result:
    return dict(_read(call, content.get_catalog))


def put_catalog(call: Call) -> Result:
    if "catalog" not in call.body:
        raise missing("catalog")
    return _write(call, lambda conn, v: content.put_catalog(conn, v, call.body["catalog"]))


def label_statistics(call: Call) -> Result:
    return dict(_read(call, history.label_statistics))


def total_size(call: Call) -> Result:
    return {"totalSize": _read(call, stored.total_size)}


# -- segments -----------------------------------------------------------------------------
def list_segments(call: Call) -> Result:
    offset, limit = paging(call.query)
    items, total = _read(call, lambda conn, v: content.list_segments(conn, v, offset, limit))
    return page_body("segments", items, offset, total)


def post_segments(call: Call) -> Result:
    if "copy" in call.flags or "move" in call.flags:
        return _copy_segment(call, move="move" in call.flags)
    name = segment_name(call.body, "name")
    description = opt_str(call.body, "description") or ""
    _write(call, lambda conn, v: content.create_segment(conn, v, name, description))
    return 201, {}


def _source_version(conn: sqlite3.Connection, call: Call, source: Mapping[str, Any], target: int) -> int:
    """The version a copy/move reads from: another dataset/version when named, else the target."""
    source_dataset = source.get("id") or call.dataset_id
    if source.get("draftNumber") not in (None, "") or source.get("commit"):
        version = versions.read_version(conn, str(source_dataset), source)
    elif source_dataset != call.dataset_id:
        raise missing("source.draftNumber or source.commit")
    else:
        version = target
    src_type = versions.dataset(conn, str(source_dataset))["type"]
    if src_type != versions.dataset(conn, call.dataset_id)["type"]:
        raise invalid("cannot copy between a normal and a fusion dataset")
    return version


def _source(call: Call) -> Mapping[str, Any]:
    source = call.body.get("source")
    if not isinstance(source, dict):
        raise missing("source")
    return source


def _copy_segment(call: Call, move: bool) -> Result:
    source = _source(call)
    src_name = req_str(source, "segmentName")
    dst_name = segment_name(call.body, "segmentName")
    strategy = content.strategy_of(call.body)
    with call.emu.db.transaction() as conn:
        target = versions.write_version(conn, call.dataset_id, call.body)
        origin = _source_version(conn, call, source, target)
        if move and origin != target:
            raise invalid("a segment can only be moved inside one draft")
        content.copy_segment(conn, (origin, src_name), (target, dst_name), strategy, move)
        versions.touch(conn, call.dataset_id)
    return {}


def delete_segment(call: Call) -> Result:
    name = req_str(call.body, "segmentName")
    return _write(call, lambda conn, v: content.delete_segment(conn, v, name))


# -- sensors and frames -------------------------------------------------------------------
def _need_fusion(conn: sqlite3.Connection, dataset_id: str) -> None:
    if versions.dataset(conn, dataset_id)["type"] != 1:
        raise invalid("sensors and frames exist in fusion datasets only")


def upsert_sensor(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    with call.emu.db.transaction() as conn:
        _need_fusion(conn, call.dataset_id)
        version = versions.write_version(conn, call.dataset_id, call.body)
        content.upsert_sensor(conn, version, segment, call.body)
    return {}


def list_sensors(call: Call) -> Result:
    segment = req_str(call.query, "segmentName")
    return {"sensors": _read(call, lambda conn, v: content.list_sensors(conn, v, segment))}


def delete_sensor(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    name = req_str(call.body, "sensorName")
    return _write(call, lambda conn, v: content.delete_sensor(conn, v, segment, name))


def delete_frame(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    frame_id = req_str(call.body, "frameId")
    return _write(call, lambda conn, v: content.delete_frame(conn, v, segment, frame_id))


# -- uploads ------------------------------------------------------------------------------
def get_policy(call: Call) -> Result:
    expired = as_int(call.query.get("expired", "60"), "expired")
    if expired < 0:
        raise invalid("'expired' cannot be negative")
    expired = min(expired, 300)
    with call.emu.db.transaction() as conn:
        version = versions.write_version(conn, call.dataset_id, call.query)
        segment = call.query.get("segmentName")
        if segment:
            content.need_segment(conn, version, segment)
    expire_at = int(call.emu.signer.clock()) + expired
    prefix = f"{call.dataset_id}/"
    result: dict[str, Any] = call.emu.signer.policy_fields(prefix, expire_at)
    result["x-amz-security-token"] = None
    result["multipleUploadLimit"] = call.emu.upload_limit
    extra = {
        "objectPrefix": prefix,
        "host": f"{call.base_url}/storage/upload",
        "backendType": "s3",
        "expireAt": expire_at,
    }
    return {"result": result, "extra": extra, "expireAt": expire_at}


def _callback(call: Call, objects: Any) -> Result:
    segment = req_str(call.body, "segmentName")
    checked = content.check_callback_objects(objects, call.emu.upload_limit, call.emu.blobs.size)
    with call.emu.db.transaction() as conn:
        fusion = versions.dataset(conn, call.dataset_id)["type"] == 1
        version = versions.write_version(conn, call.dataset_id, call.body)
        stored.upsert_items(conn, version, segment, fusion, checked)
    return {}


def multi_callback(call: Call) -> Result:
    return _callback(call, call.body.get("objects"))


def single_callback(call: Call) -> Result:
    """Legacy ``PUT callback``: one object at the top level of the body."""
    keys = ("checksum", "remotePath", "fileSize", "timestamp", "label", "frameId", "sensorName")
    return _callback(call, [{k: call.body[k] for k in keys if k in call.body}])


def _label_objects(call: Call, objects: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(objects, list) or not objects:
        raise missing("objects")
    if len(objects) > call.emu.upload_limit:
        raise invalid(f"at most {call.emu.upload_limit} objects per request")
    out = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise invalid(f"objects[{index}] must be an object")
        label = content.check_label(obj.get("label"), call.emu.blobs.size, f"objects[{index}]")
        out.append((req_str(obj, "remotePath"), label))
    return out


def put_labels_multi(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    labels = _label_objects(call, call.body.get("objects"))
    return _write(call, lambda conn, v: stored.set_labels(conn, v, segment, labels))


def put_label(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    labels = _label_objects(
        call, [{"remotePath": call.body.get("remotePath"), "label": call.body.get("label")}]
    )
    return _write(call, lambda conn, v: stored.set_labels(conn, v, segment, labels))


# -- reading data -------------------------------------------------------------------------
def _data_page(call: Call, fusion_frames: bool) -> tuple[bool, list[Any], int, int]:
    """(fusion, rows or frames, offset, total) of a ``data*`` read."""
    segment = req_str(call.query, "segmentName")
    remote_path = call.query.get("remotePath")
    offset, limit = (0, 128) if remote_path is not None else paging(call.query)
    with call.emu.db.transaction() as conn:
        fusion = versions.dataset(conn, call.dataset_id)["type"] == 1
        version = versions.read_version(conn, call.dataset_id, call.query)
        if fusion and fusion_frames:
            frames, total = stored.list_frames(conn, version, segment, offset, limit, remote_path)
            return True, frames, offset, total
        rows, total = stored.list_items(conn, version, segment, offset, limit, remote_path)
        return fusion, rows, offset, total


def list_data(call: Call) -> Result:
    fusion, rows, offset, total = _data_page(call, fusion_frames=False)
    items = []
    for row in rows:
        item = {"remotePath": row["remote_path"]}
        if fusion:
            item.update(frameId=row["frame_id"], sensorName=row["sensor_name"])
        items.append(item)
    return page_body("data", items, offset, total)


def list_labels(call: Call) -> Result:
    _, rows, offset, total = _data_page(call, fusion_frames=False)
    render = call.renderer()
    items = [
        {"remotePath": r["remote_path"], "label": render.label(r["label"], r["remote_path"])} for r in rows
    ]
    return page_body("labels", items, offset, total)


def data_details(call: Call) -> Result:
    fusion, rows, offset, total = _data_page(call, fusion_frames=True)
    render = call.renderer()
    items = [render.frame(fid, frame) for fid, frame in rows] if fusion else [render.detail(r) for r in rows]
    return page_body("dataDetails", items, offset, total)


def data_urls(call: Call) -> Result:
    fusion, rows, offset, total = _data_page(call, fusion_frames=True)
    render = call.renderer()
    if fusion:
        items = [
            {
                "frameId": fid,
                "urls": [{"sensorName": r["sensor_name"], "url": render.url(r["checksum"])} for r in frame],
            }
            for fid, frame in rows
        ]
    else:
        items = [{"remotePath": r["remote_path"], "url": render.url(r["checksum"])} for r in rows]
    return page_body("urls", items, offset, total)


def mask_urls(call: Call) -> Result:
    mask_type = req_str(call.query, "maskType")
    if mask_type not in content.MASK_TYPES:
        raise invalid("'maskType' must be SEMANTIC_MASK, INSTANCE_MASK or PANOPTIC_MASK")
    _, rows, offset, total = _data_page(call, fusion_frames=False)
    render = call.renderer()
    return page_body("urls", [render.mask_url(r, mask_type) for r in rows], offset, total)


def delete_data(call: Call) -> Result:
    segment = req_str(call.body, "segmentName")
    paths = call.body.get("remotePath")
    if isinstance(paths, str) and paths:
        paths = [paths]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise missing("remotePath")
    return _write(call, lambda conn, v: stored.delete_items(conn, v, segment, paths))


def post_data(call: Call) -> Result:
    """``data?multipleCopy`` / ``data?multipleMove``; a bare POST is refused."""
    if not call.flags & {"multipleCopy", "multipleMove"}:
        raise invalid("POST data needs ?multipleCopy or ?multipleMove")
    move = "multipleMove" in call.flags
    source = _source(call)
    src_segment = req_str(source, "segmentName")
    src_paths = source.get("remotePaths")
    if not isinstance(src_paths, list) or not src_paths or not all(isinstance(p, str) for p in src_paths):
        raise missing("source.remotePaths")
    dst_paths = call.body.get("remotePaths") or src_paths
    dst_segment = req_str(call.body, "segmentName")
    strategy = content.strategy_of(call.body)
    with call.emu.db.transaction() as conn:
        if versions.dataset(conn, call.dataset_id)["type"] == 1:
            raise invalid("data copy/move is for normal datasets only")
        target = versions.write_version(conn, call.dataset_id, call.body)
        origin = _source_version(conn, call, source, target)
        if move and origin != target:
            raise invalid("data can only be moved inside one draft")
        stored.copy_items(
            conn, (origin, src_segment, src_paths), (target, dst_segment, dst_paths), strategy, move
        )
    return {}


# -- deliberately unsupported -------------------------------------------------------------
def unsupported(what: str) -> Callable[[Call], Result]:
    def handler(call: Call) -> Result:
        raise not_supported(what)

    return handler


def refuse_cloud_callback(call: Call) -> Result:
    raise forbidden("cloud storage (auth data) is not supported by the emulator: no storage configs exist")
