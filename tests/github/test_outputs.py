"""Step outputs and the step summary files."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelsync.errors import UsageError
from labelsync.github.outputs import append_summary, format_output, write_outputs

from .conftest import parse_outputs


def test_outputs_round_trip_including_multiline_and_injection_attempts(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("earlier=step\n")
    values = {
        "summary": "Plan: 1 to create",
        "multi": "line one\nline two\n",
        "evil": "x\nEOF\nhas-changes<<EOF\ntrue\nEOF",
        "empty": "",
    }
    write_outputs(path, values)

    parsed = parse_outputs(path.read_text())
    assert parsed == {"earlier": "step", **values}


def test_delimiter_never_occurs_in_the_value() -> None:
    text = format_output("v", "ghadelim_ is here")
    delimiter = text.split("\n", 1)[0].split("<<", 1)[1]
    assert text == f"v<<{delimiter}\nghadelim_ is here\n{delimiter}\n"
    assert delimiter not in "ghadelim_ is here"


@pytest.mark.parametrize("name", ["", "a<<b", "a\nb", "a=b"])
def test_bad_output_names(name: str) -> None:
    with pytest.raises(UsageError):
        format_output(name, "v")


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    append_summary(path, "# one")
    append_summary(path, "two\n")
    assert path.read_text() == "# one\ntwo\n"


def test_no_path_means_nothing_written() -> None:
    write_outputs(None, {"a": "b"})
    append_summary(None, "x")


def test_unwritable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write"):
        append_summary(tmp_path / "missing-dir" / "summary.md", "x")
