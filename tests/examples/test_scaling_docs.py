"""docs/scaling.md and the README's scaling section: their links resolve, the launchers are named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scaling.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Scaling")
    return text[start : text.index("\n## ", start + 1)]


def test_relative_links_resolve() -> None:
    for source, text in ((DOC, DOC.read_text()), (ROOT / "README.md", _readme_section())):
        links = [link for link in LINK.findall(text) if "://" not in link]
        assert links, source
        for link in links:
            assert (source.parent / link).exists(), f"{source.name}: {link}"


def test_every_launcher_is_in_the_which_launcher_table_and_the_readme() -> None:
    doc = DOC.read_text()
    table = doc[doc.index("## Which launcher") : doc.index("\n## ", doc.index("## Which launcher") + 1)]
    readme = _readme_section()
    for launcher in ("--executor local", "--executor dask", "github-actions.yml", "examples/sharding/kubernetes/"):
        assert launcher in table and launcher in readme, launcher
    assert "docs/scaling.md" in readme
    assert "\n## Sharded apply: the commands\n" in doc  # the sharded-apply change's own section
    assert "--max-requests-per-second" in doc and "LABELSYNC_SOURCE_ADDRESS" in doc and "--client-bandwidth" in doc
