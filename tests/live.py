"""Running the real ``civicpulse`` command and server for tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "civicpulse"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    # league tables are cached a minute in production; tests check them right after acting
    env["CIVICPULSE_PUBLIC_AGGREGATE_CACHE_SECONDS"] = "0"
    # tests repeat the same words and expect separate cases (see the settings fixture)
    env["CIVICPULSE_MATCH_AUTO_MERGE"] = "false"
    env.update(CIVICPULSE_DATABASE_URL=db_url, CIVICPULSE_DATA_DIR=str(data_dir), **extra)
    return env


def run_cli(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=300, input=input
    )


def wait_until_serving(base: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``/healthz`` until the server answers; fail with its output if it exits first."""
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited early: {out}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start in {seconds:g} s")
        time.sleep(0.2)


@contextmanager
def live_server(env: dict[str, str], *args: str) -> Iterator[str]:
    """Start ``civicpulse serve`` on a free port; yields its base URL; stops it after."""
    with live_server_process(env, *args) as (base, _):
        yield base


@contextmanager
def live_server_process(
    env: dict[str, str], *args: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like ``live_server``, also yielding the process (for tests that kill it)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, seconds=30)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
