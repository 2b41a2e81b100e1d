"""What each worker keeps in the shared store: the records of API requests, and (at most every
few seconds) its credential pool's state, so any worker's dashboard and /readyz see them all."""
import os
import socket
import time

PUBLISH_EVERY_SECONDS = 5.0


class CredentialReporter:
    """A record sink that publishes this worker's credential pool state, throttled."""

    def __init__(self, pool, store, clock=time.monotonic):
        self.pool, self.store, self.clock = pool, store, clock
        self.published = None
        self.changes = None

    def __call__(self, record=None):
        """Publish every PUBLISH_EVERY_SECONDS, and at once when a credential appears or changes state."""
        now = self.clock()
        if (self.published is not None and now - self.published < PUBLISH_EVERY_SECONDS
                and self.pool.changes == self.changes):
            return
        self.published, self.changes = now, self.pool.changes
        self.store.publish_credentials(f"{socket.gethostname()}:{os.getpid()}", self.pool.state())


def init_app(app):
    store = app.extensions["store"]
    app.extensions["record_sinks"] += [store.record,
                                       CredentialReporter(app.extensions["zai"].pool, store)]

