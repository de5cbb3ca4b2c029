"""Which names and display texts zviz accepts: the one place that says why a name is refused.

Names of projects, pipelines, steps, outputs and runs may end up in file paths, grants and URLs,
so they may not hold path separators, `..` or control characters. Display texts (tile titles,
model and deployment names) are shown to other users, so they may not hide what they say: no
control characters, no lone surrogates, no bidirectional overrides, not only invisible characters.
"""

from __future__ import annotations

import unicodedata

from zviz_core.errors import InvalidInputError

# Characters that reorder the text around them: a name using them can show something else than
# what it is (for example an extension that reads backwards).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SEPARATORS = {"/": "a path separator", "\\": "a path separator"}


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"{_codepoint(ch)} {name}".strip() if name else _codepoint(ch)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be shown as a name or title, or None when it can."""
    for ch in value:
        category = unicodedata.category(ch)
        if ch == "\x00":
            return "contains NUL (U+0000)"
        if category == "Cc":
            return f"contains the control character {_codepoint(ch)}"
        if category == "Cs":
            return f"contains a lone surrogate ({_codepoint(ch)}), which is not valid text"
        if ch in BIDI_CONTROLS:
            return f"contains the bidirectional control {_describe(ch)}, which can disguise text"
    if value and all(unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp") for ch in value):
        return "has only invisible characters"
    return None


def check_text(value: str, what: str) -> str:
    """Return `value` if it can be shown; raise InvalidInputError saying which character is not."""
    problem = text_problem(value)
    if problem:
        raise InvalidInputError(f"{what} {problem}; use visible text.")
    return value


def path_name_problem(value: str) -> str | None:
    """Why `value` cannot name a project, pipeline, step, output or run, or None."""
    if not value or not value.strip():
        return "is empty"
    for ch, kind in _SEPARATORS.items():
        if ch in value:
            return f"contains '{ch}' ({kind})"
    if ".." in value:
        return "contains '..'"
    return text_problem(value)


def check_path_name(value: object, what: str) -> str:
    """Return `value` if it may name a project, pipeline, step, output or run.

    Raises InvalidInputError naming the offending character: names may not contain '/', '\\',
    '..', control characters or NUL, since they appear in grants, URLs and logs.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, not {type(value).__name__}.")
    problem = path_name_problem(value)
    if problem:
        raise InvalidInputError(
            f"{what} {value!r} {problem}; names may not contain '/', '\\', '..', control "
            "characters or NUL."
        )
    return value
