"""The container, checked without a Docker engine: the Dockerfile lints clean, the compose file validates, and
the runtime installed exactly as the Dockerfile installs it (wheels built, then installed offline into a fresh
environment) serves with the Dockerfile's environment and command."""

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.conftest import COURSE_RUN
from tests.live import ROOT, answers_healthz, free_port

pytestmark = pytest.mark.container

DOCKERFILE = ROOT / "Dockerfile"


def instructions(stage: str) -> list[tuple[str, str]]:
    """(instruction, arguments) of one build stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    current, found = None, []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip()
        elif current == stage:
            found.append((word.upper(), rest))
    return found


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    done = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_runtime_stage_is_hardened() -> None:
    runtime = dict(instructions("runtime"))
    assert runtime["USER"] not in ("root", "0")
    assert json.loads(runtime["CMD"]) == ["python", "-m", "service"]  # exec form: SIGTERM reaches the server
    assert "python" in runtime["HEALTHCHECK"]
    assert "curl" not in runtime["HEALTHCHECK"]
    assert json.loads(runtime["VOLUME"]) == ["/data"]


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (.ci/run installs Debian's docker-compose)",
)
def test_compose_file_validates() -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_runtime_installed_as_the_dockerfile_does_serves(tmp_path: Path) -> None:
    build, runtime = instructions("build"), instructions("runtime")
    wheel_command = next(arguments for word, arguments in build if word == "RUN" and "pip wheel" in arguments)
    install_command = next(arguments for word, arguments in runtime if word == "RUN" and "pip install" in arguments)
    requirement = next(part for part in install_command.split() if part.startswith("descent=="))
    assert "--no-cache-dir --wheel-dir /wheels ." in wheel_command  # what the next lines do, outside a container
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
        timeout=900,
    )
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", f"--find-links={wheels}", requirement],
        check=True,
        timeout=600,
    )
    env_line = next(arguments for word, arguments in runtime if word == "ENV")
    settings = dict(re.findall(r"(\w+)=(\S+)", env_line))
    port = free_port()
    settings.update(
        DESCENT_PORT=str(port), DESCENT_HOST="127.0.0.1", DESCENT_STORE_PATH=str(tmp_path / "data" / "descent.sqlite3")
    )
    command = json.loads(dict(runtime)["CMD"])
    home = tmp_path / "home"
    home.mkdir()
    settings = {name: value.replace("/home/descent", str(home)) for name, value in settings.items()}
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DESCENT_", "PYTHON", "NUMBA"))}
    # the image's build step that fills Numba's cache with the compiled kernels, as the image's user
    warm = next(arguments for word, arguments in runtime if word == "RUN" and "service.engine.kernels" in arguments)
    assert warm.split()[:2] == ["python", "-m"]
    subprocess.run([str(python), *warm.split()[1:]], cwd=home, env={**clean, **settings}, check=True, timeout=900)
    assert any(Path(settings["NUMBA_CACHE_DIR"]).rglob("*.nbi")), "the warm-up cached no kernel"
    server = subprocess.Popen(
        [str(environment / "bin" / command[0]), *command[1:]],
        cwd=home,
        env={**clean, **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert answers_healthz(url, 60), "the installed server did not answer /healthz"
        run = httpx.post(f"{url}/v1/runs", json=COURSE_RUN, timeout=60)
        assert run.status_code == 201
        assert run.json()["summary"]["verdict"] == "converged"
        # the dashboard ships inside the package: its page, its modules and the vendored uPlot
        for path, kind in (
            ("/", "text/html"),
            ("/static/app.js", "javascript"),
            ("/static/vendor/uplot/uPlot.esm.js", "javascript"),
        ):
            page = httpx.get(f"{url}{path}", timeout=10)
            assert page.status_code == 200, path
            assert kind in page.headers["content-type"], path
        assert (
            "site-packages"
            in subprocess.run(
                [str(python), "-c", "import service; print(service.__file__)"],
                capture_output=True,
                text=True,
                check=True,
                cwd=home,
            ).stdout
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
