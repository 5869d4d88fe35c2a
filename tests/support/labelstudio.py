"""A real Label Studio server for tests (``api/labelstudio.md`` §1-2).

:func:`find_binary` looks for the ``label-studio`` executable of its own virtual environment:
``$LABELSYNC_LABEL_STUDIO_BIN``, then ``/opt/ls-venv/bin/label-studio``, then
``.venv-labelstudio/bin/label-studio`` in the repository (what ``.ci/run`` installs).

:func:`start` runs one server on a free loopback port with its own temporary data directory.
The first start on a machine migrates an empty data directory (~20 s) and keeps it as a
template under the temp directory (keyed by the binary and its version); later starts copy the
template and take a few seconds. The server has one user, :data:`EMAIL`, whose legacy token is
:data:`LEGACY_TOKEN` (the organisation allows legacy tokens); :meth:`Server.personal_token`
logs in as that user and returns a personal access token (PAT, a JWT refresh token).
:meth:`Server.stop` sends SIGTERM (then SIGKILL after 10 s) and removes the data directory; a
test process that dies without stopping it takes the server with it (Linux parent-death signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
ENV_BIN = "LABELSYNC_LABEL_STUDIO_BIN"
REQUIRE_ENV = "LABELSYNC_REQUIRE"
STARTUP_ENV = {k: v for k, v in os.environ.items() if k in (ENV_BIN, REQUIRE_ENV)}
"""Those two variables as the test process started with them: read when this module is
imported (at collection), before ``tests/conftest.py`` clears ``LABELSYNC_*`` for each test."""
DEFAULT_BINS = (Path("/opt/ls-venv/bin/label-studio"), REPO / ".venv-labelstudio" / "bin" / "label-studio")
INSTALL_HINT = (
    "Label Studio is not installed: python3 -m venv .venv-labelstudio && "
    ".venv-labelstudio/bin/pip install label-studio "
    f"(or set {ENV_BIN} to a label-studio executable)"
)

EMAIL = "admin@example.com"
PASSWORD = "secret123-labelsync"
LEGACY_TOKEN = "0123456789abcdef0123456789abcdef01234567"
START_TIMEOUT = 180.0


class LabelStudioMissing(RuntimeError):
    """No label-studio executable was found (the message says how to install it)."""


def find_binary(env: dict[str, str] | None = None) -> Path:
    """The label-studio executable to run; :class:`LabelStudioMissing` when there is none.
    ``env`` defaults to :data:`STARTUP_ENV` (the tests' own environment is cleaned)."""
    env = STARTUP_ENV if env is None else env
    given = env.get(ENV_BIN)
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LabelStudioMissing(f"{ENV_BIN}={given} is not an executable file; {INSTALL_HINT}")
        return path
    for path in DEFAULT_BINS:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise LabelStudioMissing(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "DJANGO_"))}
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LATEST_VERSION_CHECK="false",
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        COLLECT_ANALYTICS="false",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    """One running Label Studio; ``url`` has no trailing slash."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    start_seconds: float
    from_template: bool
    legacy_token: str = LEGACY_TOKEN
    _pat: str | None = field(default=None, repr=False)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def personal_token(self) -> str:
        """A personal access token of :data:`EMAIL`: logs in with a session and asks for one."""
        if self._pat is None:
            with httpx.Client(base_url=self.url, timeout=30) as web:
                web.get("/user/login/").raise_for_status()
                csrf = web.cookies["csrftoken"]
                login = web.post(
                    "/user/login/",
                    data={"csrfmiddlewaretoken": csrf, "email": EMAIL, "password": PASSWORD},
                    headers={"Referer": self.url + "/user/login/"},
                )
                if login.status_code != 302:
                    raise RuntimeError(f"Label Studio login failed: HTTP {login.status_code}")
                headers = {"X-CSRFToken": web.cookies.get("csrftoken") or csrf, "Referer": self.url + "/"}
                answer = web.post("/api/token/", headers=headers)
                if answer.status_code == 409:
                    answer = web.post("/api/token/rotate/", headers=headers)
                answer.raise_for_status()
                self._pat = answer.json()["token"]
        return self._pat

    def stop(self, *, remove: bool = True) -> None:
        """SIGTERM the server (its process group), SIGKILL after 10 s; remove the data dir."""
        _terminate(self.process)
        if remove:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the test process dies (even killed)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _launch(binary: Path, data_dir: Path, port: int) -> tuple[subprocess.Popen, Path]:
    log_path = data_dir / "labelsync-server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
                "--username", EMAIL, "--password", PASSWORD, "--user-token", LEGACY_TOKEN,
            ],
            env=_environment(data_dir),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # safe: the child only calls prctl before exec
        )
    return process, log_path


def _wait_healthy(process: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"label-studio exited with {process.returncode} while starting:\n{tail}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    _terminate(process)
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"label-studio did not answer /health within {timeout:.0f} s:\n{tail}")


def _template_dir(binary: Path) -> Path:
    stat = binary.resolve().stat()
    key = hashlib.sha256(f"{binary.resolve()}:{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"labelsync-labelstudio-template-{os.getuid()}-{key}"


def _ensure_template(binary: Path) -> tuple[Path, bool]:
    """The migrated data-dir template (built once per binary, under a file lock); True if built now."""
    template = _template_dir(binary)
    lock_path = template.with_name(template.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (template / "label_studio.sqlite3").is_file():
            return template, False
        building = Path(tempfile.mkdtemp(prefix=template.name + ".building-", dir=template.parent))
        try:
            port = free_port()
            process, log_path = _launch(binary, building, port)
            try:
                _wait_healthy(process, f"http://127.0.0.1:{port}", log_path, START_TIMEOUT)
            finally:
                _terminate(process)
            log_path.unlink(missing_ok=True)
            os.rename(building, template)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return template, True


def start(binary: Path | None = None, *, attempts: int = 3) -> Server:
    """Start a Label Studio on a copy of the migrated template; see the module docstring."""
    binary = binary or find_binary()
    began = time.monotonic()
    template, built = _ensure_template(binary)
    last: Exception | None = None
    for _ in range(attempts):
        data_dir = Path(tempfile.mkdtemp(prefix="labelsync-labelstudio-"))
        shutil.copytree(template, data_dir, dirs_exist_ok=True, symlinks=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process, log_path = _launch(binary, data_dir, port)
        try:
            _wait_healthy(process, url, log_path, START_TIMEOUT)
        except RuntimeError as exc:  # e.g. the port was taken in between: try another one
            _terminate(process)
            shutil.rmtree(data_dir, ignore_errors=True)
            last = exc
            continue
        return Server(url, data_dir, process, log_path, time.monotonic() - began, not built)
    raise RuntimeError(f"label-studio could not be started: {last}")




def required(env: dict[str, str] | None = None) -> bool:
    """True when ``$LABELSYNC_REQUIRE`` (comma-separated) names ``labelstudio`` (CI sets it);
    ``env`` defaults to :data:`STARTUP_ENV`."""
    env = STARTUP_ENV if env is None else env
    return "labelstudio" in {part.strip() for part in env.get(REQUIRE_ENV, "").split(",")}


def binary_or_skip(env: dict[str, str]) -> Path:
    """The binary; otherwise skip the test with the install hint, or fail it when required."""
    import pytest

    try:
        return find_binary(env)
    except LabelStudioMissing as exc:
        if required(env):
            pytest.fail(f"{REQUIRE_ENV}=labelstudio but {exc}", pytrace=False)
        pytest.skip(str(exc))
