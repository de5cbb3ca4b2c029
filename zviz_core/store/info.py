"""What `zviz store info` and `zviz store migrate` tell about a store: where it is, its engine,
its schema version and how many rows each table holds, read without creating or upgrading it."""

from __future__ import annotations

from dataclasses import dataclass, field

from zviz_core.store import schema
from zviz_core.store.copy import COPIED_TABLES, Location, _count, _stored_version, parse_location


@dataclass(frozen=True)
class StoreInfo:
    """A store as `zviz store info` shows it; `counts` is empty unless the schema is current."""

    engine: str
    location: str
    version: int
    latest: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def state(self) -> str:
        """One sentence on the schema: missing, current, older (migrate) or newer (upgrade)."""
        if self.version == 0:
            return "no store here yet (the first zviz call creates it)"
        if self.version == self.latest:
            return f"schema version {self.version} (current)"
        if self.version < self.latest:
            return (
                f"schema version {self.version}, older than this zviz's {self.latest}: "
                "`zviz store migrate` upgrades it"
            )
        return (
            f"schema version {self.version}, newer than this zviz's {self.latest}: upgrade zviz "
            "(pip install -U zviz)"
        )


def locate(text: str | None) -> Location:
    """The store at `text` (a folder, duckdb:///path or postgresql://…), else the environment's
    (ZVIZ_STORE_URL, else ZVIZ_HOME). Raises CopyRefusedError for another URL scheme."""
    from zviz_core.store import default_home, store_url

    return parse_location(text or store_url() or str(default_home()))


def describe(where: Location) -> StoreInfo:
    """Read a store's engine, location, schema version and (at the current version) row counts,
    creating and upgrading nothing. Raises what the engine raises when it cannot be reached
    (StoreUnavailableError, StoreBusyError, StoreError)."""
    engine = where.engine()
    version = _stored_version(engine)
    counts: dict[str, int] = {}
    if version == schema.LATEST:
        counts = engine.read(lambda cur: {table: _count(cur, table) for table in COPIED_TABLES})
    return StoreInfo(where.kind, str(where), version, schema.LATEST, counts)


def migrate(where: Location) -> tuple[int, int]:
    """Create or upgrade a store's schema to this zviz's version; returns (before, after).
    Raises StoreVersionError for a newer store, and what the engine raises when it cannot be
    reached."""
    engine = where.engine()
    before = _stored_version(engine)
    schema.check_not_newer(before, str(where))
    engine.ensure_schema()
    return before, schema.LATEST
