"""plan.render_text and plan.render_markdown: literal plans, literal expected output."""

from __future__ import annotations

import click
import pytest

from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan
from labelsync.plan.render_markdown import TRUNCATED_NOTE, render_markdown
from labelsync.plan.render_text import render_text
from labelsync.plan.serialize import dumps_plan, loads_plan


def file_change(segment: str, path: str, action: Action = Action.CREATE, nbytes: int = 65536) -> Change:
    return Change(
        action,
        Kind.FILE,
        f"dataset.city/segment.{segment}/file.{path}",
        segment=segment,
        after=None
        if action is Action.DELETE
        else {"checksum": "0" * 40, "size": nbytes, "source": f"data/{path}"},
        upload_bytes=0 if action is Action.DELETE else nbytes,
    )


CITY = DatasetPlan(
    name="city",
    remote="default",
    provider="tensorbay",
    kind="fusion",
    base="c0ffee",
    desired_digest="d1",
    changes=(
        Change(
            Action.UPDATE,
            Kind.CATALOG,
            "dataset.city/catalog",
            before={"BOX2D": {"categories": ["car", "truck"]}},
            after={"BOX2D": {"categories": ["car"]}},
            breaking=True,
            reason="category truck removed; 3 labels use it",
        ),
        Change(Action.CREATE, Kind.SEGMENT, "dataset.city/segment.day", segment="day", after={"name": "day"}),
        file_change("day", "cam/0001.jpg"),
        file_change("day", "cam/0002.jpg"),
        file_change("day", "cam/0003.jpg"),
        Change(
            Action.UPDATE,
            Kind.LABEL,
            "dataset.city/segment.day/label.cam/0001.jpg",
            segment="day",
            before={"BOX2D": []},
            after={"BOX2D": [{"category": "car"}]},
        ),
        file_change("night", "a.jpg", Action.DELETE),
        file_change("night", "b.jpg", Action.DELETE),
        Change(
            Action.DELETE,
            Kind.SENSOR,
            "dataset.city/segment.night/sensor.lidar",
            segment="night",
            before={"name": "lidar"},
            breaking=True,
        ),
    ),
    warnings=("content cannot be verified: the server omits checksums",),
)
FACES = DatasetPlan(
    name="faces",
    remote="deepen",
    provider="deepen",
    kind="images",
    base="ds1",
    desired_digest="d2",
    changes=(
        Change(
            Action.REPLACE,
            Kind.DATASET,
            "dataset.faces",
            before={"files": 3},
            after={"files": 4},
            upload_bytes=1234567,
            reason="Deepen datasets take no new files",
        ),
    ),
    blocked=("replace needs --allow-replace",),
)
EMPTY = DatasetPlan(
    name="empty",
    remote="default",
    provider="tensorbay",
    kind="normal",
    base="b",
    desired_digest="d3",
    noop_proven=True,
)
PLAN = Plan(datasets=(CITY, FACES, EMPTY), created_at="2026-01-02T03:04:05Z")

EXPECTED_TEXT_FOLD_2 = """\
Summary:
  dataset city (tensorbay remote default, branch main)
    dataset:        0 to create, 1 to update, 0 to delete, 0 to replace; 0 B to upload
    segment day:    4 to create, 1 to update, 0 to delete, 0 to replace; 192.0 KiB to upload
    segment night:  0 to create, 0 to update, 3 to delete, 0 to replace; 0 B to upload
  dataset faces (deepen remote deepen, branch main)
    dataset:  0 to create, 0 to update, 0 to delete, 1 to replace; 1.2 MiB to upload
  dataset empty (tensorbay remote default, branch main): no changes (proven by the recorded desired-state digest)

! will delete dataset.city/segment.night/sensor.lidar
! will delete 2 files in dataset.city/segment.night
! breaking: dataset.city/catalog: category truck removed; 3 labels use it
! will replace (delete, then create) dataset.faces: Deepen datasets take no new files

Blocked (apply will refuse this plan):
  x dataset.faces: replace needs --allow-replace

Warnings:
  * dataset.city: content cannot be verified: the server omits checksums

dataset.city
  ~ catalog  (breaking)  # category truck removed; 3 labels use it
      ~ BOX2D: {"categories":["car","truck"]} -> {"categories":["car"]}
  segment day
    + segment.day
    + file.cam/0001.jpg  (64.0 KiB to upload)
    + file.cam/0002.jpg  (64.0 KiB to upload)
    ... and 1 more file (use --verbose to list all)
    ~ label.cam/0001.jpg
  segment night
    - sensor.lidar
    - file.a.jpg
    - file.b.jpg

dataset.faces
  -/+ dataset.faces  (1.2 MiB to upload)  # Deepen datasets take no new files

Plan: 4 to create, 2 to update, 3 to delete, 1 to replace; 1.4 MiB to upload.
"""


def test_text_summary_callouts_and_folded_details() -> None:
    assert render_text(PLAN, fold=2) == EXPECTED_TEXT_FOLD_2


def test_text_verbose_lists_every_file() -> None:
    text = render_text(PLAN, fold=2, verbose=True)
    assert "more file" not in text
    assert "    + file.cam/0003.jpg  (64.0 KiB to upload)\n" in text


def test_text_no_changes() -> None:
    plan = Plan(datasets=(EMPTY,))
    assert render_text(plan) == "No changes. The remote matches the manifests.\n"


def test_text_colour_only_when_asked() -> None:
    coloured = render_text(PLAN, fold=2, style=click.style)
    assert "\x1b[" in coloured
    assert "\x1b[" not in render_text(PLAN, fold=2)
    assert click.unstyle(coloured) == EXPECTED_TEXT_FOLD_2


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            Change(Action.CREATE, Kind.DATASET, "dataset.city", after={"name": "city"}),
            "  + dataset.city",
        ),
        (
            Change(
                Action.UPDATE,
                Kind.NOTES,
                "dataset.city/notes",
                before={"a": 1, "b": 2},
                after={"b": 3, "c": 4},
            ),
            "  ~ notes\n      - a: 1\n      ~ b: 2 -> 3\n      + c: 4",
        ),
        (
            Change(Action.UPDATE, Kind.SETTINGS, "dataset.city/settings", before="x", after="y"),
            '  ~ settings\n      ~ "x" -> "y"',
        ),
        (
            Change(
                Action.UPDATE,
                Kind.SENSOR,
                "dataset.city/segment.d/sensor.cam",
                segment="d",
                before={},
                after={},
            ),
            "  segment d\n    ~ sensor.cam",
        ),
        (
            Change(
                Action.DELETE, Kind.SEGMENT, "dataset.city/segment.old", segment="old", before={"name": "old"}
            ),
            "  segment old\n    - segment.old",
        ),
        (
            # segment missing from the change: taken from the address
            Change(Action.CREATE, Kind.FILE, "dataset.city/segment.s/file.x.bin", upload_bytes=1536),
            "  segment s\n    + file.x.bin  (1.5 KiB to upload)",
        ),
    ],
)
def test_text_detail_lines(change: Change, line: str) -> None:
    plan = Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", None, "d", changes=(change,)),))
    details = render_text(plan).split("\n\ndataset.city\n", 1)[1].rsplit("\n\nPlan:", 1)[0]
    assert details == line


def big_plan(n: int = 100_000) -> Plan:
    changes = tuple(file_change("day", f"cam/{i:06d}.jpg") for i in range(n))
    return Plan(datasets=(DatasetPlan("city", "default", "tensorbay", "fusion", None, "d", changes=changes),))


def test_text_of_100000_files_is_folded() -> None:
    text = render_text(big_plan())
    lines = text.splitlines()
    assert "    ... and 99,980 more files (use --verbose to list all)" in lines
    assert len(lines) < 40
    assert lines[-1] == "Plan: 100000 to create, 0 to update, 0 to delete, 0 to replace; 6.1 GiB to upload."


def test_markdown_of_100000_files_fits_the_comment_limit() -> None:
    md = render_markdown(big_plan(), marker="<!-- labelsync-plan -->")
    assert len(md) <= 65_536
    assert md.startswith("<!-- labelsync-plan -->\n## labelsync plan\n")
    assert "| `city` | `day` | 100,000 | 0 | 0 | 0 | 6.1 GiB |" in md
    assert "+ file.cam/000000.jpg  (64.0 KiB to upload)" in md
    assert md.endswith(f"> [!NOTE]\n> {TRUNCATED_NOTE}\n")
    # The cut block is still closed: fences and <details> tags balance.
    assert md.count("```") % 2 == 0
    assert md.count("<details>") == md.count("</details>")


@pytest.mark.parametrize("limit", [0, 10, 200, 700, 1000, 1500, 2000, 3000])
def test_markdown_never_exceeds_limit(limit: int) -> None:
    assert len(render_markdown(PLAN, limit=limit, marker="<!-- labelsync-plan -->")) <= limit


EXPECTED_MARKDOWN = """\
<!-- labelsync-plan -->
## labelsync plan

**Plan: 4 to create, 2 to update, 3 to delete, 1 to replace; 1.4 MiB to upload.**

| Dataset | Segment | Create | Update | Delete | Replace | Upload |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
| `city` | (dataset) | 0 | 1 | 0 | 0 | 0 B |
| `city` | `day` | 4 | 1 | 0 | 0 | 192.0 KiB |
| `city` | `night` | 0 | 0 | 3 | 0 | 0 B |
| `faces` | (dataset) | 0 | 0 | 0 | 1 | 1.2 MiB |

No changes: `empty`

> [!WARNING]
> **Deletions and breaking changes**
> - will delete dataset.city/segment.night/sensor.lidar
> - will delete 2 files in dataset.city/segment.night
> - breaking: dataset.city/catalog: category truck removed; 3 labels use it
> - will replace (delete, then create) dataset.faces: Deepen datasets take no new files

> [!CAUTION]
> **Blocked: apply will refuse this plan**
> - `dataset.faces`: replace needs --allow-replace

> [!NOTE]
> **Warnings**
> - `dataset.city`: content cannot be verified: the server omits checksums

<details><summary><code>dataset.city</code>: 1 to update</summary>

```diff
! catalog  (breaking)  # category truck removed; 3 labels use it
    ~ BOX2D: {"categories":["car","truck"]} -> {"categories":["car"]}
```

</details>

<details><summary><code>dataset.city/segment.day</code>: 4 to create, 1 to update</summary>

```diff
+ segment.day
+ file.cam/0001.jpg  (64.0 KiB to upload)
+ file.cam/0002.jpg  (64.0 KiB to upload)
+ file.cam/0003.jpg  (64.0 KiB to upload)
! label.cam/0001.jpg
```

</details>

<details><summary><code>dataset.city/segment.night</code>: 3 to delete</summary>

```diff
- sensor.lidar
- file.a.jpg
- file.b.jpg
```

</details>

<details><summary><code>dataset.faces</code>: 1 to replace</summary>

```diff
-/+ dataset.faces  (1.2 MiB to upload)  # Deepen datasets take no new files
```

</details>
"""


def test_markdown_full() -> None:
    assert render_markdown(PLAN, marker="<!-- labelsync-plan -->") == EXPECTED_MARKDOWN


def test_markdown_truncation_keeps_summary_and_closes_the_cut_block() -> None:
    md = render_markdown(PLAN, limit=1600)
    assert len(md) <= 1600
    assert "| `faces` | (dataset) | 0 | 0 | 0 | 1 | 1.2 MiB |" in md
    assert "segment.night" in md  # named in the call-outs even though its details are cut
    assert "<summary><code>dataset.faces</code>" not in md
    assert md.endswith(f"> [!NOTE]\n> {TRUNCATED_NOTE}\n")
    assert md.count("<details>") == md.count("</details>")


def test_markdown_no_changes() -> None:
    md = render_markdown(Plan(datasets=(EMPTY,)))
    assert md == "## labelsync plan\n\n**No changes. The remote matches the manifests.**\n"


def test_markdown_fence_outgrows_backticks_and_cells_escape_pipes() -> None:
    change = Change(Action.CREATE, Kind.FILE, "dataset.a|b/segment.s/file.x```y", segment="s", upload_bytes=1)
    plan = Plan(datasets=(DatasetPlan("a|b", "r", "tensorbay", "normal", None, "d", changes=(change,)),))
    md = render_markdown(plan)
    assert "| `a\\|b` | `s` | 1 | 0 | 0 | 0 | 1 B |" in md
    assert "\n````diff\n+ file.x```y  (1 B to upload)\n````\n" in md


@pytest.mark.parametrize("plan", [PLAN, big_plan(300), Plan(datasets=(EMPTY,))])
def test_renders_survive_the_saved_plan_round_trip(plan: Plan) -> None:
    again = loads_plan(dumps_plan(plan))
    assert render_text(again) == render_text(plan)
    assert render_text(again, verbose=True) == render_text(plan, verbose=True)
    assert render_markdown(again, marker="<!-- m -->") == render_markdown(plan, marker="<!-- m -->")
