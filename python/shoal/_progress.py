"""Progress of long computations: a text bar on stderr (tqdm's look, no
dependency), or the caller's own callback.

``progress`` arguments take ``None`` (the default: a bar when stderr is a
terminal or a notebook, once the work has run for a second), ``True`` (a
bar always), ``False`` (nothing) or a callable ``f(name, index,
max_passes, rows_done, rows_total)`` called about ten times a second. An
exception raised by the callable stops the work, as Ctrl-C does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[str, int, "int | None", int, int], Any]

__all__ = ["Callback", "TextBar", "progress_callback"]


def _interactive(stream: Any) -> bool:
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TextBar:
    """``name 3/12 |#####     | 45% 1.2M/2.6M rows 0:04<0:05`` on one line
    of ``stream``, redrawn in place; a new line when the pass changes."""

    def __init__(self, stream: Any = None, delay: float = 0.0, width: int = 30):
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.width = width
        self.started = time.monotonic()
        self.pass_started = self.started
        self.current: tuple[str, int] | None = None
        self.drawn = False

    def __call__(self, name: str, index: int, max_passes: int | None, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < self.delay:
            return
        if self.current != (name, index):
            if self.drawn:
                self.stream.write("\n")
            self.current = (name, index)
            self.pass_started = now
        frac = done / total if total else 1.0
        fill = int(round(frac * self.width))
        elapsed = now - self.pass_started
        eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
        of = f"/{max_passes}" if max_passes else ""
        self.stream.write(
            f"\r{name} {index}{of} |{'#' * fill}{' ' * (self.width - fill)}| {frac:4.0%} "
            f"{_count(done)}/{_count(total)} rows {_clock(elapsed)}<{_clock(eta)}"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def _count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _clock(s: float) -> str:
    s = int(s)
    return f"{s // 60}:{s % 60:02d}"


class progress_callback:
    """The callback for a ``progress`` argument, as a context manager that
    ends the bar's line when the work ends."""

    def __init__(self, progress: Any):
        if progress is None:
            self.callback = TextBar(delay=1.0) if _interactive(sys.stderr) else None
        elif progress is True:
            self.callback = TextBar()
        elif progress is False:
            self.callback = None
        elif callable(progress):
            self.callback = progress
        else:
            raise TypeError(f"progress must be None, True, False or a callable, got {progress!r}")

    def __enter__(self) -> Callback | None:
        return self.callback

    def __exit__(self, *exc: Any) -> None:
        if isinstance(self.callback, TextBar):
            self.callback.close()
