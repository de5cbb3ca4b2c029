"""The store's command line: `python -m zviz_core.store copy SRC DST` moves a whole store
between engines (DuckDB file and PostgreSQL, either way)."""

from __future__ import annotations

import argparse
import sys

from zviz_core.errors import StoreVersionError, ZvizError
from zviz_core.store.copy import (
    SKIPPED_TABLES,
    CopyRefusedError,
    Progress,
    copy_store,
    print_counts,
)

EXIT_REFUSED = 2

COPY_HELP = """\
Copy a whole zviz store into a new or empty one: projects, pipelines, snapshots, runs, steps
and their inputs, artifacts and their versions, visualizations, models, deployments and tiles,
with their ids and times. DuckDB -> PostgreSQL, PostgreSQL -> DuckDB, and DuckDB -> DuckDB or
PostgreSQL -> PostgreSQL all work.

SRC and DST are each a store folder (the one holding zviz.duckdb; duckdb:///path also works)
or a postgresql://user:password@host:port/database URL (the database must exist).
"""

COPY_EPILOG = f"""\
What is not copied:
  login_failures, login_cookies: {SKIPPED_TABLES["login_failures"]}; {SKIPPED_TABLES["login_cookies"]}.
  schema_version: {SKIPPED_TABLES["schema_version"]}.
  store_changes: {SKIPPED_TABLES["store_changes"]}.

Rules:
  - The source must be at this zviz's schema version: open an older store once with this zviz
    to upgrade it first.
  - The destination must be new or empty (no run, pipeline, model, deployment, tile...), else
    the copy is refused and nothing is written (exit code {EXIT_REFUSED}).
  - Every row is written in one transaction: a copy that is interrupted or killed leaves the
    destination empty, and can simply be run again.
  - A DuckDB source (or destination) is held for the copy's whole duration: other zviz
    processes on that store wait (up to ZVIZ_LOCK_TIMEOUT) until the copy ends.
  - Temporary CSV files of one or two tables at a time go to the system's temporary folder
    ($TMPDIR).

Artifact files:
  Without --artifacts the files stay where they are and the copied rows keep pointing at them:
  set the destination's ZVIZ_ARTIFACT_STORE to the source's artifact store (a team store on
  PostgreSQL also needs ZVIZ_ARTIFACT_STORE_SHARED=1 for a local folder every machine mounts).
  With --artifacts URL every file under the source's artifact store (--artifacts-from, default
  $ZVIZ_ARTIFACT_STORE, else the DuckDB source folder's artifacts/) is copied first, with the
  same layout, to URL (a folder or any fsspec URL such as s3://bucket/zviz); then the rows are
  written pointing there. The source's files are left untouched. Files copied by a killed run
  are overwritten by the next one.

Progress goes to stderr; at the end the row counts of every table on both sides are printed.

Example:
  python -m zviz_core.store copy ~/.zviz postgresql://zviz@db.example.com/zviz \\
      --artifacts s3://team-bucket/zviz
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m zviz_core.store`."""
    parser = argparse.ArgumentParser(
        prog="python -m zviz_core.store", description="Maintain a zviz store."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser(
        "copy",
        help="copy a whole store into a new or empty one (DuckDB <-> PostgreSQL)",
        description=COPY_HELP,
        epilog=COPY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "source", metavar="SRC", help="store folder, duckdb:///path or postgresql://…"
    )
    copy.add_argument(
        "destination", metavar="DST", help="new or empty store folder, or postgresql://…"
    )
    copy.add_argument(
        "--artifacts",
        metavar="DST_URL",
        help="also copy the artifact files to this artifact store and point the rows there",
    )
    copy.add_argument(
        "--artifacts-from",
        metavar="SRC_URL",
        help="the source's artifact store (default: $ZVIZ_ARTIFACT_STORE, else SRC/artifacts)",
    )
    copy.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code: 0 done, 2 refused (nothing written) or a
    usage error, 1 when a store could not be used."""
    args = build_parser().parse_args(argv)
    progress = Progress(None if args.quiet else sys.stderr)
    try:
        report = copy_store(
            args.source,
            args.destination,
            artifacts_to=args.artifacts,
            artifacts_from=args.artifacts_from,
            progress=progress,
        )
    except (CopyRefusedError, StoreVersionError) as exc:
        print(f"zviz copy: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ZvizError as exc:
        print(f"zviz copy: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        from zviz_core.store import forget_engines

        forget_engines(close=True)
    print(f"copied {report.source} -> {report.destination} in {report.seconds:.1f} s")
    if report.files_copied or args.artifacts:
        print(f"artifact files copied: {report.files_copied:,} to {args.artifacts}")
    for folder in report.folders_missing:
        print(f"warning: artifact folder missing at the source: {folder}")
    print_counts(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
