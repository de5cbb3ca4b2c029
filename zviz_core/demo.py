"""The demo: seeds an empty store with a small wine-classification project and names its users."""

# No `from __future__ import annotations` here: the demo's steps are defined inside `_build()` so
# that their return annotations (pandas, scikit-learn, altair types) are real objects there, and
# importing this module (for DEMO_USERS on the login page) stays free of those 1-2 s imports.

import contextlib
import copy
import io
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from zviz_core.client import Client
from zviz_core.enums import (
    CuratedVisualizationSize,
    TileFollow,
    VisualizationResourceTypes,
    VisualizationType,
)
from zviz_core.errors import EntityExistsError
from zviz_core.materializers.base import BaseMaterializer
from zviz_core.models import PipelineRunResponse
from zviz_core.pipelines import Pipeline, log_metadata, pipeline, step
from zviz_core.report import figure, html_report, metric_cards, table
from zviz_core.settings import settings
from zviz_core.types import HTMLString, MarkdownString

log = logging.getLogger("zviz")

TRAINING_PIPELINE = "wine_training"
VALIDATION_PIPELINE = "wine_data_validation"
MODEL_NAME = "wine-classifier"
DEPLOYMENT_NAME = "wine-serving"
CLASS_NAMES = ("cultivar 1", "cultivar 2", "cultivar 3")
SEED = 7
TEST_FRACTION = 0.3
# (run name, hyper-parameters): three runs that differ, the last one the best. Every parameter is
# given, because a snapshot records only the parameters a run was given, not the defaults.
TRAINING_RUNS: tuple[tuple[str, dict[str, Any]], ...] = tuple(
    (
        name,
        {"n_estimators": trees, "max_depth": depth, "test_fraction": TEST_FRACTION, "seed": SEED},
    )
    for name, trees, depth in (
        ("wine-training-1-stumps", 3, 1),
        ("wine-training-2-shallow", 10, 2),
        ("wine-training-3-forest", 100, 6),
    )
)
VALIDATION_RUN = "wine-data-validation-1"
LOCK_FILE = ".zviz-demo.lock"
LOCK_TIMEOUT_S = 120.0

# -- the demo's users (issue 4: the login page lists them and what each can see) ----------------

DEMO_COOKIE_KEY = "zviz-DEMO-ONLY-cookie-key-public-in-the-repo-never-use-it-for-real-data"
"""The demo's cookie signing key. It is public, so anyone can forge a demo login cookie: the app
accepts it only while it serves the demo; a real deployment takes its key from secrets."""

DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin-demo", "Everything, and may change everything (role admin: read/write *)."),
    (
        "scientist",
        "scientist-demo",
        f"The '{TRAINING_PIPELINE}' pipeline with its runs, snapshots and artifacts, and every "
        f"model; may edit their tiles. Not the '{VALIDATION_PIPELINE}' pipeline, the deployment "
        "or the project dashboard.",
    ),
    (
        "viewer",
        "viewer-demo",
        f"Only the '{MODEL_NAME}' model and the '{DEPLOYMENT_NAME}' deployment with their tiles, "
        "read-only. No pipelines, runs or project dashboard.",
    ),
)
"""(username, plain demo password, what the user can see) for the demo's login page."""

# bcrypt hashes of the DEMO_USERS passwords, computed once with
# streamlit_authenticator.Hasher.hash: hashing at import would cost ~0.2 s per user.
_HASHES = {
    "admin": "$2b$12$hdvSoifjAEFLnUxR4tYMZOIEhd1W42ms6fDrHaZnGOrqPIbgw7Epm",
    "scientist": "$2b$12$C1ExRplxHXxFbrjuzxk/Ie2g0XRHVZme8kNfJi.mm5HyNUMWCWXJa",
    "viewer": "$2b$12$eYWr.0Dq/3GCBldV0OZ38eTE6Ss3ANDr25LSKZYFxJC4y3.cR0vuu",
}

DEMO_AUTH_CONFIG: dict[str, Any] = {
    "credentials": {
        "usernames": {
            "admin": {
                "name": "Ada Admin",
                "email": "admin@example.com",
                "password": _HASHES["admin"],
                "roles": ["admin"],
            },
            "scientist": {
                "name": "Sam Scientist",
                "email": "scientist@example.com",
                "password": _HASHES["scientist"],
                "roles": ["data_scientist"],
            },
            "viewer": {
                "name": "Val Viewer",
                "email": "viewer@example.com",
                "password": _HASHES["viewer"],
                "roles": ["viewer"],
            },
        }
    },
    "cookie": {"name": "zviz_demo_auth", "key": DEMO_COOKIE_KEY, "expiry_days": 1},
    "access": {
        "roles": {
            "admin": {"read": ["*"], "write": ["*"]},
            "data_scientist": {"write": [f"pipeline:{TRAINING_PIPELINE}", "model:*"]},
            "viewer": {"read": [f"model:{MODEL_NAME}", f"deployment:{DEPLOYMENT_NAME}"]},
        }
    },
}
"""The demo's authenticator + access config (DESIGN.md "Access rules"); see demo_auth_config()."""


def demo_auth_config() -> dict[str, Any]:
    """Return a deep copy of DEMO_AUTH_CONFIG, safe to hand to streamlit-authenticator (which
    mutates the credentials it is given)."""
    return copy.deepcopy(DEMO_AUTH_CONFIG)


# -- a custom materializer: scikit-learn estimators ----------------------------------------------


class SklearnEstimatorMaterializer(BaseMaterializer):
    """Stores a fitted scikit-learn estimator as a pickle, shown as scikit-learn's HTML diagram.

    Setting ASSOCIATED_TYPES = (sklearn.base.BaseEstimator,) would register it for every
    estimator; the demo passes it to its step with `output_materializers=` instead, so that
    importing this module does not import scikit-learn. Pickles run code when loaded: load
    models only from artifact stores you trust.
    """

    FILENAME = "model.pkl"

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.path(self.FILENAME), "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, data_type: type) -> Any:
        with self.artifact_store.open(self.path(self.FILENAME), "rb") as fh:
            model = pickle.load(fh)
        if not isinstance(model, data_type):
            raise TypeError(f"{self.uri} holds a {type(model).__name__}, not a {data_type}.")
        return model

    def save_visualizations(self, data: Any) -> dict[str, VisualizationType]:
        import pandas as pd
        from sklearn.utils import estimator_html_repr

        uri = self.path("estimator.html")
        params = pd.DataFrame(
            [(k, repr(v)) for k, v in data.get_params(deep=False).items()],
            columns=["parameter", "value"],
        )
        body = (
            f'<p class="zviz-muted">{type(data).__module__}.{type(data).__name__}</p>'
            + estimator_html_repr(data)
            + "<h2>Parameters</h2>"
            + table(params, max_rows=200, index=False)
        )
        with self.artifact_store.open(uri, "w") as fh:
            fh.write(html_report(body, title=f"Estimator: {type(data).__name__}"))
        return {uri: VisualizationType.HTML}

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        params = {
            k: v
            for k, v in data.get_params(deep=False).items()
            if isinstance(v, str | int | float | bool | None)
        }
        meta: dict[str, Any] = {"estimator": type(data).__name__, "params": params}
        if hasattr(data, "n_features_in_"):
            meta["n_features_in"] = int(data.n_features_in_)
        return meta


# -- the demo's pipelines --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pipelines:
    training: Pipeline
    validation: Pipeline


def _confusion_image(matrix: Any, labels: tuple[str, ...]) -> Any:
    """Draw a confusion matrix as an RGB PIL image (no matplotlib needed)."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(labels)
    cell, left, top, pad = 96, 120, 64, 16
    width, height = left + n * cell + pad, top + n * cell + 44
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    big = ImageFont.load_default(size=22)
    peak = max(int(matrix.max()), 1)
    draw.text((left + n * cell / 2, 18), "Predicted", fill="#262730", font=font, anchor="mm")
    for j, label in enumerate(labels):
        draw.text((left + j * cell + cell / 2, 44), label, fill="#262730", font=font, anchor="mm")
    for i, label in enumerate(labels):
        y = top + i * cell
        draw.text((left - 10, y + cell / 2), label, fill="#262730", font=font, anchor="rm")
        for j in range(n):
            x = left + j * cell
            share = int(matrix[i, j]) / peak
            # White to Streamlit blue; text turns white once the cell is dark enough.
            colour = tuple(round(255 + (c - 255) * share) for c in (28, 131, 225))
            draw.rectangle([x, y, x + cell - 2, y + cell - 2], fill=colour, outline="#e2e4ec")
            text = "white" if share > 0.55 else "#262730"
            draw.text(
                (x + cell / 2, y + cell / 2),
                str(int(matrix[i, j])),
                fill=text,
                font=big,
                anchor="mm",
            )
    draw.text(
        (left + n * cell / 2, height - 18),
        "rows: true cultivar",
        fill="#6b6f80",
        font=font,
        anchor="mm",
    )
    return image


@cache
def _build() -> _Pipelines:
    """Define the demo's steps and pipelines (imports pandas, scikit-learn and altair)."""
    import altair as alt
    import numpy as np
    import pandas as pd
    from PIL import Image
    from sklearn import __version__ as sklearn_version
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
    from sklearn.model_selection import train_test_split

    @step
    def load_wine_data() -> Annotated[pd.DataFrame, "wine_data"]:
        """UCI's wine recognition data, bundled with scikit-learn: 178 wines, 13 measurements."""
        bunch = load_wine(as_frame=True)
        frame = bunch.data.copy()
        frame["cultivar"] = [CLASS_NAMES[t] for t in bunch.target]
        return frame

    @step
    def split_data(
        data: pd.DataFrame, test_fraction: float, seed: int
    ) -> tuple[Annotated[pd.DataFrame, "train_set"], Annotated[pd.DataFrame, "test_set"]]:
        train, test = train_test_split(
            data, test_size=test_fraction, random_state=seed, stratify=data["cultivar"]
        )
        return train.reset_index(drop=True), test.reset_index(drop=True)

    @step(output_materializers=SklearnEstimatorMaterializer)
    def train_model(
        train: pd.DataFrame, n_estimators: int, max_depth: int, seed: int
    ) -> Annotated[RandomForestClassifier, "wine_model"]:
        model = RandomForestClassifier(
            n_estimators=n_estimators, max_depth=max_depth, random_state=seed
        )
        features, labels = train.drop(columns="cultivar"), train["cultivar"]
        started = time.perf_counter()
        model.fit(features, labels)
        # Run metrics beside the ones the evaluation's JSON output gives (ZenML's log_metadata).
        log_metadata(
            {
                "train_rows": len(train),
                "train_accuracy": round(float(model.score(features, labels)), 4),
                "fit_seconds": round(time.perf_counter() - started, 3),
            }
        )
        return model

    @step
    def evaluate_model(
        model: RandomForestClassifier, test: pd.DataFrame
    ) -> tuple[
        Annotated[dict, "metrics"],
        Annotated[Image.Image, "confusion_matrix"],
        Annotated[alt.Chart, "feature_importance"],
    ]:
        truth = test["cultivar"]
        predicted = model.predict(test.drop(columns="cultivar"))
        precision, recall, f1, support = precision_recall_fscore_support(
            truth, predicted, labels=list(CLASS_NAMES), zero_division=0
        )
        metrics = {
            "accuracy": round(float(accuracy_score(truth, predicted)), 4),
            "macro_f1": round(float(np.mean(f1)), 4),
            "test_rows": len(test),
            "per_class": {
                name: {
                    "precision": round(float(precision[i]), 4),
                    "recall": round(float(recall[i]), 4),
                    "f1": round(float(f1[i]), 4),
                    "support": int(support[i]),
                }
                for i, name in enumerate(CLASS_NAMES)
            },
            "hyperparameters": {
                "n_estimators": model.n_estimators,
                "max_depth": model.max_depth,
                "random_state": model.random_state,
            },
        }
        matrix = confusion_matrix(truth, predicted, labels=list(CLASS_NAMES))
        importances = pd.DataFrame(
            {"measurement": model.feature_names_in_, "importance": model.feature_importances_}
        )
        chart = (
            alt.Chart(importances, title="Which measurements the forest relies on")
            .mark_bar()
            .encode(
                x=alt.X("importance:Q", title="mean decrease in impurity"),
                y=alt.Y("measurement:N", sort="-x", title=None),
                tooltip=["measurement", alt.Tooltip("importance:Q", format=".3f")],
            )
        )
        return metrics, _confusion_image(matrix, CLASS_NAMES), chart

    @step
    def write_report(
        metrics: dict, confusion: Image.Image, model: RandomForestClassifier
    ) -> Annotated[HTMLString, "evaluation_report"]:
        png = io.BytesIO()
        confusion.save(png, format="PNG")
        hyper = metrics["hyperparameters"]
        per_class = pd.DataFrame.from_dict(metrics["per_class"], orient="index")
        top = (
            pd.DataFrame(
                {"measurement": model.feature_names_in_, "importance": model.feature_importances_}
            )
            .sort_values("importance", ascending=False)
            .head(5)
        )
        body = (
            metric_cards(
                {
                    "accuracy": metrics["accuracy"],
                    "macro F1": metrics["macro_f1"],
                    "trees": hyper["n_estimators"],
                    "max depth": hyper["max_depth"],
                    "test wines": metrics["test_rows"],
                }
            )
            + "<h2>Confusion matrix</h2>"
            + figure(png.getvalue(), "Confusion matrix: rows true cultivar, columns predicted")
            + "<h2>Scores per cultivar</h2>"
            + table(per_class)
            + "<h2>Five most important measurements</h2>"
            + table(top, index=False)
        )
        return html_report(body, title="Wine classifier: evaluation")

    @step
    def write_model_card(
        metrics: dict, model: RandomForestClassifier
    ) -> Annotated[MarkdownString, "model_card"]:
        hyper = metrics["hyperparameters"]
        rows = "\n".join(
            f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
            for name, s in metrics["per_class"].items()
        )
        return MarkdownString(
            f"# Model card: {MODEL_NAME}\n\n"
            f"**Model:** random forest of {hyper['n_estimators']} trees, maximum depth "
            f"{hyper['max_depth']} (scikit-learn {sklearn_version}, seed {hyper['random_state']}).\n\n"
            "**Data:** the UCI wine recognition data bundled with scikit-learn: 178 wines from "
            f"three cultivars, {model.n_features_in_} chemical measurements each; the "
            f"held-out test set is a stratified sample of {metrics['test_rows']} of them.\n\n"
            "## Results on the held-out wines\n\n"
            f"Accuracy **{metrics['accuracy']:.3f}**, macro F1 **{metrics['macro_f1']:.3f}** "
            f"on {metrics['test_rows']} wines.\n\n"
            "| cultivar | precision | recall | F1 | support |\n|---|---|---|---|---|\n"
            f"{rows}\n\n"
            "## Intended use\n\nA demonstration of zviz: pipelines, artifacts, visualizations "
            "and curated dashboards. Not for decisions about real wine.\n\n"
            "## Limitations\n\nA tiny data set from one region and three cultivars; the test set "
            "has only a few dozen wines, so one wine moves accuracy by about two points.\n"
        )

    @step
    def validate_data(
        data: pd.DataFrame,
    ) -> tuple[
        Annotated[HTMLString, "validation_report"],
        Annotated[dict, "validation_checks"],
        Annotated[alt.Chart, "class_balance"],
    ]:
        measurements = data.drop(columns="cultivar")
        counts = data["cultivar"].value_counts().reindex(list(CLASS_NAMES), fill_value=0)
        checks = {
            "rows": {"value": len(data), "expected": ">= 150", "passed": len(data) >= 150},
            "missing_values": {
                "value": int(data.isna().sum().sum()),
                "expected": "0",
                "passed": not data.isna().any().any(),
            },
            "negative_measurements": {
                "value": int((measurements < 0).sum().sum()),
                "expected": "0",
                "passed": not (measurements < 0).any().any(),
            },
            "smallest_class_share": {
                "value": round(float(counts.min() / counts.sum()), 4),
                "expected": ">= 0.2",
                "passed": bool(counts.min() / counts.sum() >= 0.2),
            },
        }
        passed = sum(c["passed"] for c in checks.values())
        status = "zviz-good" if passed == len(checks) else "zviz-bad"
        check_rows = pd.DataFrame(
            [
                {
                    "check": name.replace("_", " "),
                    "value": f"{c['value']:g}",
                    "expected": c["expected"],
                    "result": "passed" if c["passed"] else "FAILED",
                }
                for name, c in checks.items()
            ]
        )
        ranges = measurements.describe().T[["min", "mean", "max"]]
        body = (
            f'<p><span class="zviz-badge {status}">{passed} of {len(checks)} checks passed'
            "</span></p>"
            + metric_cards({"wines": len(data), "measurements": measurements.shape[1]})
            + "<h2>Checks</h2>"
            + table(check_rows, index=False)
            + "<h2>Measurement ranges</h2>"
            + table(ranges)
        )
        balance = (
            alt.Chart(
                pd.DataFrame({"cultivar": counts.index, "wines": counts.to_numpy()}),
                title="Wines per cultivar",
            )
            .mark_bar()
            .encode(x=alt.X("cultivar:N", title=None), y="wines:Q", tooltip=["cultivar", "wines"])
        )
        return html_report(body, title="Wine data: validation"), checks, balance

    @pipeline(name=TRAINING_PIPELINE)
    def wine_training(
        n_estimators: int = 50,
        max_depth: int = 3,
        test_fraction: float = TEST_FRACTION,
        seed: int = SEED,
    ) -> None:
        data = load_wine_data()
        train, test = split_data(data, test_fraction=test_fraction, seed=seed)
        model = train_model(train, n_estimators=n_estimators, max_depth=max_depth, seed=seed)
        metrics, confusion, _ = evaluate_model(model, test)
        write_report(metrics, confusion, model)
        write_model_card(metrics, model)

    @pipeline(name=VALIDATION_PIPELINE)
    def wine_data_validation() -> None:
        validate_data(load_wine_data())

    return _Pipelines(training=wine_training, validation=wine_data_validation)


# -- seeding -------------------------------------------------------------------------------------


def demo_enabled(team_store: bool = False) -> bool:
    """Whether to seed an empty store: $ZVIZ_DEMO when set (0, false, no or off mean no);
    unset, yes for the embedded store and no for a team store (PostgreSQL), which is seeded
    only with ZVIZ_DEMO=1."""
    return settings().demo_enabled(team_store)


def _is_empty(client: Client) -> bool:
    """No run in any project, and no pipeline, model or deployment in the active project."""
    return (
        client.list_pipeline_runs(all_projects=True, size=1).total == 0
        and client.list_pipelines(size=1).total == 0
        and client.list_models(size=1).total == 0
        and client.list_deployments(size=1).total == 0
    )


def _try_lock(fh: Any) -> bool:
    """Take an exclusive lock on an open file without waiting; False if another holder has it."""
    if os.name == "nt":
        import msvcrt

        fh.seek(0)
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except PermissionError:
            return False
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fh: Any) -> None:
    if os.name == "nt":
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _acquire(fh: Any, home: Path, timeout_s: float) -> bool | None:
    """True once locked, False if still taken after timeout_s, None if locks are unsupported."""
    deadline = time.monotonic() + timeout_s
    try:
        while not _try_lock(fh):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    except OSError as exc:
        log.warning("zviz: no lock for the demo seed in %s (%s); going on without.", home, exc)
        return None
    return True


@contextlib.contextmanager
def _seed_lock(home: Path, timeout_s: float) -> Iterator[bool]:
    """Hold an OS file lock in the store folder; yields False if it stayed taken for timeout_s.

    The OS drops the lock when its holder dies, so a crashed seeder never blocks the next start.
    Where the filesystem refuses locks this yields True without one: the unique run names still
    stop a second seeder at its first write (see _seed).
    """
    home.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_FILE, "a+b") as fh:
        held = _acquire(fh, home, timeout_s)
        try:
            yield held is not False
        finally:
            if held:
                _unlock(fh)


def _progress(callback: Callable[[float, str], None] | None, fraction: float, text: str) -> None:
    if callback is not None:
        callback(fraction, text)


def _viz(run: PipelineRunResponse, step_name: str, output: str, file_name: str = "") -> UUID:
    """The id of the first visualization of a step output (whose file name ends as given)."""
    version = run.steps[step_name].outputs[output][0]
    for viz in version.visualizations:
        if viz.uri.endswith(file_name):
            return viz.id
    raise LookupError(f"{step_name}.{output} has no visualization named {file_name!r}")


def ensure_demo(
    client: Client | None = None,
    progress: Callable[[float, str], None] | None = None,
    asked: bool = False,
) -> bool:
    """Seed the demo into an empty store, if `demo_enabled` says so (or, `asked`, whatever it
    says: `zviz demo` names the store); return True if it seeded.

    "Empty" means no run in any project and no pipeline, model or deployment in the active
    project, so a store someone has used is never touched. The seed acts as the local owner of
    `client`'s store (default: the environment's), whoever `client` acts as, and its pipelines
    write to that store: nothing in the environment changes. `progress(fraction, text)` is
    called as the seed advances, from 0.0 to 1.0.

    Safe when several processes start at once: one seeds while the others wait on a file lock
    in the store folder, then find the store no longer empty and return False (on a team
    store, unique run names stop a seeder on another machine before it writes anything).

    Raises EntityNotFoundError when $ZVIZ_PROJECT names a missing project, and what the store
    raises (StoreError, StoreBusyError, ...) if seeding fails; a partly seeded store is then
    left as it is and is not seeded again.
    """
    client = client.as_user(None) if client is not None else Client()
    if not asked and not demo_enabled(team_store=client.store.kind != "duckdb"):
        return False
    if not _is_empty(client):
        return False
    _progress(progress, 0.0, "Preparing the demo")
    with _seed_lock(client.home, LOCK_TIMEOUT_S) as locked:
        if not locked:
            log.warning("zviz: another process kept seeding the demo for too long; not waiting.")
            return False
        if not _is_empty(client):
            return False  # another process seeded it while this one waited for the lock
        with client.activated():
            return _seed(client, progress)


def _seed(client: Client, progress: Callable[[float, str], None] | None) -> bool:
    started = time.perf_counter()
    _progress(progress, 0.05, "Loading scikit-learn and the wine data")
    pipes = _build()
    runs: list[PipelineRunResponse] = []
    scores: list[tuple[float, float]] = []
    for i, (run_name, params) in enumerate(TRAINING_RUNS):
        _progress(
            progress,
            0.1 + 0.2 * i,
            f"Training run {i + 1} of {len(TRAINING_RUNS)}: {params['n_estimators']} trees, "
            f"depth {params['max_depth']}",
        )
        configured = pipes.training.with_options(run_name=run_name, parameters=params)
        try:
            run = configured()
        except EntityExistsError:
            if runs:
                raise
            # Run names are unique in the store: a second seeder that got past the lock (a
            # filesystem without locks) stops here, before writing anything.
            log.info("zviz: another process is seeding the demo; leaving it to that one.")
            return False
        metrics = run.steps["evaluate_model"].outputs["metrics"][0].load()
        runs.append(run)
        scores.append((metrics["accuracy"], metrics["macro_f1"]))
    _progress(progress, 0.7, "Validating the data")
    validation = pipes.validation.with_options(run_name=VALIDATION_RUN)()

    _progress(progress, 0.8, "Registering the model and its deployment")
    best = runs[max(range(len(runs)), key=lambda i: (scores[i], i))]
    model = client.create_model(
        MODEL_NAME,
        description="Random forest that tells three wine cultivars apart from 13 chemical "
        f"measurements. Serving version: run {best.name}.",
    )
    deployment = client.create_deployment(DEPLOYMENT_NAME, snapshot_id=best.snapshot_id)

    _progress(progress, 0.9, "Pinning tiles on every page")
    _pin_tiles(client, best, validation, model.id, deployment.id)
    _progress(progress, 1.0, "Demo ready")
    log.info("zviz: seeded the demo in %.1f s", time.perf_counter() - started)
    return True


def _pin_tiles(
    client: Client,
    best: PipelineRunResponse,
    validation: PipelineRunResponse,
    model_id: UUID,
    deployment_id: UUID,
) -> None:
    """Curated tiles on all six kinds of resource, in both widths, ordered in gaps of 10."""
    report = _viz(best, "write_report", "evaluation_report")
    confusion = _viz(best, "evaluate_model", "confusion_matrix")
    importance = _viz(best, "evaluate_model", "feature_importance")
    metrics = _viz(best, "evaluate_model", "metrics")
    card = _viz(best, "write_model_card", "model_card")
    estimator = _viz(best, "train_model", "wine_model", "estimator.html")
    sample = _viz(best, "load_wine_data", "wine_data", "sample.csv")
    describe = _viz(best, "load_wine_data", "wine_data", "describe.csv")
    checks_report = _viz(validation, "validate_data", "validation_report")
    checks = _viz(validation, "validate_data", "validation_checks")
    balance = _viz(validation, "validate_data", "class_balance")

    full, half = CuratedVisualizationSize.FULL_WIDTH, CuratedVisualizationSize.HALF_WIDTH
    kinds = VisualizationResourceTypes
    pipelines = {p.name: p.id for p in client.list_pipelines(size=50)}
    layout: list[tuple[VisualizationResourceTypes, UUID, list[tuple[Any, ...]]]] = [
        (
            kinds.PROJECT,
            client.active_project.id,
            [
                (report, "Best model: evaluation report", full),
                (confusion, "Best model: confusion matrix", half),
                (importance, "What the model looks at", half),
                (checks_report, "Is the data sound?", full),
            ],
        ),
        (
            kinds.PIPELINE,
            pipelines[TRAINING_PIPELINE],
            [
                (card, "Model card of the best run", half),
                (metrics, "Metrics of the best run", half),
                (sample, "The wine data: first rows", full),
            ],
        ),
        (
            kinds.PIPELINE,
            pipelines[VALIDATION_PIPELINE],
            [
                (checks_report, "Validation report", full),
                (balance, "Class balance", half),
                (checks, "Check results", half),
            ],
        ),
        (
            kinds.PIPELINE_RUN,
            best.id,
            [
                (report, "Evaluation report", full),
                (confusion, "Confusion matrix", half),
                (importance, "Feature importance", half),
            ],
        ),
        (
            kinds.PIPELINE_SNAPSHOT,
            best.snapshot_id,
            [
                (estimator, "The trained estimator", full),
                (metrics, "Metrics with this configuration", half),
                (describe, "Training data summary", half),
            ],
        ),
        (
            kinds.MODEL,
            model_id,
            [
                (card, "Model card", full),
                (confusion, "Confusion matrix", half),
                (metrics, "Metrics", half),
                # Follows the newest completed training run: a new run shows up here by itself.
                (report, "Latest training run: evaluation report", full, TileFollow.OUTPUT),
            ],
        ),
        (
            kinds.DEPLOYMENT,
            deployment_id,
            [
                (metrics, "Serving model: metrics", half),
                (importance, "Serving model: feature importance", half),
                (card, "Serving model: model card", full),
            ],
        ),
    ]
    for kind, resource_id, tiles in layout:
        for position, (viz_id, name, size, *follow) in enumerate(tiles, start=1):
            client.create_curated_visualization(
                artifact_visualization_id=viz_id,
                resource_id=resource_id,
                resource_type=kind,
                display_name=name,
                display_order=10 * position,
                layout_size=size,
                follow=follow[0] if follow else None,
            )
