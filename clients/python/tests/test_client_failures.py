"""A run that fails on the server (here: past DESCENT_MAX_RUN_SECONDS) reaches the client as a `RunFailed` event
and a failed run, and the command line exits non-zero saying why."""

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from course_specs import SLOW

from descent_client import Client, RunEnded, RunFailed, RunStarted, Step
from descent_client.cli import main
from tests.live import Server

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def hasty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that gives every run half a second."""
    running = Server(tmp_path_factory.mktemp("hasty") / "runs.sqlite3", DESCENT_MAX_RUN_SECONDS="0.5")
    yield running
    running.stop()


def test_a_failed_run_streams_its_problem_then_its_end(hasty_server: Server) -> None:
    with Client(hasty_server.url) as client:
        events = list(client.stream(SLOW))
        failed = [event for event in events if isinstance(event, RunFailed)]
        assert len(failed) == 1
        assert "DESCENT_MAX_RUN_SECONDS" in failed[0].problem.detail
        end = events[-1]
        assert isinstance(end, RunEnded)
        assert end.status == "failed"
        assert end.error is not None
        rows = [event.step for event in events if isinstance(event, Step)]
        started = events[0]
        assert isinstance(started, RunStarted)
        run = client.get(started.run.id)
        assert run.status == "failed"
        assert rows == run.trace.step.tolist()  # the rows computed before the budget ran out, kept and streamed


def test_the_command_line_exits_non_zero_on_a_failed_run(hasty_server: Server) -> None:
    options = ["--loss", "(w+1)**2", "--w0", "5", "--rate", "1e-6", "--steps", "1000000", "--every", "1000"]
    result = CliRunner().invoke(main, ["run", *options, "--server", hasty_server.url])
    assert result.exit_code == 1
    assert "error: the run failed:" in result.stderr
    assert "DESCENT_MAX_RUN_SECONDS" in result.stderr
    assert "(failed)" in result.stdout  # the rows computed are still shown
