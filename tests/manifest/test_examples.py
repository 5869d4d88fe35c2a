"""Every example validates; the public API loads them as models."""

from __future__ import annotations

import pytest

from labelsync.manifest import catalog_json, load_manifests, validate_paths
from labelsync.providers.deepen.convert import profile_for

from .conftest import REPO

EXAMPLES = sorted(p.name for p in (REPO / "examples").iterdir() if p.is_dir() and p.name not in ("github-workflows", "sharding"))


def test_there_are_examples() -> None:
    assert {"quickstart", "fusion", "deepen-images"} <= set(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates(example: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", str(REPO / "examples" / example))
    assert result.code == 0, result.text
    assert "valid" in result.out


def test_all_examples_at_once(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", str(REPO / "examples"))
    assert result.code == 0, result.text


def test_examples_carry_the_schema_line() -> None:
    for f in (REPO / "examples").rglob("*.yaml"):
        if "github-workflows" in f.parts or f.name == "labelsync.yaml":
            continue
        assert f.read_text().startswith("# yaml-language-server: $schema=../../schemas/labelsync-v1.schema.json"), f


def test_load_manifests_returns_models_with_their_source() -> None:
    loaded = load_manifests([REPO / "examples"])
    by_name = {m.manifest.metadata.name: m for m in loaded}
    assert set(by_name) == {"quickstart", "fusion-demo", "deepen-signs", "coco-example"}
    q = by_name["quickstart"]
    assert q.file == (REPO / "examples" / "quickstart" / "dataset.yaml").resolve()
    assert q.line == 5 and q.provider == "tensorbay" and q.remote.is_local
    assert catalog_json(q.manifest)["BOX2D"]["categories"] == [{"name": "car"}, {"name": "pedestrian"}]
    d = by_name["deepen-signs"]
    assert d.provider == "deepen"
    assert set(profile_for(catalog_json(d.manifest), d.manifest.spec.block("deepen").settings_json())["features"]) == {
        "box", "polygon"
    }
    assert validate_paths([REPO / "examples"]) == []
