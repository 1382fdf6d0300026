"""The image's CMD, run with the image's environment in a fresh folder, tracks the repository an
operator names by URL: ``/readyz`` turns ready and ``/api/status`` shows it, with no command typed
in between. The image cannot be built here (no registry), so the Dockerfile's final stage is read
and its CMD run with the venv's ``sawmill``, the only changes being where /data lives and the port."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps, seed_history
from tests.deploy import Image, option, read_image
from tests.serve import SAWMILL, free_port

def image_environment(image: Image, data: Path) -> dict[str, str]:
    """Exactly the image's ENV, with its volume moved to ``data`` and its venv to this one."""
    (volume,) = image.volumes
    venv_bin, *system = image.env["PATH"].split(":")
    env = {key: str(data) + value[len(volume):] if value == volume or value.startswith(f"{volume}/") else value
           for key, value in image.env.items()}  # fmt: skip
    env["PATH"] = ":".join([str(SAWMILL.parent), *system])
    assert venv_bin not in system and shutil.which("sawmill", path=env["PATH"]) == str(SAWMILL)
    return env


def seeded_bare_repository(path: Path) -> str:
    with RepoBuilder(path, bare=True) as builder:
        seed_history(GitOps(builder))
    return path.as_uri()


def wait_for(check, what: str, server: subprocess.Popen, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}) before {what}:\n{log.read_text()}")
        try:
            if found := check():
                return found
        except httpx.TransportError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}; the server said:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.fixture
def image() -> Image:
    return read_image()


@pytest.fixture
def served(image: Image, tmp_path: Path):
    """The image's CMD serving the seed repository by file:// URL, as ``docker run -e SAWMILL_REPO=...``."""
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = image_environment(image, data)
    env["SAWMILL_REPO"] = seeded_bare_repository(tmp_path / "platform.git")
    served_port = option(image.cmd, "--port")
    cmd = [arg if arg != served_port else str(port) for arg in image.cmd]
    workdir = data / Path(image.workdir).relative_to(image.volumes[0])
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)
    yield server, f"http://127.0.0.1:{port}", env, log, data
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_the_image_cmd_tracks_the_repository_by_url_with_nothing_typed_in_between(served, image) -> None:
    server, url, env, log, data = served
    assert image.cmd[:2] == ["sawmill", "serve"] and option(image.cmd, "--host") == "0.0.0.0"
    assert "SAWMILL_REPO" not in image.env  # the operator names the repository, as a URL

    ready = wait_for(lambda: (r := httpx.get(f"{url}/readyz", timeout=5)).status_code == 200 and r.json(),
                     "/readyz to turn ready", server, log)  # fmt: skip
    assert ready["ready"] is True
    status = wait_for(lambda: (b := httpx.get(f"{url}/api/status", timeout=5).json())["last_scan"] and b,
                      "the first scan", server, log)  # fmt: skip
    assert status["last_scan"]["repository"] == env["SAWMILL_REPO"]
    assert status["summary"]["total"] == 18 and len(status["modules"]) == 18

    # Everything it wrote is in the volume: the store and the repository's mirror.
    assert (data / "sawmill.db").is_file() and any((data / "mirrors").glob("*.git"))

    server.send_signal(signal.SIGTERM)  # what `docker stop` and Kubernetes send
    assert server.wait(timeout=20) is not None


def test_the_healthcheck_passes_against_the_running_server_and_fails_without_one(served, image) -> None:
    server, url, env, log, _ = served
    wait_for(lambda: httpx.get(f"{url}/healthz", timeout=5).status_code == 200, "/healthz", server, log)
    served_at = f"127.0.0.1:{option(image.cmd, '--port')}"
    assert any(served_at in arg for arg in image.healthcheck), f"the HEALTHCHECK does not ask {served_at}"
    port = url.rpartition(":")[2]

    def healthcheck(at: str) -> subprocess.CompletedProcess:
        args = [arg.replace(served_at, at) for arg in image.healthcheck]
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)

    passed = healthcheck(f"127.0.0.1:{port}")
    assert passed.returncode == 0, passed.stderr
    assert healthcheck(f"127.0.0.1:{free_port()}").returncode != 0  # nobody there: unhealthy
