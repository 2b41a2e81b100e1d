"""A value read from chat.z.ai at first use and again in the background once it is old."""
import threading
import time


class Refreshed:
    """Calls `read()` on the first `get()` (the caller waits for it), then again in a background
    thread when the last read is older than `seconds`; `refresh()` reads now, at most once every
    `min_seconds`. `read` keeps what it learns itself: this only says when to call it."""

    def __init__(self, read, seconds, min_seconds=0.0, clock=time.monotonic):
        self.read = read
        self.seconds = seconds
        self.min_seconds = min_seconds
        self.clock = clock
        self.checked = None
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
        """Read now; False when it was read less than `min_seconds` ago (and is not read again)."""
        with self._lock:
            if self.checked is not None and self.clock() - self.checked < self.min_seconds:
                return False
            self._read()
            return True

    def _read_locked(self):
        with self._lock:
            self._read()

    def _read(self):
        self.checked = self.clock()
        self.read()
