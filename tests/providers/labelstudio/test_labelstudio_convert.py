"""TensorBay labels <-> Label Studio results: round trips of every type, exact coordinates, masks."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.providers.labelstudio import png, rle
from labelsync.providers.labelstudio.convert import from_results, to_percent, to_pixel, to_results

CATALOG = json.loads((Path(__file__).parent / "catalog.json").read_text())
W, H = 640, 480

LABEL = {
    "CLASSIFICATION": {"category": "night", "attributes": {"color": "blue", "blurred": False}},
    "BOX2D": [
        {"box2d": {"xmin": 1, "ymin": 2, "xmax": 30.5, "ymax": 40}, "category": "car",
         "attributes": {"occluded": True, "num": 2.5, "count": 3, "lst": [1, 3], "multi": None}, "instance": "7"},
        {"box2d": {"xmin": 1.1, "ymin": 2.2, "xmax": 3.3, "ymax": 479.99}, "category": "ped"},
    ],
    "POLYGON": [{"polygon": [{"x": 0, "y": 0}, {"x": 639, "y": 0.125}, {"x": 320.333, "y": 479}], "category": "area"}],
    "POLYLINE2D": [{"polyline2d": [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5.5, "y": 6}], "category": "lane",
                    "beizerPointTypes": "LCL", "attributes": {"note": "wet"}}],
    "KEYPOINTS2D": [
        {"keypoints2d": [{"x": 10, "y": 20, "v": 2}, {"x": 0, "y": 0, "v": 0}], "category": "person", "instance": "p1"},
        {"keypoints2d": [{"x": 11.75, "y": 21, "v": 1}, {"x": 12, "y": 22, "v": 2}], "category": "person"},
    ],
}


def test_every_type_round_trips() -> None:
    results = to_results(LABEL, CATALOG, W, H)
    assert from_results(results, CATALOG) == (LABEL, None)
    assert json.loads(json.dumps(results)) == results  # plain JSON, as sent


def test_results_follow_label_studio_shapes() -> None:
    results = to_results(LABEL, CATALOG, W, H)
    box = next(r for r in results if r["type"] == "rectanglelabels")
    assert box["id"] == "box2d:=7" and box["from_name"] == "box2d" and box["to_name"] == "image"
    assert (box["original_width"], box["original_height"]) == (W, H)
    assert box["value"] == {"x": 100 / W, "y": 200 / H, "width": 2950 / W, "height": 3800 / H, "rotation": 0,
                            "rectanglelabels": ["car"]}
    occluded = next(r for r in results if r["from_name"] == "box2d.occluded")
    assert occluded["id"] == box["id"] and occluded["value"] == {"choices": ["true"]}
    vector = next(r for r in results if r["type"] == "vectorlabels")["value"]
    assert vector["closed"] is False and vector["vertices"][1]["prevPointId"] == vector["vertices"][0]["id"]
    assert [v["isBezier"] for v in vector["vertices"]] == [False, True, False]
    points = [r for r in results if r["type"] == "keypointlabels"]
    assert len(points) == 4 and points[0]["value"]["keypointlabels"] == ["person"]


@pytest.mark.parametrize("size", [1, 3, 7, 100, 101, 640, 1080, 4093])
def test_pixels_survive_percentages_exactly(size: int) -> None:
    rng = random.Random(size)
    values = [0, size, 0.1, 2.675, 1e-9]
    values += [rng.randrange(0, size + 1) for _ in range(200)]
    values += [round(rng.uniform(0, size), rng.randrange(1, 7)) for _ in range(400)]
    for value in values:
        if isinstance(value, float) and value.is_integer():
            continue  # documented: a whole float comes back as an int
        back = to_pixel(to_percent(value, size), size)
        assert back == value and type(back) is type(value), (value, back)


def test_box_corners_survive_exactly() -> None:
    rng = random.Random(5)
    for _ in range(500):
        xmin = round(rng.uniform(0, 600), rng.randrange(0, 5))
        xmax = round(xmin + rng.uniform(0, 40), rng.randrange(0, 5))
        label = {"BOX2D": [{"box2d": {"xmin": xmin, "ymin": 0, "xmax": xmax, "ymax": 1}, "category": "car"}]}
        assert from_results(to_results(label, CATALOG, W, H), CATALOG)[0] == label


def test_a_rotated_box_comes_back_as_its_bounding_box() -> None:
    item = {"id": "x", "from_name": "box2d", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
            "original_height": 100, "value": {"x": 50, "y": 50, "width": 10, "height": 20, "rotation": 90,
                                              "rectanglelabels": ["car"]}}
    (box,) = from_results([item], CATALOG)[0]["BOX2D"]
    assert box["box2d"] == pytest.approx({"xmin": 30, "ymin": 50, "xmax": 50, "ymax": 60})
    assert "instance" not in box  # a region an annotator drew has no instance


def _mask(width: int, height: int) -> list[int]:
    return [(7 if x > y else 1 if (x + y) % 5 == 0 else 0) for y in range(height) for x in range(width)]


def test_semantic_mask_round_trips_through_label_studio_rle() -> None:
    values = _mask(33, 17)
    mask = png.write_indices(33, 17, values)
    label = {"SEMANTIC_MASK": {"info": [{"categoryId": 7, "attributes": {}}]}}
    results = to_results(label, CATALOG, 33, 17, mask=mask)
    assert [(r["id"], r["value"]["brushlabels"]) for r in results] == [
        ("semantic_mask:0", ["bg"]), ("semantic_mask:1", ["road"]), ("semantic_mask:7", ["car"])
    ]
    without_bg = {"SEMANTIC_MASK": {"categories": CATALOG["SEMANTIC_MASK"]["categories"][1:]}}
    assert len(to_results(label, without_bg, 33, 17, mask=mask)) == 2  # undeclared 0: unlabelled
    back, back_mask = from_results(results, CATALOG)
    assert back == {"SEMANTIC_MASK": {}}
    assert back_mask == mask
    assert png.read_indices(back_mask) == (33, 17, values)


def test_mask_attributes_go_to_their_category_region() -> None:
    catalog = {"SEMANTIC_MASK": {"categories": [{"name": "road", "categoryId": 1}],
                                 "attributes": [{"name": "wet", "type": "boolean"}]}}
    mask = png.write_indices(2, 1, [1, 0])
    label = {"SEMANTIC_MASK": {"info": [{"categoryId": 1, "attributes": {"wet": True}}]}}
    assert from_results(to_results(label, catalog, 2, 1, mask=mask), catalog) == (label, mask)


def test_an_undeclared_mask_value_is_refused() -> None:
    mask = png.write_indices(2, 1, [3, 0])
    with pytest.raises(LocalDataError, match="category id 3, which the catalog does not declare"):
        to_results({"SEMANTIC_MASK": {}}, CATALOG, 2, 1, mask=mask)


def test_rle_format_facts() -> None:
    # header: 32-bit count, 5-bit word size - 1, four 4-bit run sizes - 1; then chunks
    encoded = rle.encode_mask([True, False], 2, 1)
    bits = "".join(f"{b:08b}" for b in encoded)
    assert int(bits[:32], 2) == 8 and int(bits[32:37], 2) == 7
    assert [int(bits[37 + 4 * i : 41 + 4 * i], 2) + 1 for i in range(4)] == [3, 4, 8, 16]
    assert rle.decode(encoded) == bytearray([255] * 4 + [0] * 4)


def test_rle_decodes_literal_chunks_and_long_runs() -> None:
    # a hand-built stream: word size 8, run sizes 3/4/8/16; a literal chunk of 2 values, then a
    # repeat chunk of 70000 values split in two (16-bit lengths hold at most 65536)
    bits = f"{70002:032b}{7:05b}" + "".join(f"{s - 1:04b}" for s in (3, 4, 8, 16))
    bits += "0" + "00" + f"{1:03b}" + f"{5:08b}" + f"{250:08b}"
    bits += "1" + "11" + f"{65535:016b}" + f"{9:08b}"
    bits += "1" + "11" + f"{70000 - 65536 - 1:016b}" + f"{9:08b}"
    bits += "0" * (-len(bits) % 8)
    data = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
    assert rle.decode(data) == bytearray([5, 250] + [9] * 70000)
    long_mask = [True] * 20000 + [False]
    assert rle.decode_mask(rle.encode_mask(long_mask, 20001, 1), 20001, 1) == long_mask


def test_broken_rle_is_refused() -> None:
    with pytest.raises(rle.RleError, match="header"):
        rle.decode([1, 2])
    good = rle.encode_mask([True] * 10, 10, 1)
    with pytest.raises(rle.RleError):
        rle.decode(good[:-2])
    with pytest.raises(rle.RleError, match="a 3x3 mask has 36"):
        rle.decode_mask(good, 3, 3)


def test_png_reader_handles_filters_palettes_and_low_bit_depths() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        import struct

        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    import struct

    # 8-bit palette, rows with the Sub, Up, Average and Paeth filters
    rows = [bytes([1, 1, 1, 1]), bytes([2, 0, 0, 1]), bytes([3, 0, 1, 0]), bytes([4, 1, 0, 0])]
    data = (png.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 4, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", bytes(6)) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    width, height, values = png.read_indices(data)
    assert (width, height) == (3, 4)
    assert values[:3] == [1, 2, 3]  # Sub: running sum
    # 1-bit greyscale
    one_bit = (png.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 1, 1, 0, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(b"\x00\xa0\x40")) + chunk(b"IEND", b""))
    assert png.read_indices(one_bit)[2] == [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert png.read_indices(png.write_indices(2, 2, [0, 300, 65535, 1])) == (2, 2, [0, 300, 65535, 1])


def test_png_colour_images_are_refused() -> None:
    import struct

    rgb = png.SIGNATURE + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0) + b"\0\0\0\0"
    with pytest.raises(png.PngError, match="RGB; a mask must be greyscale or palette"):
        png.read_indices(rgb + b"\0\0\0\0IEND\0\0\0\0")


@pytest.mark.labelstudio
def test_a_prediction_comes_back_from_the_server_unchanged(ls_client) -> None:
    from labelsync.providers.labelstudio.config import label_config

    mask = png.write_indices(W, H, [(1 if 100 < x < 300 and y < 50 else 0) for y in range(H) for x in range(W)])
    label = {**LABEL, "SEMANTIC_MASK": {}}
    results = to_results(label, CATALOG, W, H, mask=mask)
    project = ls_client.create_project("labelsync:test/convert", label_config(CATALOG))
    try:
        (task,) = ls_client.import_tasks(
            project.id,
            [{"data": {"image": "/data/none.png", "remotePath": "a.png"},
              "predictions": [{"model_version": "labelsync", "result": results}]}],
        )
        (prediction,) = ls_client.list_predictions(task)
        assert prediction.result == results
        assert from_results(prediction.result, CATALOG) == (label, mask)
    finally:
        ls_client.delete_project(project.id)


@pytest.mark.labelstudio
def test_label_studio_sdk_reads_our_rle_and_we_read_its(labelstudio) -> None:
    """Cross-check with the label_studio_sdk installed next to the server (run, not copied)."""
    import subprocess

    from tests.support.labelstudio import find_binary

    del labelstudio  # the fixture only guarantees the server is installed (or skips/fails)
    python = find_binary().parent / "python"
    painted = [bool((x * 7 + y * 3) % 11 < 4) for y in range(9) for x in range(13)]
    ours = rle.encode_mask(painted, 13, 9)
    script = (
        "import json, sys, numpy as np\n"
        "from label_studio_sdk.converter.brush import decode_rle, mask2rle\n"
        "ours, painted = json.load(sys.stdin)\n"
        "alpha = decode_rle(ours)[3::4]\n"
        "theirs = mask2rle(np.array(painted, dtype=np.uint8).reshape(9, 13) * 255)\n"
        "print(json.dumps([[int(a) for a in alpha], [int(b) for b in theirs]]))\n"
    )
    done = subprocess.run([str(python), "-c", script], input=json.dumps([ours, painted]), capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip(f"label_studio_sdk is not importable next to the server: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    alpha, theirs = json.loads(done.stdout)
    assert [a >= 128 for a in alpha] == painted
    assert rle.decode_mask(theirs, 13, 9) == painted
