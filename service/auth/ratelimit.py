"""An in-memory sliding-window limiter for sign-in attempts (per e-mail and client address).

Per process: with several workers each one counts on its own, so the effective limit is the
configured one times the number of workers. Enough to stop guessing and e-mail floods from one
place; a shared store (the database, Redis) would be needed for a hard global limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

# Above this many tracked keys, stale ones are swept, so a flood of distinct keys cannot grow
# memory without bound.
_SWEEP_ABOVE = 10_000


class RateLimiter:
    def __init__(
        self, *, attempts: int, window_seconds: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._now = now
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        with self._lock:
            hits = self._recent(key)
            if len(hits) < self.attempts:
                return 0
            return max(1, math.ceil(hits[0] + self.window - self._now()))

    def hit(self, key: str) -> None:
        with self._lock:
            if len(self._hits) > _SWEEP_ABOVE:
                self._sweep()
            self._recent(key).append(self._now())

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        cutoff = self._now() - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def _sweep(self) -> None:
        cutoff = self._now() - self.window
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
