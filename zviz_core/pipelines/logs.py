"""Step log capture: what a step prints (stdout, stderr) and logs, kept in memory while it runs
and written as one file into its run's folder in the artifact store when it ends (and every
second meanwhile, for a step that runs longer than that).

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
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

# Each end of a long log is kept up to this many characters (about as many bytes for text).
KEEP_CHARS = 5 * 1024 * 1024

_BUFFER: contextvars.ContextVar[StepLog | None] = contextvars.ContextVar("zviz_log", default=None)
_INSTALL_LOCK = threading.Lock()
_installed = False
# Logs of steps running now, saved every LIVE_SAVE_S by one background thread.
LIVE_SAVE_S = 1.0
_LIVE: set[StepLog] = set()
_LIVE_LOCK = threading.Lock()
_saver: threading.Thread | None = None


class StepLog:
    """The text a step produced: its first and last `keep` characters, and how many in between
    were left out."""

    def __init__(
        self,
        keep: int | None = None,
        sink: Callable[[str], None] | None = None,
        on_live: Callable[[], None] | None = None,
    ) -> None:
        self.keep = KEEP_CHARS if keep is None else keep
        self.sink = sink
        self.on_live = on_live
        self.started = time.monotonic()
        self.changes = 0
        self._saved = 0
        self.closed = False
        self._io = threading.Lock()
        self.head: list[str] = []
        self.head_len = 0
        self.tail: collections.deque[str] = collections.deque()
        self.tail_len = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """Add text: into the head until it is full, then into the tail, whose oldest part is
        dropped beyond `keep`."""
        if not text:
            return
        with self._lock:
            self.changes += 1
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

    def save(self, final: bool = False) -> None:
        """Hand what is kept so far to the sink, if anything changed since the last time; the
        final save is the last one (a live save that comes later does nothing)."""
        if self.sink is None:
            return
        with self._io:
            if self.closed:
                return
            self.closed = final
            if not final and self.on_live is not None:
                announce, self.on_live = self.on_live, None
                announce()
            changes = self.changes
            if changes == self._saved:
                return
            self.sink(self.text())
            self._saved = changes


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


def _save_live_logs() -> None:
    while True:
        time.sleep(LIVE_SAVE_S)
        with _LIVE_LOCK:
            running = list(_LIVE)
        for log in running:
            if time.monotonic() - log.started >= LIVE_SAVE_S:
                with contextlib.suppress(Exception):  # the step's final save reports failures
                    log.save()


def _start_live_saver() -> None:
    global _saver
    with _INSTALL_LOCK:
        if _saver is None or not _saver.is_alive():
            _saver = threading.Thread(target=_save_live_logs, name="zviz-live-logs", daemon=True)
            _saver.start()


@contextlib.contextmanager
def capturing(
    keep: int | None = None,
    sink: Callable[[str], None] | None = None,
    on_live: Callable[[], None] | None = None,
) -> Iterator[StepLog]:
    """Capture this context's stdout, stderr and log records into a StepLog for the block.

    With a `sink`, a step still running after LIVE_SAVE_S calls `on_live` once, then hands its
    log to the sink every LIVE_SAVE_S (from a background thread), so it can be followed while
    it runs; a quick step costs neither. The caller makes the final `save(final=True)`, after
    which neither is called again.
    """
    if not (_installed and isinstance(sys.stdout, _Tee) and isinstance(sys.stderr, _Tee)):
        _install()
    log = StepLog(keep, sink, on_live)
    if sink is not None:
        if _saver is None:
            _start_live_saver()
        with _LIVE_LOCK:
            _LIVE.add(log)
    token = _BUFFER.set(log)
    try:
        yield log
    finally:
        _BUFFER.reset(token)
        if sink is not None:
            with _LIVE_LOCK:
                _LIVE.discard(log)
