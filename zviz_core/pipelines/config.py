"""Run configuration: the YAML file and `with_options` arguments, validated with pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from zviz_core.errors import ConfigError


class StepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enable_artifact_visualization: bool | None = None
    parameters: dict[str, Any] = {}


class RunConfig(BaseModel):
    """What a YAML run configuration may say; unknown keys are refused with their name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enable_artifact_visualization: bool | None = None
    enable_cache: bool | None = None  # accepted for ZenML files; zviz always runs every step
    run_name: str | None = None
    parameters: dict[str, Any] = {}
    steps: dict[str, StepConfig] = {}

    def merged(self, other: RunConfig) -> RunConfig:
        """This config with every value `other` sets laid over it."""
        data = self.model_dump(exclude_unset=True)
        for key, value in other.model_dump(exclude_unset=True).items():
            if key == "parameters":
                data["parameters"] = {**data.get("parameters", {}), **value}
            elif key == "steps":
                steps = dict(data.get("steps", {}))
                for name, cfg in value.items():
                    steps[name] = {**steps.get(name, {}), **cfg}
                data["steps"] = steps
            else:
                data[key] = value
        return RunConfig.model_validate(data)


def _validation_message(exc: ValidationError, source: str) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        what = "is not a known setting" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"{where} {what}")
    return f"{source}: " + "; ".join(problems) + "."


def load_config(path: str | Path) -> RunConfig:
    """Read a YAML run configuration; raises ConfigError saying what is wrong and where."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the run configuration {path}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, not {type(data).__name__}.")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, str(path))) from exc


def from_options(**options: Any) -> RunConfig:
    """A RunConfig from keyword options; raises ConfigError for an unknown or bad option."""
    try:
        return RunConfig.model_validate({k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, "with_options")) from exc
