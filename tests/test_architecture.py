"""The shape DESIGN.md promises, checked on the source: every SQL statement lives in
zviz_core/store/, each kind of resource is defined once in the registry and everything that
names kinds agrees with it, and the layers import only what they may."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb

from zviz_core.access import RESOURCE_TYPES
from zviz_core.enums import VisualizationResourceTypes
from zviz_core.store import registry, resources, schema
from zviz_core.store.db import DuckCursor

ROOT = Path(__file__).resolve().parents[1]
STATEMENT = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|"
    r"ALTER\s+TABLE|DROP\s+TABLE)\b",
    re.IGNORECASE | re.DOTALL,
)
# access.py builds the WHERE filters that store statements join (DESIGN: "access.py: SQL
# filters"); it runs no statement itself.
FILTER_MODULES = {"zviz_core/access.py"}


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("zviz_core").rglob("*.py"), *ROOT.joinpath("app_pages").glob("*.py")]
    return [*files, ROOT / "streamlit_app.py"]


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, with f-strings joined from their literal parts."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else " x " for v in node.values)
            found.append((node.lineno, text))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                lines.add(body[0].value.lineno)
    return lines


def test_no_sql_statement_outside_the_store() -> None:
    offenders = []
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("zviz_core/store/") or relative in FILTER_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for line, text in _strings(tree):
            if line not in docs and STATEMENT.search(text):
                offenders.append(f"{relative}:{line}: {text[:60]!r}")
    assert offenders == []


def test_the_statement_check_would_catch_one() -> None:
    sample = 'def f(cur):\n    cur.execute(f"DELETE FROM tiles WHERE id = {1}")\n'
    assert any(STATEMENT.search(t) for _, t in _strings(ast.parse(sample)))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_ui_imports_streamlit_and_pages_reach_no_database() -> None:
    for path in ROOT.joinpath("zviz_core").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith("zviz_core/ui/"):
            assert not _imports(path) & {"streamlit", "streamlit_authenticator"}, relative
    for path in [*ROOT.joinpath("app_pages").glob("*.py"), ROOT / "streamlit_app.py"]:
        assert not _imports(path) & {"duckdb", "psycopg", "psycopg_pool"}, path.name


# -- the registry --------------------------------------------------------------------------------


def _schema_columns() -> dict[str, set[str]]:
    con = duckdb.connect(":memory:")
    cur = DuckCursor(con)
    schema.migrate(cur, "memory")
    rows = cur.rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    )
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def test_every_table_belongs_to_a_kind_or_is_named_as_other() -> None:
    tables = set(_schema_columns())
    kinds = {k.table for k in registry.KINDS.values()}
    assert tables == kinds | set(registry.OTHER_TABLES), (
        "a table is missing from store/registry.py (or the registry names one the schema lacks)"
    )


def test_the_registry_columns_exist() -> None:
    columns = _schema_columns()
    for kind in registry.KINDS.values():
        table = columns[kind.table]
        assert "id" in table, kind.name
        if kind.name_column:
            assert kind.name_column in table, kind.name
        for above, column in kind.reach:
            assert above in registry.KINDS and column in table, (kind.name, column)
        for child in kind.children:
            assert child.column in columns[child.table], (kind.name, child)
            if child.kind:
                assert registry.KINDS[child.kind].table == child.table, child


def test_everything_that_names_kinds_agrees_with_the_registry() -> None:
    assert set(RESOURCE_TYPES) == set(registry.GRANT_TYPES)
    assert {t.value for t in VisualizationResourceTypes} == set(registry.TILE_TARGETS)
    assert set(resources.SELECTS) == {k for k in registry.GRANT_TYPES if k != "pipeline_run"} | {
        "project"
    }
    for kind in registry.GRANT_TYPES:
        assert registry.kind(kind).grantable


def test_bench_tests_and_the_package_keep_to_their_own_imports() -> None:
    # bench/ and tests/ share their server starters through zviz_testing/, and neither imports
    # the other; the shipped package imports neither.
    for path in ROOT.joinpath("bench").rglob("*.py"):
        assert "tests" not in _imports(path), path.relative_to(ROOT).as_posix()
    for path in ROOT.joinpath("zviz_core").rglob("*.py"):
        leaked = _imports(path) & {"tests", "bench", "zviz_testing"}
        assert not leaked, f"{path.relative_to(ROOT).as_posix()} imports {leaked}"
    for path in ROOT.joinpath("zviz_testing").rglob("*.py"):
        assert not _imports(path) & {"tests", "bench"}, path.relative_to(ROOT).as_posix()


def test_settings_are_read_in_one_place() -> None:
    # Every ZVIZ_* variable goes through zviz_core/settings.py (validated, one parse of each).
    for path in ROOT.joinpath("zviz_core").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative == "zviz_core/settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('os.environ.get("ZVIZ', "getenv(", 'environ["ZVIZ'):
            assert needle not in text, f"{relative} reads the environment ({needle}...)"
        assert not re.search(r"os\.environ\.get\([A-Z_]*ENV", text), relative
