"""Accepted input is never lost: every voice answered 201 is stored, even if the server is
killed with SIGKILL a moment later (group commit answers only after the commit)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, select

from civicpulse.storage.tables import Voice
from tests.city import CATALOGUE
from tests.live import cli_env, live_server_process, run_cli


def test_acknowledged_voices_survive_sigkill(db_url: str, tmp_path: Path) -> None:
    env = cli_env(db_url, tmp_path / "data", CIVICPULSE_RUN_JOBS_IN_PROCESS="false")
    cat_file = tmp_path / "catalogue.yaml"
    cat_file.write_text(yaml.safe_dump(CATALOGUE, allow_unicode=True), encoding="utf-8")
    assert run_cli(env, "categories", "import", str(cat_file)).returncode == 0
    key = run_cli(env, "keys", "add", "load").stdout.strip()
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=5) as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = http.post(
                        f"{base}/api/v1/voices",
                        headers={"X-API-Key": key},
                        json={"text": f"client {n} report {i}", "category": "pothole"},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 201:
                    with lock:
                        acknowledged.append(r.json()["voice_id"])

    with live_server_process(env) as (base, proc):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        while True:
            with lock:
                if len(acknowledged) >= 150:
                    break
            assert all(t.is_alive() for t in threads), "a client stopped early"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # uvicorn with one worker serves in-process
        stop.set()
        for t in threads:
            t.join(timeout=10)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = set(conn.scalars(select(Voice.id)))
    engine.dispose()
    assert len(acknowledged) >= 150
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged voices were lost"
