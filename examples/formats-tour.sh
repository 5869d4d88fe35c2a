#!/usr/bin/env bash
# A tour of labelsync's label formats, run from a fresh clone after the README's setup
# (python3 -m venv .venv && .venv/bin/pip install -q -e .):
#
#     bash examples/formats-tour.sh
#
# 1. For one small dataset per format (coco, voc, yolo, labelme, kitti, tensorbay), against
#    the embedded local emulator (remote `default`, state under the dataset's .labelsync/):
#    validate -> plan -> apply -> plan again ("No changes") -> pull, and checks that the pull
#    changed no byte (git status and sha1 of every file).
# 2. `labelsync import` of datasets labelsync did not create, then `plan` ("No changes"): a
#    TensorBay dataset made with the official tensorbay SDK (when it is installed) and a Deepen
#    dataset made through the Deepen API, each on an emulator served on a free local port.
#
# It prints each command and its output, works in a temporary directory (TOUR_DIR to keep
# it elsewhere) and changes nothing in the clone. The datasets other than coco (examples/coco)
# and tensorbay (examples/quickstart) are the sample files of tests/formats/fixtures.
# PYTHON: the interpreter labelsync is installed in (default: .venv/bin/python of the clone).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
WORK="${TOUR_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/labelsync-tour.XXXXXX")}"
mkdir -p "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

# run [--expect N] ARGS...: print "$ labelsync ARGS", run it, print its output; fail unless
# it exits with N (default 0)
run() {
  local expect=0
  if [[ "$1" == "--expect" ]]; then expect="$2"; shift 2; fi
  printf '$ labelsync %s\n' "$*"
  local out code=0
  out="$("$PYTHON" -m labelsync "$@" 2>&1)" || code=$?
  [[ -z "$out" ]] || sed -e 's/^/  /' <<<"$out"
  LAST="$out"
  if [[ "$code" != "$expect" ]]; then
    echo "tour: 'labelsync $*' exited $code, expected $expect" >&2
    exit 1
  fi
}

# no_changes ARGS...: `labelsync plan ARGS --detailed-exitcode` must say "No changes" (exit 0)
no_changes() {
  printf '$ labelsync plan %s\n' "$*"
  local out
  out="$("$PYTHON" -m labelsync plan "$@" --detailed-exitcode 2>&1)" || { echo "$out"; echo "tour: plan shows changes" >&2; exit 1; }
  echo "$out" | sed -e 's/^/  /'
  grep -q "No changes" <<<"$out" || { echo "tour: plan did not say No changes" >&2; exit 1; }
}

sums() { (cd "$1" && git ls-files -z | xargs -0 sha1sum); }

# ---------------------------------------------------------------- 1. one dataset per format

build() {  # build FORMAT DIR: the small dataset of FORMAT in DIR, committed to a new git repository
  local fmt="$1" dir="$2"
  case "$fmt" in
    coco) cp -R "$REPO/examples/coco" "$dir" ;;
    tensorbay) cp -R "$REPO/examples/quickstart" "$dir" ;;
    *) PYTHONPATH="$REPO" "$PYTHON" -c 'import sys; from pathlib import Path; from tests.formats.repos import format_repo; format_repo(Path(sys.argv[1]), sys.argv[2])' "$dir" "$fmt" ;;
  esac
  (cd "$dir" && git init -q && echo ".labelsync/" >> .git/info/exclude && git add -A \
    && git -c user.name=tour -c user.email=tour@example.invalid commit -qm "$fmt dataset")
}

for fmt in coco voc yolo labelme kitti tensorbay; do
  dir="$WORK/$fmt"
  say "$fmt: validate -> plan -> apply -> plan (no changes) -> pull (no byte changed)   [$dir]"
  build "$fmt" "$dir"
  cd "$dir"
  run validate .
  run --expect 2 plan . --detailed-exitcode
  run apply . --auto-approve
  no_changes .
  before="$(sums "$dir")"
  run pull .
  after="$(sums "$dir")"
  status="$(git status --porcelain)"
  if [[ -n "$status" || "$before" != "$after" ]]; then
    echo "tour: pull changed files in $dir:"; echo "$status"; diff <(echo "$before") <(echo "$after") || true
    exit 1
  fi
  echo "$ git status --porcelain && sha1sum \$(git ls-files)   # after pull: unchanged"
  echo "$after" | sed -e 's/^/  /'
done

# ---------------------------------------------------------------- 2. import, then a no-op plan

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

serve() {  # serve PROVIDER PORT TOKEN: a local emulator in the background, until it answers
  local provider="$1" port="$2" token="$3"
  "$PYTHON" -m labelsync emulator "$provider" --port "$port" --data-dir "$WORK/$provider-state" --token "$token" \
    >"$WORK/$provider-emulator.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    if "$PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "tour: the $provider emulator did not start (see $WORK/$provider-emulator.log)" >&2
  exit 1
}

IMPORTS="$WORK/imports"
mkdir -p "$IMPORTS"
(cd "$IMPORTS" && git init -q && echo "remotes:" > labelsync.yaml)
TB_TOKEN="Accesskey-$(printf '7%.0s' $(seq 32))"
DP_TOKEN="deepen-tour-token-0123456789"
export TOUR_TB_TOKEN="$TB_TOKEN" TOUR_DP_TOKEN="$DP_TOKEN"

if "$PYTHON" -c 'import tensorbay' 2>/dev/null; then
  TB_PORT="$(free_port)"
  serve tensorbay "$TB_PORT" "$TB_TOKEN"
  say "tensorbay: a dataset made with the official SDK (boxes, a classification, a mask, timestamps), imported"
  echo "$ python - <<EOF   # the SDK creates and commits dataset 'city' on http://127.0.0.1:$TB_PORT"
  (cd "$WORK" && "$PYTHON" - "http://127.0.0.1:$TB_PORT" <<'EOF'
import struct, sys, zlib
from pathlib import Path
from tensorbay import GAS
from tensorbay.dataset import Data, Dataset
from tensorbay.label import Catalog, Classification, LabeledBox2D, SemanticMask

def png(width, height, seed):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + bytes([seed]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))

url = sys.argv[1]
import os
gas = GAS(os.environ["TOUR_TB_TOKEN"], url="https://placeholder.invalid/")
gas._client.gateway_url = f"{url}/gatewayv2/"          # the emulator instead of the cloud
gas._client._open_api = f"{url}/gatewayv2/tensorbay-open-api/v1/"
gas.create_dataset("city")
dataset = Dataset("city")
catalog = Catalog.loads({
    "BOX2D": {"categories": [{"name": "car"}, {"name": "person"}], "attributes": [{"name": "occluded", "type": "boolean"}]},
    "CLASSIFICATION": {"categories": [{"name": "day"}, {"name": "night"}]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}, {"name": "road", "categoryId": 1}]},
})
dataset.catalog.box2d, dataset.catalog.classification, dataset.catalog.semantic_mask = catalog.box2d, catalog.classification, catalog.semantic_mask
segment = dataset.create_segment("train")
files = Path("sdk-files"); files.mkdir(exist_ok=True)
for i in range(3):
    (files / f"img{i}.png").write_bytes(png(40, 30, i))
    data = Data(str(files / f"img{i}.png"), timestamp=1000.5 + i)
    data.label.box2d = [LabeledBox2D(i, i + 1, i + 10, i + 20, category="car", attributes={"occluded": bool(i % 2)})]
    if i == 1:
        data.label.classification = Classification("night")
    if i == 0:
        (files / "mask.png").write_bytes(png(40, 30, 1))
        data.label.semantic_mask = SemanticMask(str(files / "mask.png"))
    segment.append(data)
gas.upload_dataset(dataset, jobs=1).commit("made with the SDK")
print("  created dataset 'city' with the tensorbay SDK: 3 images, 3 BOX2D, 1 CLASSIFICATION, 1 SEMANTIC_MASK, timestamps")
EOF
  )
  cd "$IMPORTS"
  printf '  tb: {provider: tensorbay, url: "http://127.0.0.1:%s", tokenEnv: TOUR_TB_TOKEN}\n' "$TB_PORT" >> labelsync.yaml
  echo "$ cat labelsync.yaml"; sed -e 's/^/  /' labelsync.yaml
  run --expect 1 import tb city --with-data --format coco --dir city-coco   # refused: coco cannot hold it all
  grep -q "cannot hold them" <<<"$LAST" && [[ ! -e city-coco ]] || { echo "tour: the coco import was not refused as it should" >&2; exit 1; }
  run import tb city --with-data
  run validate city
  no_changes city

  say "tensorbay: a fusion dataset made with the SDK (frame IDs with random bits), imported: frames.ids keeps them"
  echo "$ python - <<EOF   # the SDK creates and commits fusion dataset 'drive': 3 frames of lidar + camera"
  (cd "$WORK" && "$PYTHON" - "http://127.0.0.1:$TB_PORT" <<'EOF'
import os, sys
from pathlib import Path
from tensorbay import GAS
from tensorbay.dataset import Data, Frame, FusionDataset
from tensorbay.label import Catalog, LabeledBox3D
from tensorbay.sensor import Camera, Lidar

url = sys.argv[1]
gas = GAS(os.environ["TOUR_TB_TOKEN"], url="https://placeholder.invalid/")
gas._client.gateway_url = f"{url}/gatewayv2/"
gas._client._open_api = f"{url}/gatewayv2/tensorbay-open-api/v1/"
gas.create_dataset("drive", is_fusion=True)
dataset = FusionDataset("drive")
dataset.catalog.box3d = Catalog.loads({"BOX3D": {"categories": [{"name": "car"}]}}).box3d
segment = dataset.create_segment("day")
lidar, camera = Lidar("lidar"), Camera("cam")
lidar.set_extrinsics(translation=[0, 0, 1.9])
camera.set_extrinsics(translation=[1.5, 0, 1.6])
camera.set_camera_matrix(fx=40, fy=40, cx=24, cy=16)
segment.sensors.add(lidar)
segment.sensors.add(camera)
files = Path("sdk-fusion"); files.mkdir(exist_ok=True)
for i in range(3):
    frame = Frame()
    for sensor, ext in (("lidar", "bin"), ("cam", "png")):
        (files / f"{sensor}{i}.{ext}").write_bytes(f"{sensor}-{i}".encode())
        data = Data(str(files / f"{sensor}{i}.{ext}"), target_remote_path=f"{sensor}/{i:04d}.{ext}", timestamp=100.0 + i)
        if sensor == "lidar":
            data.label.box3d = [LabeledBox3D(size=[4, 2, 1.5], translation=[i, 0, 0], category="car")]
        frame[sensor] = data
    segment.append(frame)
gas.upload_dataset(dataset, jobs=1).commit("made with the SDK")
print("  created fusion dataset 'drive' with the tensorbay SDK: 3 frames (lidar/000N.bin, cam/000N.png), 3 BOX3D")
EOF
  )
  run import tb drive --with-data
  echo "$ cat drive/day/frame-ids.json"; sed -e 's/^/  /' drive/day/frame-ids.json
  run validate drive
  no_changes drive
else
  say "tensorbay SDK not installed: its import is left out (bash .ci/install-sdk.sh .venv installs it)"
fi

DP_PORT="$(free_port)"
serve deepen "$DP_PORT" "$DP_TOKEN"
say "deepen: a dataset made through the Deepen API (zip upload, processing, labels), imported"
echo "$ python - <<EOF   # the Deepen API on http://127.0.0.1:$DP_PORT/api/v2 creates 'street-signs'"
"$PYTHON" - "http://127.0.0.1:$DP_PORT" <<'EOF'
import io, os, sys, time, zipfile
import httpx

api = httpx.Client(base_url=sys.argv[1], headers={"Authorization": f"Bearer {os.environ['TOUR_DP_TOKEN']}"}, timeout=30)
def post(path, body):
    response = api.post(path, json=body)
    response.raise_for_status()
    return response.json()

png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as archive:
    for path, data in {"a.png": png + b"a", "sub/b.png": png + b"bb", "c.png": png + b"ccc"}.items():
        archive.writestr(path, data)
body = buf.getvalue()
profile = {"pipeline_spec": [{"stage_id": "Labelling", "can_edit": True}],
           "features": {"box": {"attributes": {}, "label_category_ids": ["sign", "car"]}}}
created = post("/api/v2/clients/client-7/datasets", {
    "dataset_name": "street-signs", "dataset_type": "images", "labelling_mode": "frame_by_frame",
    "labelling_profile": profile, "files": [{"file_size": len(body), "file_type": "application/zip"}]})
dataset_id, url = str(created["dataset_id"]), created["files"][0]["resumable_upload_url"]
httpx.put(url, content=body, headers={"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}, timeout=30).raise_for_status()
post(f"/api/v2/datasets/{dataset_id}/process_uploaded_data", {"file_name": httpx.URL(url).params["name"].rsplit("/", 1)[-1]})
for _ in range(200):
    if api.get(f"/api/v2/datasets/{dataset_id}").json()["processing_status"] == "files_getting_labelled":
        break
    time.sleep(0.1)
post(f"/api/v2/datasets/{dataset_id}/labels?labelSetId=default", {"type": "json", "labels": [
    {"file_id": "a.png", "label_type": "box", "label_category_id": "sign", "label_id": "sign:1", "attributes": {}, "box": [1, 2, 10, 10]},
    {"file_id": "sub/b.png", "label_type": "box", "label_category_id": "car", "label_id": "car:1", "attributes": {}, "box": [5, 5, 20, 30]},
]})
print(f"  created Deepen dataset 'street-signs' ({dataset_id}) through the API: 3 images, 2 boxes")
EOF
cd "$IMPORTS"
printf '  dp: {provider: deepen, url: "http://127.0.0.1:%s/api/v2", tokenEnv: TOUR_DP_TOKEN, clientId: client-7}\n' "$DP_PORT" >> labelsync.yaml
echo "$ cat labelsync.yaml"; sed -e 's/^/  /' labelsync.yaml
run import dp street-signs --with-data
run validate street-signs
no_changes street-signs

say "tour done: every format applied, re-planned to no changes and pulled without a byte changed; imports plan no changes"
