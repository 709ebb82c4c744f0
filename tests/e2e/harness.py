"""Runs the real `aigateway` command as a subprocess, as an operator would."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGATEWAY_")}
    env["AIGATEWAY_DATA_DIR"] = str(workdir / "data")
    env.update(extra or {})
    return env


def run_cli(
    args: list[str], workdir: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aigateway", *args],
        cwd=workdir,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Gateway:
    """`with Gateway(workdir, env) as gw:` starts `aigateway serve` and waits for /health."""

    def __init__(self, workdir: Path, env: Mapping[str, str], *, port: int | None = None) -> None:
        self.workdir = workdir
        self.env = dict(env)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.admin_key: str | None = self.env.get("AIGATEWAY_ADMIN_KEY")

    def __enter__(self) -> Gateway:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aigateway", "serve", "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"gateway did not become healthy:\n{self.output()}")
        if self.admin_key is None:
            match = re.search(r"^\s+(adm_\S+)\s*$", self.output(), re.MULTILINE)
            self.admin_key = match.group(1) if match else None
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.terminate()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def __exit__(self, *_: object) -> None:
        self.stop()

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )

    def setup_pool(self, upstream_base_url: str, keys: list[str], models: list[str]) -> str:
        """Point `openai` at the fake upstream with one account per key; return a client key."""
        with self.admin() as admin:
            update = {"base_url": upstream_base_url, "models": models}
            admin.patch("/providers/openai", json=update).raise_for_status()
            for index, key in enumerate(keys):
                body: dict[str, Any] = {
                    "provider_id": "openai",
                    "label": f"account {index}",
                    "auth_data": {"api_key": key},
                    "is_active": True,
                }
                admin.post("/accounts", json=body).raise_for_status()
            created = admin.post("/api-keys", json={"label": "e2e"})
            created.raise_for_status()
            return str(created.json()["key"])
