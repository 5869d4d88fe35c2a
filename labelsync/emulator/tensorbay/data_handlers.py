"""Open API handlers of a version's contents (contract §2.3): notes, catalog, segments,
sensors, uploads and data. Plain functions of a :class:`~.handlers.Call`, like
:mod:`.handlers` (datasets and version control); routing lives in :mod:`.app`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from labelsync.emulator.tensorbay import content, history, versions
from labelsync.emulator.tensorbay import items as stored
from labelsync.emulator.tensorbay.errors import forbidden, invalid, missing, not_supported
from labelsync.emulator.tensorbay.handlers import Call, Result
from labelsync.emulator.tensorbay.params import as_int, opt_str, page_body, paging, req_str, segment_name


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
        "host": f"{_storage_base(call)}/storage/upload",
        "backendType": "s3",
        "expireAt": expire_at,
    }
    return {"result": result, "extra": extra, "expireAt": expire_at}


def _storage_base(call: Call) -> str:
    """The storage host's base URL: the request's own, or its host on the storage port."""
    port = call.emu.storage_port
    if port is None:
        return call.base_url
    parts = urlsplit(call.base_url)
    hostname = parts.hostname or "127.0.0.1"
    host = f"[{hostname}]" if ":" in hostname else hostname
    return f"{parts.scheme}://{host}:{port}"


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
