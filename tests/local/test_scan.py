"""Data directory scans: patterns, hidden files, symlinks, order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local.patterns import compile_patterns
from labelsync.local.scan import scan_dir, stat_file


def make(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode())


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*", "a.jpg", True),
        ("**/*", "x/y/a.jpg", True),
        ("**/*.jpg", "a.jpg", True),
        ("**/*.jpg", "x/y/a.jpg", True),
        ("**/*.jpg", "x/a.png", False),
        ("*.jpg", "x/y/a.jpg", True),  # no slash: any depth, like gitignore
        ("/*.jpg", "x/a.jpg", False),  # leading slash anchors
        ("/*.jpg", "a.jpg", True),
        ("img/*.jpg", "img/a.jpg", True),
        ("img/*.jpg", "img/sub/a.jpg", False),
        ("img/*.jpg", "x/img/a.jpg", False),  # a slash anchors
        ("img/**/*.jpg", "img/a.jpg", True),
        ("img/**/*.jpg", "img/s/t/a.jpg", True),
        ("img/**", "img/s/a.jpg", True),
        ("cache", "cache/a/b.bin", True),  # a directory selects everything below
        ("cache/", "x/cache/b.bin", True),
        ("?.jpg", "a.jpg", True),
        ("?.jpg", "ab.jpg", False),
        ("[ab].jpg", "b.jpg", True),
        ("[!ab].jpg", "b.jpg", False),
        ("[!ab].jpg", "c.jpg", True),
        ("a*b", "a/b", False),  # * never crosses a slash
        ("a.jpg", "a_jpg", False),  # dots are literal
    ],
)
def test_pattern_semantics(pattern: str, path: str, expected: bool) -> None:
    regex = compile_patterns([pattern])
    assert regex is not None
    assert (regex.fullmatch(path) is not None) is expected


def test_empty_pattern_is_an_error() -> None:
    with pytest.raises(LocalDataError, match="empty glob pattern"):
        compile_patterns(["  "])


def test_scan_sorted_relative_posix_with_stat(tmp_path: Path) -> None:
    make(tmp_path, "data/b.jpg", "data/a/c.jpg", "data/a.png")
    files = scan_dir(tmp_path, tmp_path / "data")
    assert [f.rel for f in files] == ["a.png", "a/c.jpg", "b.jpg"]
    f = files[1]
    st = os.stat(tmp_path / "data" / "a" / "c.jpg")
    assert (f.path, f.size, f.mtime_ns, f.inode) == (str(tmp_path / "data" / "a" / "c.jpg"), st.st_size, st.st_mtime_ns, st.st_ino)


def test_the_walk_itself_yields_rel_order_where_names_sort_around_a_slash(tmp_path: Path) -> None:
    # "-" (0x2d) and "." sort before "/" (0x2f), "0" after it: a file "a-b" comes before the
    # directory a/'s files, "a0" after them; the symlinked directory is visited in its place
    make(tmp_path, "data/a/x", "data/a/y/z", "data/a-b", "data/a.d/q", "data/a0", "data/a/x-1", "data/b/c/d/e", "data/Z")
    os.symlink(tmp_path / "data" / "b", tmp_path / "data" / "a/m")
    files = scan_dir(tmp_path, tmp_path / "data")
    expected = ["Z", "a-b", "a.d/q", "a/m/c/d/e", "a/x", "a/x-1", "a/y/z", "a0", "b/c/d/e"]
    assert files.rels == expected == sorted(expected)
    assert [f.size for f in files] == [os.stat(f.path).st_size for f in files]
    assert [f.inode for f in files] == [os.stat(f.path).st_ino for f in files]


def test_scan_include_exclude(tmp_path: Path) -> None:
    make(tmp_path, "data/a.jpg", "data/x/b.jpg", "data/x/c.png", "data/tmp/d.jpg")
    rels = [f.rel for f in scan_dir(tmp_path, tmp_path / "data", ["**/*.jpg"], ["tmp"])]
    assert rels == ["a.jpg", "x/b.jpg"]


def test_hidden_files_and_dirs_are_skipped(tmp_path: Path) -> None:
    make(tmp_path, "data/a.jpg", "data/.DS_Store", "data/.git/config", "data/x/.hidden.jpg")
    assert [f.rel for f in scan_dir(tmp_path, tmp_path / "data")] == ["a.jpg"]


def test_symlink_inside_is_followed_and_loops_end(tmp_path: Path) -> None:
    make(tmp_path, "data/a/x.jpg", "other/y.jpg")
    os.symlink(tmp_path / "other", tmp_path / "data" / "linked")
    os.symlink(tmp_path / "data", tmp_path / "data" / "a" / "loop")
    assert [f.rel for f in scan_dir(tmp_path, tmp_path / "data")] == ["a/x.jpg", "linked/y.jpg"]


def test_symlink_out_of_root_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make(root, "data/a.jpg")
    make(tmp_path, "secret/s.jpg")
    os.symlink(tmp_path / "secret" / "s.jpg", root / "data" / "s.jpg")
    with pytest.raises(LocalDataError, match=r"s.jpg is a symlink to .*secret/s.jpg, outside the repository"):
        scan_dir(root, root / "data")


def test_dangling_symlink_is_an_error(tmp_path: Path) -> None:
    make(tmp_path, "data/a.jpg")
    os.symlink(tmp_path / "data" / "nope", tmp_path / "data" / "b.jpg")
    with pytest.raises(LocalDataError, match="dangling symlink"):
        scan_dir(tmp_path, tmp_path / "data")


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(LocalDataError, match="does not exist"):
        scan_dir(tmp_path, tmp_path / "nope")


def test_stat_file(tmp_path: Path) -> None:
    make(tmp_path, "m.png")
    assert stat_file(tmp_path / "m.png").size == 5
    with pytest.raises(LocalDataError, match="does not exist"):
        stat_file(tmp_path / "no.png")


def test_rel_index_bisects_a_scan_for_few_lookups_and_sets_for_many(tmp_path: Path) -> None:
    from labelsync.local.scan import SortedRels, rel_index

    make(tmp_path, *[f"data/d{i % 3}/f{i:02}.bin" for i in range(40)], "data/a-b")
    files = scan_dir(tmp_path, tmp_path / "data")
    few, many = rel_index(files, 2), rel_index(files, 40)
    assert isinstance(few, SortedRels) and isinstance(many, set)
    for probe in ["a-b", "d0/f00.bin", "d2/f38.bin", "d1/f39.bin", "a", "d0", "d0/", "zz", "", 3]:
        assert (probe in few) is (probe in many) is (probe in set(files.rels)), probe
