"""The REST client and comment upsert against the fake GitHub on loopback."""

from __future__ import annotations

import pytest

from labelsync.errors import AuthError, RemoteError
from labelsync.github.comment import GitHubApi, Response, find_comment, upsert_comment

from .conftest import GITHUB_TOKEN, REPO
from .fake_github import FakeGitHub

MARKER = "<!-- labelsync-plan: . -->"


@pytest.fixture
def api(fake_server: tuple[FakeGitHub, str], github: FakeGitHub) -> GitHubApi:
    return GitHubApi(fake_server[1], GITHUB_TOKEN)


def test_first_upsert_creates_second_updates(api: GitHubApi, github: FakeGitHub) -> None:
    first = upsert_comment(api, REPO, 7, MARKER, f"{MARKER}\none")
    second = upsert_comment(api, REPO, 7, MARKER, f"{MARKER}\ntwo")

    assert (first.action, second.action) == ("created", "updated")
    assert first.id == second.id
    assert [c["body"] for c in github.comments_on(REPO, 7)] == [f"{MARKER}\ntwo"]
    assert [r.method for r in github.writes()] == ["POST", "PATCH"]
    assert github.writes()[1].path == f"/repos/{REPO}/issues/comments/{first.id}"


def test_finds_the_marker_on_a_later_page(api: GitHubApi, github: FakeGitHub) -> None:
    for i in range(250):
        github.add_comment(REPO, 7, f"comment {i}")
    target = github.add_comment(REPO, 7, f"{MARKER}\nold plan", login="github-actions[bot]")

    result = upsert_comment(api, REPO, 7, MARKER, f"{MARKER}\nnew plan")

    assert result.action == "updated" and result.id == target["id"]
    pages = [r.query for r in github.requests if r.method == "GET"]
    assert pages == ["per_page=100", "per_page=100&page=2", "per_page=100&page=3"]
    assert len(github.comments_on(REPO, 7)) == 251


def test_other_markers_and_other_pull_requests_are_left_alone(api: GitHubApi, github: FakeGitHub) -> None:
    github.add_comment(REPO, 7, "<!-- labelsync-plan: other-dir -->\nother")
    github.add_comment(REPO, 8, f"{MARKER}\non another PR")

    result = upsert_comment(api, REPO, 7, MARKER, f"{MARKER}\nmine")

    assert result.action == "created"
    assert [c["body"] for c in github.comments_on(REPO, 7)] == ["<!-- labelsync-plan: other-dir -->\nother", f"{MARKER}\nmine"]
    assert github.comments_on(REPO, 8)[0]["body"] == f"{MARKER}\non another PR"


def test_no_comment_found(api: GitHubApi, github: FakeGitHub) -> None:
    github.add_comment(REPO, 7, "hello")
    assert find_comment(api, REPO, 7, MARKER) is None


def test_bad_token_is_an_auth_error_with_a_hint(fake_server: tuple[FakeGitHub, str], github: FakeGitHub) -> None:
    api = GitHubApi(fake_server[1], "wrong-token")
    with pytest.raises(AuthError) as info:
        upsert_comment(api, REPO, 7, MARKER, MARKER)
    assert info.value.status == 401
    assert "Bad credentials" in info.value.message
    assert "wrong-token" not in info.value.message
    assert info.value.hint and "pull-requests: write" in info.value.hint


def test_read_only_token(api: GitHubApi, github: FakeGitHub) -> None:
    github.read_only = True
    with pytest.raises(AuthError, match="Resource not accessible by integration"):
        upsert_comment(api, REPO, 7, MARKER, MARKER)


def test_body_over_the_limit_is_refused_like_github(api: GitHubApi, github: FakeGitHub) -> None:
    with pytest.raises(RemoteError, match="HTTP 422 Validation Failed"):
        upsert_comment(api, REPO, 7, MARKER, MARKER + "x" * 70_000)


def test_unreachable_api() -> None:
    from labelsync.emulator.runtime import free_port

    api = GitHubApi(f"http://127.0.0.1:{free_port()}", GITHUB_TOKEN, timeout=5)
    with pytest.raises(RemoteError, match="cannot reach the GitHub API"):
        find_comment(api, REPO, 7, MARKER)


def test_body_without_marker_is_a_programming_error(api: GitHubApi) -> None:
    with pytest.raises(ValueError):
        upsert_comment(api, REPO, 7, MARKER, "no marker")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ('<http://api.test/repos/a/b/issues/1/comments?page=2>; rel="next", <http://api.test/x?page=9>; rel="last"',
         "http://api.test/repos/a/b/issues/1/comments?page=2"),
        ('<http://api.test/x?page=1>; rel="prev"', None),
        ('<https://evil.example/steal?page=2>; rel="next"', None),
        ("", None),
    ],
)
def test_next_link_stays_on_the_api_host(link: str, expected: str | None) -> None:
    api = GitHubApi("http://api.test", "t")
    assert api.next_link(Response(200, {"link": link}, [])) == expected
