"""`/v1/runs/{id}/code`: the run as a runnable program in TF1, Keras 3, PyTorch or Optax (`service.codegen`)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from service.api.deps import LifecycleDep
from service.api.problems import problem_responses
from service.codegen import program

router = APIRouter(prefix="/v1/runs", tags=["runs"])
Library = Literal["tf1", "keras", "torch", "optax"]


@router.get(
    "/{run_id}/code",
    summary="The run as a Python program in TF1, Keras, PyTorch or Optax",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/x-python": {"schema": {"type": "string"}}},
            "description": "A short, runnable program in the library's own idiom that reproduces the run's spec and "
            "prints its trace as CSV, with the columns of the run's CSV download.",
        },
        **problem_responses(
            404,
            422,
            _404="No run has this id.",
            _422="The run names a kind that the library has no counterpart of (an optimizer of another library, "
            "`torch.OneCycleLR` in Keras, ...); `errors` locates it in the run's spec and says which library to "
            "ask for.",
        ),
    },
)
async def run_code(
    run_id: Annotated[str, Path(description="The run's id, as returned by `POST /v1/runs`.")],
    lifecycle: LifecycleDep,
    library: Annotated[Library, Query(description="The library the program is written in.")],
) -> PlainTextResponse:
    """The program a user of `library` would write for this run: TF1 graph mode with `minimize(global_step=)`,
    Keras `apply_gradients`, torch `opt.step(); sched.step()`, Optax `update`/`apply_updates`. A schedule of
    another library is written as its counterpart there (the program's docstring says so)."""
    record = await lifecycle.run(run_id)
    text = program(record.spec, library, record.id, record.name)
    disposition = {"Content-Disposition": f'inline; filename="run-{record.id}-{library}.py"'}
    return PlainTextResponse(text, media_type="text/x-python; charset=utf-8", headers=disposition)
