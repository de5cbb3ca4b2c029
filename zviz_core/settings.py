"""zviz's settings: every `ZVIZ_*` environment variable (or Streamlit secret), read and validated
in one place.

`settings()` reads the environment as it is now: tests and scripts that change a variable see the
change on the next call. Building the model costs about 2 ms, so `settings()` keeps the
last few, keyed on the values of zviz's variables (a call costs a few µs), and nothing holds on
to a stale copy.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from zviz_core.errors import ConfigError

log = logging.getLogger("zviz")

PREFIX = "ZVIZ_"
DEFAULT_PROJECT = "default"
DEFAULT_LOCK_TIMEOUT_S = 30.0
DEFAULT_DOWNLOAD_LIMIT_MB = 200
DEFAULT_REFRESH_S = 120.0
_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}


class Settings(BaseSettings):
    """zviz's settings, from `ZVIZ_<FIELD>` environment variables (names upper-cased).

    Each field's description is the README's settings table row
    (tests/core/test_settings.py keeps them equal)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=True,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_default=False,
    )

    HOME: Path | None = Field(
        None, description="the store folder (must be a local, writable folder)"
    )
    STORE_URL: str | None = Field(
        None,
        description="a team store's metadata in PostgreSQL: "
        "`postgresql://user:pass@host:5432/db` (add `?sslmode=require` for managed servers); "
        "unset, the DuckDB file in `ZVIZ_HOME`",
    )
    ARTIFACT_STORE: str | None = Field(
        None,
        description="where artifact files go: a folder or any fsspec URL (`s3://bucket/prefix`); "
        "required with `ZVIZ_STORE_URL`",
    )
    ARTIFACT_STORE_SHARED: bool = Field(
        False,
        description="`1`: a local `ZVIZ_ARTIFACT_STORE` folder is a mount every machine shares "
        "(allowed with `ZVIZ_STORE_URL`)",
    )
    ARTIFACT_STORE_OPTIONS: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="fsspec options for that URL, as a JSON object"
    )
    PROJECT: str = Field(DEFAULT_PROJECT, description="the project new runs go to")
    DEMO: bool | None = Field(
        None,
        description="`0` never seeds the demo; `1` seeds an empty team store too",
    )
    AUTH_CONFIG: Path | None = Field(
        None, description="the YAML file with users, cookie and access rules"
    )
    COOKIE_KEY: SecretStr | None = Field(
        None,
        description="the key that signs login cookies, overriding the config's `cookie.key`",
    )
    LOCK_TIMEOUT: float = Field(
        DEFAULT_LOCK_TIMEOUT_S,
        description="seconds to wait for a lock held by another writer (DuckDB: the file; "
        "PostgreSQL: a row), or for an unreachable PostgreSQL server to come back",
    )
    READ_CACHE: bool = Field(True, description="`0` turns off the per-process read cache")
    DOWNLOAD_LIMIT_MB: float = Field(
        DEFAULT_DOWNLOAD_LIMIT_MB,
        description="the most the app reads into memory for one download or inline preview; "
        "a larger file gets a message instead",
    )
    REFRESH_SECONDS: float = Field(
        DEFAULT_REFRESH_S,
        description="how often an open dashboard with a following tile looks for a new run; "
        "`0` turns it off",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins; values passed in (Streamlit secrets) fill what it leaves unset.
        return env_settings, init_settings

    @model_validator(mode="before")
    @classmethod
    def _strip(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @field_validator("DEMO", "ARTIFACT_STORE_SHARED", "READ_CACHE", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lower() in _OFF:
                return False
            if value.lower() in _ON:
                return True
            raise ValueError("must be 1 (on) or 0 (off)")
        return value

    @field_validator("LOCK_TIMEOUT", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError("must be a number of seconds") from None
        if isinstance(value, int | float) and not value > 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @field_validator("ARTIFACT_STORE_OPTIONS", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"must be a JSON object, not {type(value).__name__}")
        return value

    @field_validator("DOWNLOAD_LIMIT_MB", mode="before")
    @classmethod
    def _megabytes(cls, value: Any) -> Any:
        # A display limit: a bad value is logged and the default used, never a broken app.
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if 0 < number < 1e9:
            return number
        log.warning(
            "zviz: ZVIZ_DOWNLOAD_LIMIT_MB=%r is not a positive number of MB; using %s",
            value,
            DEFAULT_DOWNLOAD_LIMIT_MB,
        )
        return DEFAULT_DOWNLOAD_LIMIT_MB

    @field_validator("REFRESH_SECONDS", mode="before")
    @classmethod
    def _refresh(cls, value: Any) -> Any:
        # A display setting: a bad value is logged and the default used, never a broken app.
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if 0 <= number < 1e9:
            return number
        log.warning(
            "zviz: ZVIZ_REFRESH_SECONDS=%r is not a number of seconds; using %s",
            value,
            DEFAULT_REFRESH_S,
        )
        return DEFAULT_REFRESH_S

    def demo_enabled(self, team_store: bool) -> bool:
        """Whether the demo applies (its seed and its public logins): ZVIZ_DEMO when set; unset,
        yes for the embedded store and no for a team store."""
        return (not team_store) if self.DEMO is None else self.DEMO

    @property
    def team_store(self) -> bool:
        """True when ZVIZ_STORE_URL names a team store."""
        return self.STORE_URL is not None


def variable(field: str) -> str:
    """The environment variable of a Settings field: `LOCK_TIMEOUT` -> `ZVIZ_LOCK_TIMEOUT`."""
    return PREFIX + field


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        reason = str(error["msg"]).removeprefix("Value error, ")
        shown = error.get("input")
        plain = isinstance(shown, str | int | float) and ", not " not in reason
        value = f", not {shown!r}" if plain else ""
        parts.append(f"{variable(field)} {reason}{value}")
    return "; ".join(parts) + ". Fix the variable (environment or Streamlit secrets) or unset it."


_NAMES = tuple(PREFIX + name for name in Settings.model_fields)
_memo: dict[tuple[tuple[str | None, ...], tuple[tuple[str, str], ...]], Settings] = {}
_memo_lock = threading.Lock()


def settings(secrets: Mapping[str, Any] | None = None) -> Settings:
    """Return zviz's settings as the environment says now; root-level `ZVIZ_*` entries of
    `secrets` (Streamlit secrets) fill the variables the environment leaves unset.

    Raises ConfigError naming the variable and what is wrong with its value.
    """
    # Only zviz's own names: walking all of os.environ would cost ~100 µs a call.
    env = tuple(os.environ.get(name) for name in _NAMES)
    extra = {
        k.removeprefix(PREFIX): v
        for k, v in (secrets or {}).items()
        if isinstance(k, str) and k.startswith(PREFIX) and isinstance(v, str | int | float)
    }
    key = (env, tuple(sorted((k, str(v)) for k, v in extra.items())))
    found = _memo.get(key)
    if found is not None:
        return found
    try:
        found = Settings(**extra)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    with _memo_lock:
        if len(_memo) > 64:
            _memo.clear()
        _memo[key] = found
    return found


def fields() -> dict[str, str]:
    """Every setting's variable name and description, in declaration order."""
    return {variable(name): info.description or "" for name, info in Settings.model_fields.items()}
