"""Run the ``labelsync`` CLI as a subprocess, streaming its output scrubbed of secrets.

The action runs the very command a user would type (``python -m labelsync ...``), so its
exit codes, messages and files are the CLI's own. Each line the child prints is scrubbed
before it is echoed; stdout is also kept (for ``--format json``) and the last lines of
both streams are kept for the failure comment.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TAIL_LINES = 40
PROGRAM = (sys.executable, "-m", "labelsync")


@dataclass(frozen=True)
class Completed:
    """A finished CLI run: its exit code, its whole stdout and the tail of its log (both
    streams, interleaved as read), all already scrubbed."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    log_tail: str


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    scrub: Callable[[str], str],
    echo: bool = True,
    program: Sequence[str] = PROGRAM,
) -> Completed:
    """Run ``labelsync <args>`` (``program`` + ``args``) in ``cwd`` and wait for it.

    With ``echo`` the child's stdout and stderr lines are written (scrubbed) to ours as
    they arrive. A child that cannot be started is reported as exit code 1 with the reason
    in ``log_tail``.
    """
    argv = (*program, *args)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    lock = threading.Lock()
    try:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        return Completed(argv, 1, "", f"cannot run labelsync: {exc}")
    assert child.stdout is not None and child.stderr is not None

    def pump(stream: IO[str], sink: IO[str], keep: list[str] | None) -> None:
        for raw in stream:
            line = scrub(raw)
            if keep is not None:
                keep.append(line)
            with lock:
                tail.append(line.rstrip("\n"))
                if echo:
                    sink.write(line)
                    sink.flush()

    out: list[str] = []
    err_thread = threading.Thread(target=pump, args=(child.stderr, sys.stderr, None), daemon=True)
    err_thread.start()
    pump(child.stdout, sys.stdout, out)
    err_thread.join()
    code = child.wait()
    return Completed(argv, code, "".join(out), "\n".join(tail))
