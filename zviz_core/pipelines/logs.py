"""Step log capture: what a step prints (stdout, stderr) and logs, kept in memory while it runs
and written as one file into its run's folder in the artifact store when it ends.

Capture follows the context (thread or task) that runs the step, so pipelines running at once
in other threads never mix their output. The console still shows everything as before.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

# Each end of a long log is kept up to this many characters (about as many bytes for text).
KEEP_CHARS = 5 * 1024 * 1024

_BUFFER: contextvars.ContextVar[StepLog | None] = contextvars.ContextVar("zviz_log", default=None)
_INSTALL_LOCK = threading.Lock()
_installed = False


class StepLog:
    """The text a step produced: its first and last `keep` characters, and how many in between
    were left out."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = KEEP_CHARS if keep is None else keep
        self.head: list[str] = []
        self.head_len = 0
        self.tail: collections.deque[str] = collections.deque()
        self.tail_len = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            room = self.keep - self.head_len
            if room > 0:
                part = text[:room]
                self.head.append(part)
                self.head_len += len(part)
                text = text[room:]
                if not text:
                    return
            self.tail.append(text)
            self.tail_len += len(text)
            while self.tail_len > self.keep:
                extra = self.tail_len - self.keep
                first = self.tail[0]
                if len(first) <= extra:
                    self.tail.popleft()
                    self.tail_len -= len(first)
                    self.dropped += len(first)
                else:
                    self.tail[0] = first[extra:]
                    self.tail_len -= extra
                    self.dropped += extra

    def text(self) -> str:
        """Everything kept, with a line saying where and how much was left out."""
        with self._lock:
            head = "".join(self.head)
            tail = "".join(self.tail)
            if not self.dropped:
                return head + tail
            mb = self.keep / (1024 * 1024)
            note = (
                f"\n[zviz: {self.dropped:,} characters left out here; a step's log keeps its "
                f"first and last {mb:g} MB]\n"
            )
            return head + note + tail


class _Tee:
    """Stands in for sys.stdout / sys.stderr: writes go to the real stream and, inside a step,
    to that step's log."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        buffer = _BUFFER.get()
        if buffer is not None:
            # A log must never fail the step that writes it.
            with contextlib.suppress(Exception):
                buffer.write(text if isinstance(text, str) else str(text))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _StepLogHandler(logging.Handler):
    """Adds the log records a step emits to its log, unless another handler already prints them
    to the (captured) console, so a line is never kept twice."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        printed, any_other = _console_handlers(record)
        last_resort = logging.lastResort
        if not any_other and last_resort is not None and record.levelno >= last_resort.level:
            # This handler keeps logging's last resort (warnings on stderr) from running when
            # nothing else is configured: run it, and it prints through the captured stderr.
            last_resort.handle(record)
            printed = True
        buffer = _BUFFER.get()
        if buffer is None or printed:
            return
        with contextlib.suppress(Exception):
            buffer.write(self.format(record) + "\n")


def _console_handlers(record: logging.LogRecord) -> tuple[bool, bool]:
    """(whether a handler on the record's path prints it to a captured stream, whether any
    handler but ours is on that path)."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    printed = any_other = False
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, _StepLogHandler):
                continue
            any_other = True
            stream = getattr(handler, "stream", None)
            if isinstance(stream, _Tee) and record.levelno >= handler.level:
                printed = True
        if not logger.propagate:
            break
        logger = logger.parent
    return printed, any_other


def _install() -> None:
    global _installed
    with _INSTALL_LOCK:
        # Checked on every step: a test runner or notebook may have swapped the streams since.
        if sys.stdout is not None and not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)
        if sys.stderr is not None and not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr)
        if not _installed:
            logging.getLogger().addHandler(_StepLogHandler())
            _installed = True


@contextlib.contextmanager
def capturing(keep: int | None = None) -> Iterator[StepLog]:
    """Capture this context's stdout, stderr and log records into a StepLog for the block."""
    if not (_installed and isinstance(sys.stdout, _Tee) and isinstance(sys.stderr, _Tee)):
        _install()
    log = StepLog(keep)
    token = _BUFFER.set(log)
    try:
        yield log
    finally:
        _BUFFER.reset(token)
