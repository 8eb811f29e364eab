"""`descent` against a real server: the course's listings byte for byte, CSV and JSON as the server's, sweeps,
range tests, progress, and errors that name the field."""

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner, Result
from course_specs import COURSE, DECAY, SEED

from descent_client import Client
from descent_client.cli import main
from tests.live import Server

pytestmark = pytest.mark.live
COURSE_OPTIONS = ["--loss", "(w+1)**2", "--w0", "5", "--steps", "40"]
DECAY_OPTION = "tf1.exponential_decay:learning_rate=0.1,decay_steps=1,decay_rate=0.99,staircase=true"


def descent(server: Server, *arguments: str) -> Result:
    return CliRunner().invoke(main, [*arguments, "--server", server.url], catch_exceptions=False)


def listing(pattern: str) -> str:
    """One of the chapter's printed listings, as the seed text has it (each line and its newline)."""
    lines = [line for line in SEED.read_text("utf-8").splitlines() if re.match(pattern, line)]
    assert len(lines) == 40
    return "".join(line + "\n" for line in lines)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        (["--rate", "0.2"], r"After \d+ steps:w is"),
        (["--schedule", DECAY_OPTION], r"After \d+ steps: global_step is"),
        (["--schedule", json.dumps(DECAY)], r"After \d+ steps: global_step is"),
    ],
    ids=["constant-rate", "exponential-decay", "exponential-decay-as-json"],
)
def test_course_format_prints_the_chapters_listings_byte_for_byte(
    server: Server, options: list[str], pattern: str
) -> None:
    """The installed `descent` console script, as a user runs it; stdout compared byte for byte with the seed."""
    if not SEED.exists():
        pytest.skip(f"{SEED} is not beside this checkout")
    script = Path(sys.executable).with_name("descent")
    command = [str(script), "run", *COURSE_OPTIONS, *options, "--format", "course", "--server", server.url]
    done = subprocess.run(command, capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == listing(pattern).encode("utf-8")


def test_csv_is_the_servers_csv_download(server: Server, client: Client) -> None:
    result = descent(server, "run", *COURSE_OPTIONS, "--schedule", DECAY_OPTION, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    newest = client.runs(limit=1).items[0]
    assert newest.spec["loss"] == {"kind": "expression", "formula": "(w+1)**2"}
    assert newest.spec["schedule"]["kind"] == "tf1.exponential_decay"
    download = httpx.get(f"{server.url}/v1/runs/{newest.id}", headers={"Accept": "text/csv"})
    assert result.stdout == download.text
    assert result.stdout.startswith("step,w,loss,lr,grad\n0,5.0,36.0,0.1,12.0\n1,3.8,23.04,0.099,9.6\n")


def test_get_prints_a_stored_run(server: Server, client: Client) -> None:
    run = client.run(COURSE)
    result = descent(server, "get", run.id, "--format", "csv", "--max-points", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == client.csv(run.id, max_points=3)
    assert result.stdout.splitlines()[1:] == [
        "0,5.0,36.0,0.2,12.0",
        "20,-0.99978065,4.811227e-08,0.2,0.0004386902",
        "40,-0.99999994,3.5527137e-15,0.2,1.1920929e-07",
    ]
    missing = descent(server, "get", "no-such-run")
    assert missing.exit_code == 1
    assert "error: 404 Not Found: There is no run 'no-such-run'" in missing.stderr


def test_json_is_the_servers_run_document(server: Server, client: Client) -> None:
    result = descent(server, "run", *COURSE_OPTIONS, "--rate", "1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == client.document(printed["id"])
    assert printed["summary"]["verdict"] == "oscillating"


def test_table_shows_rows_and_the_verdict(server: Server) -> None:
    result = descent(server, "run", *COURSE_OPTIONS, "--rate", "0.2", "--max-points", "5")
    assert result.exit_code == 0, result.stderr
    rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if line.startswith("│")]
    assert [cell.strip() for cell in rows[1]] == ["10", "-0.96372032", "0.001316215", "0.2", "0.072559357"]
    assert [row[0].strip() for row in rows] == ["0", "10", "20", "30", "40"]
    assert "converged: Converged" in result.stdout


def test_a_spec_file_and_options_combine(server: Server, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**COURSE, "steps": 3}), "utf-8")
    result = descent(
        server, "run", "--spec", str(spec_file), "--optimizer", "torch.SGD:momentum=0.5", "--format", "csv"
    )
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 + 4


def test_progress_bar_for_a_long_run(server: Server) -> None:
    options = ["--loss", "(w+1)**2", "--w0", "5", "--rate", "1e-6", "--steps", "200000", "--every", "100"]
    result = descent(server, "run", *options, "--progress", "--format", "csv", "--max-points", "2")
    assert result.exit_code == 0, result.stderr
    assert "200000/200000 steps" in result.stderr
    assert result.stdout.splitlines()[-1].startswith("200000,")


def test_sweep_prints_each_points_verdict(server: Server, client: Client) -> None:
    axis = "schedule.learning_rate=0.1,0.5,1,1.5"
    result = descent(server, "sweep", *COURSE_OPTIONS, "--rate", "0.2", "--axis", axis, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    points = list(csv.DictReader(io.StringIO(result.stdout)))
    same = client.sweep(
        {
            "base": {**COURSE, "loss": {"kind": "expression", "formula": "(w+1)**2"}},
            "axes": [{"path": "schedule.learning_rate", "values": [0.1, 0.5, 1, 1.5]}],
        }
    )
    assert same.summary is not None
    assert [point["verdict"] for point in points] == same.summary.verdict.tolist()
    assert [float(point["final_loss"]) for point in points] == same.summary.final_loss.tolist()
    assert [point["schedule.learning_rate"] for point in points] == ["0.1", "0.5", "1.0", "1.5"]


def test_sweep_table_shows_the_four_regions(server: Server) -> None:
    axis = "schedule.learning_rate=linspace:0,2,2001"
    options = ["--loss", "quadratic:a=1,b=1,c=0", "--w0", "5", "--steps", "40", "--rate", "0.2", "--axis", axis]
    result = descent(server, "sweep", *options)
    assert result.exit_code == 0, result.stderr
    regions = [line.split("│")[3].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    assert {"slow", "converged", "oscillating", "diverged"} <= set(regions)
    assert "stability" in result.stdout
    assert "agrees with" in result.stdout


def test_lr_find_prints_the_servers_suggestions(server: Server, client: Client) -> None:
    result = descent(server, "lr-find", "--loss", "(w+1)**2", "--w0", "5", "--num-iter", "50")
    assert result.exit_code == 0, result.stderr
    expected = client.lr_finder(
        {"loss": {"kind": "expression", "formula": "(w+1)**2"}, "w0": 5, "optimizer": {"kind": "sgd"}, "num_iter": 50}
    )
    for suggestion in expected.suggestions:
        assert suggestion.lr is not None
        assert re.search(rf"│ {suggestion.name} +│ {suggestion.library} +│ {suggestion.lr:.6g} ", result.stdout)
    curve = descent(server, "lr-find", "--loss", "(w+1)**2", "--w0", "5", "--num-iter", "50", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(curve.stdout)))
    np.testing.assert_array_equal(np.asarray([row["lr"] for row in rows], np.float32), expected.lr)
    np.testing.assert_array_equal(np.asarray([row["smoothed_loss"] for row in rows], float), expected.smoothed_loss)


def test_a_refused_spec_exits_naming_the_field(server: Server) -> None:
    result = descent(server, "run", "--loss", "quadratic:a=[1,2]", "--w0", "1,2,3", "--rate", "0.1", "--steps", "5")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: 422 Invalid request: loss.a: a has 2 values but w0 has 3 dimensions" in result.stderr
    assert "  loss.a (--loss): a has 2 values but w0 has 3 dimensions" in result.stderr


def test_a_sweep_axis_the_server_refuses_names_the_axis(server: Server) -> None:
    result = descent(server, "sweep", *COURSE_OPTIONS, "--rate", "0.2", "--axis", "schedule.momentum=0.1,0.2")
    assert result.exit_code == 1
    assert "axes.0.path (--axis)" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--schedule", "tf1.exponential_decay:learning_rate"], ["'--schedule'", "expected name=value"]),
        (["--rate", "0.1", "--schedule", "0.2"], ["either --rate or --schedule"]),
        ([], ["missing --rate/--schedule"]),
        (["--rate", "0.1", "--optimizer", "{not json"], ["'--optimizer'"]),
    ],
)
def test_a_malformed_option_is_a_usage_error(server: Server, arguments: list[str], words: list[str]) -> None:
    result = descent(server, "run", *COURSE_OPTIONS, *arguments)
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr


def test_an_unreachable_server_says_so() -> None:
    options = [*COURSE_OPTIONS, "--rate", "0.2", "--server", "http://127.0.0.1:9"]
    result = CliRunner().invoke(main, ["run", *options])
    assert result.exit_code == 1
    assert "cannot reach the server at http://127.0.0.1:9" in result.stderr
