"""@step and @pipeline: running, output naming, failures, and configuration (with_options, YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from tests.core.helpers import last_json_line, run_python
from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus, VisualizationType
from zviz_core.errors import ConfigError, ZvizError
from zviz_core.models import PipelineRunResponse
from zviz_core.types import HTMLString

# -- steps and pipelines at module level ---------------------------------------------------------


@step
def make_number() -> int:
    return 41


@step
def add_one(x: int) -> Annotated[int, "answer"]:
    return x + 1


@step
def describe(x: int) -> HTMLString:
    return HTMLString(f"<p>{x}</p>")


@pipeline
def arithmetic() -> None:
    describe(add_one(make_number()))


def test_module_level_pipeline_runs_and_returns_the_run(client: Client) -> None:
    run = arithmetic()
    assert isinstance(run, PipelineRunResponse)
    assert run.status == ExecutionStatus.COMPLETED == "completed"
    assert run.pipeline.name == "arithmetic"
    assert list(run.steps) == ["make_number", "add_one", "describe"]
    assert run.steps["make_number"].output.load() == 41
    assert run.steps["add_one"].outputs["answer"][0].load() == 42
    report = run.steps["describe"].output
    assert report.load() == "<p>42</p>"
    assert isinstance(report.load(), HTMLString)
    # The step took the upstream artifact as input.
    assert run.steps["add_one"].inputs["x"].id == run.steps["make_number"].output.id


def test_run_attributes_and_client_lookups(client: Client) -> None:
    run = arithmetic()
    assert client.get_pipeline_run(run.id).id == run.id
    assert client.get_pipeline_run(run.name).id == run.id
    assert client.get_pipeline_run(str(run.id)).name == run.name
    pipe = client.get_pipeline("arithmetic")
    assert pipe.id == run.pipeline.id and pipe.name == run.pipeline.name
    assert client.get_pipeline(pipe.id).name == "arithmetic"
    assert [p.name for p in client.list_pipelines().items] == ["arithmetic"]
    snapshot = run.snapshot()
    assert snapshot.id == run.snapshot_id
    assert snapshot.pipeline_id == pipe.id
    assert client.get_snapshot(snapshot.id).id == snapshot.id
    assert run.start_time <= run.end_time
    assert run.error is None
    page = client.list_pipeline_runs()
    assert page.total == 1 and [r.id for r in page.items] == [run.id]
    av = run.steps["describe"].output
    assert client.get_artifact_version(av.id).id == av.id
    assert av.version == 1 and isinstance(av.name, str)
    assert [v.type for v in av.visualizations] == [VisualizationType.HTML]
    assert av.visualizations[0].uri.endswith(".html")


def test_each_run_adds_a_version_and_runs_are_listed_newest_first(client: Client) -> None:
    first, second, third = arithmetic(), arithmetic(), arithmetic()
    assert len({first.name, second.name, third.name}) == 3
    page = client.list_pipeline_runs(size=2)
    assert page.total == 3
    assert [r.id for r in page.items] == [third.id, second.id]
    assert [r.id for r in client.list_pipeline_runs(size=2, page=2).items] == [first.id]
    versions = [r.steps["add_one"].outputs["answer"][0].version for r in (first, second, third)]
    assert versions == [1, 2, 3]
    # All three runs executed the same configuration, so they share one snapshot.
    assert first.snapshot_id == second.snapshot_id == third.snapshot_id


def test_missing_run_raises_keyerror(client: Client) -> None:
    with pytest.raises(KeyError):
        client.get_pipeline_run("no-such-run")
    with pytest.raises(KeyError):
        client.get_pipeline_run("6f1c2a59-0d8f-4a43-9a4c-3d7bb2b3f1a0")


# -- output naming -------------------------------------------------------------------------------


def test_output_names(client: Client) -> None:
    @step
    def untyped():
        return 1

    @step
    def typed() -> int:
        return 2

    @step
    def named() -> Annotated[int, "accuracy"]:
        return 3

    @step
    def untyped_tuple():
        return 1, "two"

    @step
    def typed_tuple() -> tuple[int, str]:
        return 1, "two"

    @step
    def named_tuple() -> tuple[Annotated[int, "count"], Annotated[str, "label"]]:
        return 1, "two"

    @step
    def nothing() -> None:
        return None

    @pipeline
    def naming() -> None:
        untyped()
        typed()
        named()
        untyped_tuple()
        typed_tuple()
        named_tuple()
        nothing()

    run = naming()
    outputs = {name: list(s.outputs) for name, s in run.steps.items()}
    assert outputs == {
        "untyped": ["output"],
        "typed": ["output"],
        "named": ["accuracy"],
        "untyped_tuple": ["output_0", "output_1"],
        "typed_tuple": ["output_0", "output_1"],
        "named_tuple": ["count", "label"],
        "nothing": [],
    }
    assert run.steps["typed"].output.load() == 2
    assert run.steps["named"].outputs["accuracy"][0].name == "accuracy"
    assert run.steps["named"].output.load() == 3
    tup = run.steps["typed_tuple"]
    assert [tup.outputs[n][0].load() for n in ("output_0", "output_1")] == [1, "two"]
    with pytest.raises(ValueError, match="output_0"):
        _ = tup.output


def test_tuple_outputs_flow_to_the_steps_that_take_them(client: Client) -> None:
    @step
    def split() -> tuple[int, int]:
        return 3, 4

    @step
    def multiply(a: int, b: int) -> int:
        return a * b

    @pipeline
    def flow() -> None:
        a, b = split()
        multiply(a, b)

    run = flow()
    assert run.steps["multiply"].output.load() == 12
    inputs = run.steps["multiply"].inputs
    assert inputs["a"].id == run.steps["split"].outputs["output_0"][0].id
    assert inputs["b"].id == run.steps["split"].outputs["output_1"][0].id


def test_decorators_with_arguments_and_pipeline_parameters(client: Client) -> None:
    @step(name="scaled")
    def scale(x: int, factor: int = 2) -> int:
        return x * factor

    @pipeline(name="parametrised")
    def parametrised(x: int) -> None:
        scale(x)
        scale(x, factor=10)

    run = parametrised(5)
    assert run.pipeline.name == "parametrised"
    assert list(run.steps) == ["scaled", "scaled_2"]
    assert run.steps["scaled"].output.load() == 10
    assert run.steps["scaled_2"].output.load() == 50
    assert run.snapshot().config["parameters"] == {"x": 5}


def test_a_step_outside_a_pipeline_is_a_plain_function(client: Client) -> None:
    assert add_one(1) == 2
    assert client.list_pipeline_runs().total == 0


# -- failures ------------------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


def test_failing_step_marks_the_run_failed_and_reraises_the_original(client: Client) -> None:
    raised: list[BaseException] = []

    @step
    def explode(x: int) -> int:
        err = Boom(f"exploded on {x}")
        raised.append(err)
        raise err

    @step
    def never(y: int) -> int:
        raise AssertionError("must not run")

    @pipeline
    def fragile() -> None:
        never(explode(make_number()))

    with pytest.raises(Boom) as info:
        fragile()
    assert info.value is raised[0]

    page = client.list_pipeline_runs()
    assert page.total == 1
    run = client.get_pipeline_run(page.items[0].id)
    assert run.status == ExecutionStatus.FAILED
    assert run.end_time is not None
    assert "exploded on 41" in run.error and "explode" in run.error
    assert list(run.steps) == ["make_number", "explode"]
    assert run.steps["make_number"].status == ExecutionStatus.COMPLETED
    assert run.steps["make_number"].output.load() == 41
    failed = run.steps["explode"]
    assert failed.status == ExecutionStatus.FAILED
    assert "Boom" in failed.error and "exploded on 41" in failed.error
    assert failed.outputs == {}
    assert client.list_pipeline_runs(status="failed").total == 1
    assert client.list_pipeline_runs(status="completed").total == 0


def test_error_in_the_pipeline_body_also_fails_the_run(client: Client) -> None:
    @pipeline
    def bad_body() -> None:
        make_number()
        raise KeyError("missing thing")

    with pytest.raises(KeyError, match="missing thing"):
        bad_body()
    run = client.list_pipeline_runs().items[0]
    assert run.status == ExecutionStatus.FAILED
    assert "missing thing" in run.error


def test_a_failed_run_does_not_break_the_next_one(client: Client) -> None:
    @step
    def flaky(fail: bool) -> int:
        if fail:
            raise ValueError("no")
        return 1

    @pipeline
    def sometimes(fail: bool) -> None:
        flaky(fail)

    with pytest.raises(ValueError):
        sometimes(True)
    run = sometimes(False)
    assert run.status == ExecutionStatus.COMPLETED
    assert [r.status for r in client.list_pipeline_runs().items] == ["completed", "failed"]


# -- steps defined in a script run with `python -c` -------------------------------------------


def test_steps_defined_in_a_python_c_script(client: Client, zviz_home: Path) -> None:
    proc = run_python(
        """
        import json
        from typing import Annotated
        from zviz_core import pipeline, step
        from zviz_core.types import HTMLString, MarkdownString

        @step
        def load() -> Annotated[list, "rows"]:
            return [1, 2, 3]

        @step
        def summarise(rows: list) -> tuple[HTMLString, MarkdownString]:
            return HTMLString(f"<b>{sum(rows)}</b>"), MarkdownString(f"# {len(rows)} rows")

        @pipeline
        def scripted():
            summarise(load())

        run = scripted()
        print(json.dumps({"id": str(run.id), "status": run.status.value,
                          "outputs": list(run.steps["summarise"].outputs)}))
        """,
        zviz_home,
    )
    result = last_json_line(proc.stdout)
    assert result["status"] == "completed"
    assert result["outputs"] == ["output_0", "output_1"]
    run = client.get_pipeline_run(result["id"])
    assert run.pipeline.name == "scripted"
    assert run.steps["load"].outputs["rows"][0].load() == [1, 2, 3]
    html, md = (run.steps["summarise"].outputs[n][0] for n in ("output_0", "output_1"))
    assert client.load_visualization(html.visualizations[0].id).value == "<b>6</b>"
    assert client.load_visualization(md.visualizations[0].id).value == "# 3 rows"


def test_failing_step_in_a_script_exits_with_the_original_traceback(
    client: Client, zviz_home: Path
) -> None:
    proc = run_python(
        """
        from zviz_core import pipeline, step

        @step
        def broken() -> int:
            raise ZeroDivisionError("divided by nothing")

        @pipeline
        def doomed():
            broken()

        doomed()
        """,
        zviz_home,
        check=False,
    )
    assert proc.returncode == 1
    assert "ZeroDivisionError: divided by nothing" in proc.stderr
    run = client.list_pipeline_runs().items[0]
    assert run.status == ExecutionStatus.FAILED
    assert "divided by nothing" in run.error


# -- enable_artifact_visualization: with_options and YAML ------------------------------------


def _visualized(run: PipelineRunResponse) -> dict[str, bool]:
    return {name: bool(s.output.visualizations) for name, s in run.steps.items()}


def _make(step_flag: bool | None, pipeline_flag: bool | None):
    @step(enable_artifact_visualization=step_flag)
    def first() -> int:
        return 1

    @step
    def second() -> int:
        return 2

    @pipeline(enable_artifact_visualization=pipeline_flag)
    def configured() -> None:
        first()
        second()

    return configured


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# Each case: step decorator, pipeline decorator, with_options value, YAML text -> expected
# visualization of `first` and `second`. ZenML's rule: the step's own setting (per-step YAML over
# its decorator) wins whenever it is set; else the pipeline's (run level: top-level YAML or
# with_options, over its decorator); else on. tests/core/test_zenml_compat.py runs the matrix.
PRECEDENCE = {
    "default is on": (None, None, None, None, (True, True)),
    "pipeline decorator off": (None, False, None, None, (False, False)),
    "step decorator beats pipeline": (True, False, None, None, (True, False)),
    "step decorator off": (False, True, None, None, (False, True)),
    "step decorator beats run-level with_options": (False, None, True, None, (False, True)),
    "with_options beats pipeline": (None, True, False, None, (False, False)),
    "yaml top level beats the pipeline decorator, not the step's": (
        True,
        True,
        None,
        "enable_artifact_visualization: false\n",
        (True, False),
    ),
    "per-step yaml beats top level": (
        None,
        None,
        None,
        "enable_artifact_visualization: false\nsteps:\n  first:\n    enable_artifact_visualization: true\n",
        (True, False),
    ),
    "per-step yaml beats with_options": (
        None,
        None,
        True,
        "steps:\n  second:\n    enable_artifact_visualization: false\n",
        (True, False),
    ),
    "per-step yaml beats step decorator": (
        True,
        True,
        None,
        "steps:\n  first:\n    enable_artifact_visualization: false\n",
        (False, True),
    ),
}


@pytest.mark.parametrize("case", sorted(PRECEDENCE))
def test_enable_artifact_visualization_precedence(
    case: str, client: Client, tmp_path: Path
) -> None:
    step_flag, pipeline_flag, option, yaml_text, expected = PRECEDENCE[case]
    configured = _make(step_flag, pipeline_flag)
    kwargs: dict = {}
    if option is not None:
        kwargs["enable_artifact_visualization"] = option
    if yaml_text is not None:
        kwargs["config_path"] = _yaml(tmp_path, yaml_text)
    if kwargs:
        configured = configured.with_options(**kwargs)
    run = configured()
    assert _visualized(run) == {"first": expected[0], "second": expected[1]}
    # The step records what it resolved, and the artifact is stored either way.
    assert run.steps["first"].config["enable_artifact_visualization"] is expected[0]
    assert run.steps["first"].output.load() == 1


def test_with_options_returns_a_copy(client: Client) -> None:
    configured = _make(None, None)
    quiet = configured.with_options(enable_artifact_visualization=False)
    assert _visualized(quiet()) == {"first": False, "second": False}
    assert _visualized(configured()) == {"first": True, "second": True}
    assert quiet().snapshot().config["enable_artifact_visualization"] is False


def test_yaml_parameters_and_run_name(client: Client, tmp_path: Path) -> None:
    @step
    def times(x: int, factor: int = 1) -> int:
        return x * factor

    @pipeline
    def param_pipeline(x: int = 1) -> None:
        times(x)

    path = _yaml(
        tmp_path,
        "run_name: nightly_{date}\nparameters:\n  x: 7\nsteps:\n  times:\n    parameters:\n      factor: 3\n",
    )
    run = param_pipeline.with_options(config_path=str(path))()
    assert run.steps["times"].output.load() == 21
    assert run.name.startswith("nightly_")
    assert "{date}" not in run.name


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("enable_artifact_visualisation: false\n", "enable_artifact_visualisation"),
        ("steps:\n  first:\n    colour: red\n", "steps.first.colour"),
    ],
)
def test_unknown_yaml_key_is_a_clear_config_error(
    text: str, named: str, client: Client, tmp_path: Path
) -> None:
    path = _yaml(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        _make(None, None).with_options(config_path=path)
    message = str(info.value)
    assert named in message
    assert "not a known setting" in message
    assert str(path) in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, ZvizError)
    assert client.list_pipeline_runs().total == 0


def test_bad_config_files_and_options_are_config_errors(client: Client, tmp_path: Path) -> None:
    configured = _make(None, None)
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        configured.with_options(config_path=tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        configured.with_options(config_path=_yaml(tmp_path, "steps: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping"):
        configured.with_options(config_path=_yaml(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="enable_artifact_visualization"):
        configured.with_options(
            config_path=_yaml(tmp_path, "enable_artifact_visualization: maybe-later\n")
        )
    with pytest.raises(ConfigError, match="colour"):
        configured.with_options(colour="red")


def test_automatic_run_names_are_short_and_counted_per_pipeline(client: Client) -> None:
    first, second = arithmetic(), arithmetic()
    assert (first.name, first.run_number) == ("arithmetic #1", 1)
    assert (second.name, second.run_number) == ("arithmetic #2", 2)
    named = arithmetic.with_options(run_name="nightly_{date}")()
    assert named.name.startswith("nightly_") and named.run_number == 3
    fourth = arithmetic()
    assert fourth.name == "arithmetic #4"
    client.delete_pipeline_run(fourth.id)
    assert arithmetic().name == "arithmetic #5"  # a deleted run's number is not given again
    assert client.get_pipeline_run("arithmetic #2").id == second.id  # names open runs
    assert client.get_pipeline_run(second.id).run_number == 2
