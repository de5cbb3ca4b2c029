"""Who may read and write what: grants from the access config, turned into SQL filters.

A grant is "*", "<type>:*", "<type>:<id>" or "<type>:<name>"; a name names one thing in one
project ("pipeline:training" is the pipeline training in the project `default`,
"pipeline:team-b/training" the one in team-b), never a namesake elsewhere. Grants flow down: a project grant covers
everything in the project; a pipeline grant covers its snapshots and runs; a snapshot grant covers
its runs; a run grant covers its steps and artifacts. Write implies read. No grant, no access.
Every list and get joins the filter from `AccessPolicy.sql`, so what a user may not read is never
loaded, and writes check the write filter in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from zviz_core.errors import AccessDeniedError, ConfigError
from zviz_core.store import registry

RESOURCE_TYPES = registry.GRANT_TYPES


DEFAULT_PROJECT = "default"


@dataclass(frozen=True)
class Grants:
    """One user's grants for one mode (read or write).

    `named` maps a resource type to its targets: ids as canonical UUID strings, names as
    "<project>/<name>" (a grant without a project names one in the project `default`), and
    projects by their name alone.
    """

    everything: bool = False
    any_of_type: frozenset[str] = frozenset()
    named: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, grants: Iterable[str]) -> Grants:
        everything = False
        any_of_type: set[str] = set()
        named: dict[str, set[str]] = {}
        for grant in grants:
            kind, target = parse_grant(grant)
            if kind == "*":
                everything = True
            elif target == "*":
                any_of_type.add(kind)
            else:
                named.setdefault(kind, set()).add(target)
        return cls(everything, frozenset(any_of_type), {k: frozenset(v) for k, v in named.items()})

    def union(self, other: Grants) -> Grants:
        named = {
            k: self.named.get(k, frozenset()) | other.named.get(k, frozenset())
            for k in set(self.named) | set(other.named)
        }
        return Grants(
            self.everything or other.everything, self.any_of_type | other.any_of_type, named
        )

    def describe(self) -> list[str]:
        if self.everything:
            return ["*"]
        out = [f"{k}:*" for k in sorted(self.any_of_type)]
        out += [f"{k}:{v}" for k in sorted(self.named) for v in sorted(self.named[k])]
        return out

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.any_of_type or any(self.named.values()))

    def ids(self, kind: str) -> list[str]:
        return sorted(t for t in self.named.get(kind, ()) if _as_uuid(t) is not None)

    def names(self, kind: str) -> list[str]:
        return sorted(t for t in self.named.get(kind, ()) if _as_uuid(t) is None)

    def covers_project(self, project_name: str, project_id: Any) -> bool:
        """Whether these grants cover a whole project (everything in it)."""
        return (
            self.everything
            or "project" in self.any_of_type
            or bool({project_name, str(project_id)} & self.named.get("project", frozenset()))
        )

    def covers_new(self, kind: str, project_name: str, project_id: Any, name: str) -> bool:
        """Whether these grants cover a `kind` called `name` that does not exist yet in a project
        (no id grant can name it yet)."""
        return (
            self.covers_project(project_name, project_id)
            or kind in self.any_of_type
            or f"{project_name}/{name}" in self.named.get(kind, frozenset())
        )


def _as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def qualified(kind: str, name: str, project: str = DEFAULT_PROJECT) -> str:
    """The grant that names one `kind` called `name` in `project`, as a user would write it."""
    if kind == "project":
        return f"project:{name}"
    return f"{kind}:{name}" if project == DEFAULT_PROJECT else f"{kind}:{project}/{name}"


def parse_grant(grant: str) -> tuple[str, str]:
    """Split a grant into (type, target), with a named target made "<project>/<name>".

    A grant is "*", "<type>:*", "<type>:<id>", "project:<name>", "<type>:<name>" (in the
    project `default`) or "<type>:<project>/<name>". Raises ConfigError for an unknown type, a
    project name with '/', or a snapshot named other than by id.
    """
    if not isinstance(grant, str) or not grant.strip():
        raise ConfigError(f"A grant must be a non-empty string, not {grant!r}.")
    grant = grant.strip()
    if grant == "*":
        return "*", "*"
    kind, sep, target = grant.partition(":")
    target = target.strip()
    if not sep or not target:
        raise ConfigError(
            f"Grant {grant!r} is not of the form '*', '<type>:*', '<type>:<id>', "
            "'<type>:<name>' or '<type>:<project>/<name>'."
        )
    kind = kind.strip()
    if kind not in RESOURCE_TYPES:
        raise ConfigError(
            f"Grant {grant!r} names an unknown resource type {kind!r}; "
            f"use one of: {', '.join(RESOURCE_TYPES)}."
        )
    if target == "*":
        return kind, "*"
    key = _as_uuid(target)
    if key is not None:
        return kind, str(key)
    if kind == "pipeline_snapshot":
        raise ConfigError(
            f"Grant {grant!r}: snapshots have no names; name one by its id "
            "(pipeline_snapshot:<id>), or grant its pipeline."
        )
    if kind == "project":
        if "/" in target:
            raise ConfigError(
                f"Grant {grant!r}: a project name cannot contain '/'; write project:<name>."
            )
        return kind, target
    project, slash, name = target.partition("/")
    if not slash:
        project, name = DEFAULT_PROJECT, target
    if not project.strip() or not name.strip():
        raise ConfigError(
            f"Grant {grant!r} is ambiguous: write {kind}:<name> for the project "
            f"'{DEFAULT_PROJECT}', or {kind}:<project>/<name> for another project."
        )
    return kind, f"{project.strip()}/{name.strip()}"


class AccessPolicy:
    """The read and write grants of one user (or of the local owner) and the SQL they imply."""

    def __init__(self, user: str | None, read: Grants, write: Grants) -> None:
        self.user = user
        self.write_grants = write
        self.read_grants = read.union(write)

    @classmethod
    def owner(cls) -> AccessPolicy:
        everything = Grants(everything=True)
        return cls(None, everything, everything)

    @property
    def is_owner(self) -> bool:
        return self.user is None

    def key(self) -> tuple:
        """A hashable identity of the grants, for caches keyed by what a user may see."""
        return (tuple(self.read_grants.describe()), tuple(self.write_grants.describe()))

    def can_read_anything(self) -> bool:
        return not self.read_grants.is_empty

    def may_read_some(self, kind: str) -> bool:
        """Return whether the read grants reach `kind` at all: False when the read filter
        excludes every row of it, whatever the store holds (a viewer granted only a model may
        read no run). Raises ValueError for a kind the access rules do not know."""
        return self.sql(kind, "_some")[0] != "FALSE"

    def write_refused(self, kind: str, name: str, project: str, key: Any) -> AccessDeniedError:
        """The error for a resource this user may read but not change, naming a grant that
        would allow it."""
        label = registry.kind(kind).label
        grant = (
            f"{kind}:{key}"
            if registry.kind(kind).name_column is None
            else qualified(kind, name, project)
        )
        return AccessDeniedError(
            f"{self.user or 'You'} may see {label} '{name}' but not change it: that needs "
            f"a write grant such as '{grant}' or '{kind}:*' (or one on its project "
            "or pipeline)."
        )

    def check_create(self, kind: str, name: str, project: str, project_id: Any) -> None:
        """Raise AccessDeniedError unless this user may create a `kind` called `name` in a
        project (a project grant, `<kind>:*`, or a grant naming it)."""
        if kind == "project":
            if not (self.write_grants.everything or "project" in self.write_grants.any_of_type):
                raise AccessDeniedError(
                    f"{self.user} may not create projects: that needs 'project:*' write."
                )
            return
        if not self.write_grants.covers_new(kind, project, project_id, name):
            raise AccessDeniedError(
                f"{self.user} may not create {kind} '{name}': that needs a write grant such as "
                f"'{qualified(kind, name, project)}', '{kind}:*' or 'project:{project}'."
            )

    def check_owner(self, what: str) -> None:
        """Raise AccessDeniedError unless this is the owner (or holds '*' write)."""
        if not self.write_grants.everything:
            raise AccessDeniedError(f"Only the owner may {what}.")

    @staticmethod
    def refuse_beyond(count: int, label: str) -> None:
        """A delete must not change what the user may not write: raise AccessDeniedError when
        it would, naming only how many such resources there are (never which)."""
        if count:
            raise AccessDeniedError(
                f"Deleting this {label} would also change {count} other "
                f"{'resource' if count == 1 else 'resources'} that you may not change (tiles "
                "showing its artifacts on other pages, deployments of its snapshots, or runs "
                "that read its artifacts). Nothing was deleted; ask someone who may change "
                "them to delete it."
            )

    def sql(self, kind: str, alias: str, mode: str = "read") -> tuple[str, dict[str, Any]]:
        """A boolean SQL expression over `alias` (a row of `kind`) and its named parameters.

        `kind` is a resource type, "artifact_version", "step_run" or "curated". Raises ValueError
        for any other kind.
        """
        grants = self.write_grants if mode == "write" else self.read_grants
        builder = _SqlBuilder(grants, f"{mode}_")
        text = builder.build(kind, alias)
        used = {k: v for k, v in builder.params.items() if re.search(rf"\${k}\b", text)}
        return text, used


class _SqlBuilder:
    """Builds a read or write filter for one kind from the registry: a row is covered by a
    grant on itself or on any kind its `reach` columns point at, recursively."""

    def __init__(self, grants: Grants, prefix: str) -> None:
        self.g = grants
        self.prefix = prefix
        self.params: dict[str, Any] = {}

    def _param(self, kind: str, what: str, values: list[str]) -> str:
        name = f"acc_{self.prefix}{kind}_{what}"
        self.params[name] = values
        return f"${name}"

    def _match(self, kind: str, alias: str, id_expr: str | None = None) -> list[str]:
        """Conditions under which a row of `kind` is granted by id or by name; `id_expr` is its
        id (default `alias.id`). A name matches within its project only."""
        if kind in self.g.any_of_type:
            return ["TRUE"]
        parts = []
        ids = self.g.ids(kind)
        if ids:
            parts.append(
                f"CAST({id_expr or alias + '.id'} AS VARCHAR) = ANY({self._param(kind, 'id', ids)})"
            )
        names = self.g.names(kind)
        name_column = registry.kind(kind).name_column
        if names and name_column:
            if id_expr is not None:
                table = registry.kind(kind).table
                inner = self._match(kind, "_n_" + kind)
                names_only = [p for p in inner if "_name" in p]
                parts.append(
                    f"{id_expr} IN (SELECT _n_{kind}.id FROM {table} _n_{kind} "
                    f"WHERE {' OR '.join(names_only)})"
                )
            elif kind == "project":
                parts.append(f"{alias}.{name_column} = ANY({self._param(kind, 'name', names)})")
            else:
                project = f"(SELECT _pn.name FROM projects _pn WHERE _pn.id = {alias}.project_id)"
                parts.append(
                    f"({project} || '/' || {alias}.{name_column}) = "
                    f"ANY({self._param(kind, 'name', names)})"
                )
        return parts

    def _or(self, parts: list[str]) -> str:
        if self.g.everything or "TRUE" in parts:
            return "TRUE"
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def build(self, kind: str, a: str, depth: int = 0) -> str:
        if self.g.everything:
            return "TRUE"
        if kind == "curated":
            return self._curated(a, depth)
        k = registry.kind(kind)
        parts = self._match(kind, a) if k.grantable else []
        direct = {above for above, _ in k.reach}
        for above, column in k.reach:
            # An ancestor whose own ancestors this row also points at is matched on its own
            # grants (the others are matched here directly); otherwise it brings its reach.
            if set(registry.ancestors(above)) <= direct:
                parts += self._match(above, "", id_expr=f"{a}.{column}")
                continue
            inner = f"_{registry.kind(above).alias}{depth}"
            cond = self.build(above, inner, depth + 1)
            if cond in ("TRUE", "FALSE"):
                parts.append(cond)
            else:
                table = registry.kind(above).table
                parts.append(
                    f"{a}.{column} IN (SELECT {inner}.id FROM {table} {inner} WHERE {cond})"
                )
        return self._or([p for p in parts if p != "FALSE"])

    def _curated(self, a: str, depth: int) -> str:
        cases = []
        for rtype in registry.TILE_TARGETS:
            k = registry.kind(rtype)
            inner = f"_c_{rtype}"
            cond = self.build(rtype, inner, depth + 1)
            if cond == "FALSE":
                continue
            if cond != "TRUE":
                cond = f"{a}.resource_id IN (SELECT {inner}.id FROM {k.table} {inner} WHERE {cond})"
            cases.append(f"WHEN '{rtype}' THEN {cond}")
        if not cases:
            return "FALSE"
        return f"(CASE {a}.resource_type {' '.join(cases)} ELSE FALSE END)"


# -- the config file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessConfig:
    """The access section of the authenticator YAML, validated, plus each user's roles."""

    roles: Mapping[str, tuple[Grants, Grants]]
    users: Mapping[str, tuple[Grants, Grants]]
    user_roles: Mapping[str, tuple[str, ...]]
    source: str = "<config>"

    def policy_for(self, user: str) -> AccessPolicy:
        """The user's policy: their roles' grants plus their own; nothing for unknown users."""
        name = user.strip().lower()
        read, write = Grants(), Grants()
        for role in self.user_roles.get(name, ()):
            r, w = self.roles[role]
            read, write = read.union(r), write.union(w)
        if name in self.users:
            r, w = self.users[name]
            read, write = read.union(r), write.union(w)
        return AccessPolicy(name, read, write)

    @classmethod
    def from_path(cls, path: str | Path) -> AccessConfig:
        """Read and validate a YAML file; raises ConfigError naming the file and line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the access config {path}: {exc.strerror}.") from exc
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<config>") -> AccessConfig:
        """Validate YAML text; raises ConfigError naming the line of the first problem."""
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ConfigError(f"{source}{where}: not valid YAML ({exc}).") from exc
        _refuse_merge_keys(root, source)
        return _from_nodes(root, source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<secrets>") -> AccessConfig:
        """Validate an already-parsed config (for example `st.secrets.to_dict()`)."""
        return _from_nodes(yaml.compose(yaml.safe_dump(dict(data), sort_keys=False)), source)


def _line(node: yaml.Node | None) -> str:
    return f"line {node.start_mark.line + 1}" if node is not None else "?"


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _refuse_merge_keys(root: yaml.Node | None, source: str) -> None:
    """Raise ConfigError naming the line of the first YAML merge key (`<<: *anchor`).

    streamlit-authenticator reads the file with merges applied, while these rules are read from
    the node tree, where a merge is just a key: a merged role showed in the sidebar and granted
    nothing. YAML 1.2 dropped merge keys, so the file is refused rather than read two ways.
    Anchors and aliases alone mean the same to both readers and stay allowed.
    """
    merges: list[yaml.Node] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            merges += [k for k, _ in node.value if k.tag == _MERGE_TAG]
            stack += [v for _, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    if merges:
        first = min(merges, key=lambda k: k.start_mark.index)
        raise ConfigError(
            f"{source} {_line(first)}: YAML merge keys (<<) are not supported in the login "
            "config, because the authenticator and the access rules would read it differently. "
            "Write the keys out in full."
        )


def _mapping(
    node: yaml.Node | None, what: str, source: str
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "null", "~")):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{source} {_line(node)}: {what} must be a mapping.")
    return {str(k.value): (k, v) for k, v in node.value}


def _grants(node: yaml.Node | None, what: str, source: str) -> Grants:
    if node is None:
        return Grants()
    if isinstance(node, yaml.ScalarNode):
        items = [node] if node.value not in ("", "null", "~") else []
    elif isinstance(node, yaml.SequenceNode):
        items = node.value
    else:
        raise ConfigError(f"{source} {_line(node)}: {what} must be a list of grants.")
    values = []
    for item in items:
        if not isinstance(item, yaml.ScalarNode):
            raise ConfigError(f"{source} {_line(item)}: a grant in {what} must be a string.")
        try:
            parse_grant(item.value)
        except ConfigError as exc:
            raise ConfigError(f"{source} {_line(item)}: {exc}") from None
        values.append(item.value)
    return Grants.parse(values)


def _read_write(node: yaml.Node, what: str, source: str) -> tuple[Grants, Grants]:
    entries = _mapping(node, what, source)
    for key, (knode, _) in entries.items():
        if key not in ("read", "write"):
            raise ConfigError(
                f"{source} {_line(knode)}: {what} has an unknown key {key!r}; use read and write."
            )
    read = _grants(entries.get("read", (None, None))[1], f"{what}.read", source)
    write = _grants(entries.get("write", (None, None))[1], f"{what}.write", source)
    return read, write


def _from_nodes(root: yaml.Node | None, source: str) -> AccessConfig:
    top = _mapping(root, "the config", source)
    access = _mapping(top.get("access", (None, None))[1], "access", source)
    roles = {
        name: _read_write(v, f"access.roles.{name}", source)
        for name, (_, v) in _mapping(
            access.get("roles", (None, None))[1], "access.roles", source
        ).items()
    }
    users = {
        name.strip().lower(): _read_write(v, f"access.users.{name}", source)
        for name, (_, v) in _mapping(
            access.get("users", (None, None))[1], "access.users", source
        ).items()
    }
    credentials = _mapping(top.get("credentials", (None, None))[1], "credentials", source)
    usernames = _mapping(
        credentials.get("usernames", (None, None))[1], "credentials.usernames", source
    )
    user_roles: dict[str, tuple[str, ...]] = {}
    for name, (_, node) in usernames.items():
        fields = _mapping(node, f"credentials.usernames.{name}", source)
        roles_node = fields.get("roles", (None, None))[1]
        names: list[str] = []
        if isinstance(roles_node, yaml.SequenceNode):
            for item in roles_node.value:
                if item.value not in roles:
                    raise ConfigError(
                        f"{source} {_line(item)}: user {name!r} has role {item.value!r}, which "
                        "access.roles does not define. Define it or remove it from the user."
                    )
                names.append(item.value)
        elif roles_node is not None and not (
            isinstance(roles_node, yaml.ScalarNode) and roles_node.value in ("", "null", "~")
        ):
            raise ConfigError(f"{source} {_line(roles_node)}: roles of {name!r} must be a list.")
        user_roles[name.strip().lower()] = tuple(names)
    return AccessConfig(roles, users, user_roles, source)
