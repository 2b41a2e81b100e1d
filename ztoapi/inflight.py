"""Counts the requests in flight, so a worker shutting down knows when it may exit."""
import threading

from flask import current_app


class InFlight:
    """A counter of requests not yet finished (streams count until their last byte)."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def add(self, delta):
        with self._lock:
            self.count += delta


def init_app(app):
    app.extensions["inflight"] = InFlight()


def count_request():
    current_app.extensions["inflight"].add(1)


def uncount_request(response):
    inflight = current_app.extensions["inflight"]
    if response.is_streamed:
        response.call_on_close(lambda: inflight.add(-1))
    else:
        inflight.add(-1)
    return response
