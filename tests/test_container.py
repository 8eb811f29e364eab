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
import yaml

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
@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "docker-compose.scale.yml"])
def test_compose_file_validates(compose_file: str) -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(ROOT / compose_file), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_the_scaled_deployment_is_postgresql_three_replicas_an_sse_ready_balancer_and_dask() -> None:
    """What an operator checks in `docker-compose.scale.yml` before running it."""
    services = yaml.safe_load((ROOT / "docker-compose.scale.yml").read_text("utf-8"))["services"]
    replicas = {name: service for name, service in services.items() if name.startswith("descent-")}
    assert len(replicas) == 3
    for replica in replicas.values():
        environment = replica["environment"]
        assert environment["DESCENT_STORE_URL"].startswith("postgresql://descent:descent@postgres:5432/")
        assert environment["DESCENT_DASK_SCHEDULER"] == "tcp://dask-scheduler:8786"
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "ports" not in replica  # reached only through the balancer
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert services["lb"]["ports"] == ["8000:80"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["lb"]["volumes"]
    assert {f"server {name}:8000" in nginx for name in replicas} == {True}
    assert "proxy_buffering off;" in nginx
    timeout = re.search(r"proxy_read_timeout (\d+)s;", nginx)
    assert timeout is not None
    assert int(timeout.group(1)) >= 600  # far longer than the 15 s between pings of a quiet stream
    workers = [service for name, service in services.items() if name.startswith("dask-worker")]
    assert len(workers) == 2
    for dask in [services["dask-scheduler"], *workers]:
        assert dask["image"] == replicas["descent-1"]["image"]  # the project's image: workers import the engine
    assert services["dask-scheduler"]["command"][:2] == ["dask", "scheduler"]
    assert {tuple(worker["command"][:3]) for worker in workers} == {("dask", "worker", "tcp://dask-scheduler:8786")}


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
    # the image's build steps that fill Numba's cache with the compiled kernels and CSV writer, as the image's user
    warm = next(arguments for word, arguments in runtime if word == "RUN" and "service.engine.kernels" in arguments)
    warm_commands = [part.split() for part in warm.split("&&")]
    assert [part[:3] for part in warm_commands] == [
        ["python", "-m", "service.engine.kernels"],
        ["python", "-m", "service.csv_kernel"],
    ]
    for part in warm_commands:
        subprocess.run([str(python), *part[1:]], cwd=home, env={**clean, **settings}, check=True, timeout=900)
    cached = [path.parent.name for path in Path(settings["NUMBA_CACHE_DIR"]).rglob("*.nbi")]
    assert any(folder.startswith("kernels_") for folder in cached), "the warm-up cached no kernel"
    assert any(folder.startswith("csv_kernel_") for folder in cached), "the warm-up cached no CSV writer"
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
        # the dashboard ships inside the package: its page, its modules, the vendored uPlot, Swagger UI and ReDoc
        for path, kind in (
            ("/", "text/html"),
            ("/static/app.js", "javascript"),
            ("/static/vendor/uplot/uPlot.esm.js", "javascript"),
            ("/docs", "text/html"),
            ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "javascript"),
            ("/static/vendor/redoc/redoc.standalone.js", "javascript"),
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
