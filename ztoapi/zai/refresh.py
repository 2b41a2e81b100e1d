"""A value read from chat.z.ai at first use and again in the background once it is old."""
import threading
import time


class Refreshed:
    """Calls `read()` on the first `get()` (the caller waits for it), then again in a background
    thread when the last read is older than `seconds`; `refresh()` reads now (after a refusal
    that suggests a change), unless another refresh did less than `min_seconds` ago. `read` keeps
    what it learns itself: this only says when to call it."""

    def __init__(self, read, seconds, min_seconds=0.0, clock=time.monotonic):
        self.read = read
        self.seconds = seconds
        self.min_seconds = min_seconds
        self.clock = clock
        self.checked = None
        self.refreshed = None
        self._lock = threading.Lock()

    def get(self):
        if self.checked is None:
            with self._lock:
                if self.checked is None:
                    self._read()
        elif self.clock() - self.checked >= self.seconds:
            self.checked = self.clock()
            threading.Thread(target=self._read_locked, daemon=True).start()

    def refresh(self):
        """Read now; False when another refresh was less than `min_seconds` ago (no read then)."""
        with self._lock:
            if self.refreshed is not None and self.clock() - self.refreshed < self.min_seconds:
                return False
            self.refreshed = self.clock()
            self._read()
            return True

    def _read_locked(self):
        with self._lock:
            self._read()

    def _read(self):
        self.checked = self.clock()
        self.read()
