"""Request records written off the request's path.

Under gevent (gunicorn's worker) a finished request's record is queued and written, with every
other record of the same moment, by a greenlet a moment later (WRITE_EVERY_SECONDS): one store
transaction and one burst of log lines for the batch instead of one per request, none of it in
the request's greenlet. Whatever is queued is written when the worker stops (flush(); the
worker's exit hook calls it before the process ends), so a SIGTERM loses nothing. Without gevent
(tests, scripts) each record is written at once.
"""
import logging

log = logging.getLogger("ztoapi")
WRITE_EVERY_SECONDS = 0.05


def _spawn_later():
    """gevent.spawn_later when gevent has patched the process, else None (write at once)."""
    try:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            import gevent
            return gevent.spawn_later
    except ImportError:
        pass
    return None


class RecordWriter:
    """`write(records)` runs for each batch; `add(record)` queues one."""

    def __init__(self, write, interval=WRITE_EVERY_SECONDS, spawn_later=None):
        self.write = write
        self.interval = interval
        self.spawn_later = spawn_later or _spawn_later()
        self.pending = []
        self.scheduled = False

    def add(self, record):
        if self.spawn_later is None:
            self._write([record])
            return
        self.pending.append(record)
        if not self.scheduled:
            self.scheduled = True
            self.spawn_later(self.interval, self.flush)

    def flush(self):
        """Write every queued record now."""
        self.scheduled = False
        batch, self.pending = self.pending, []
        if batch:
            self._write(batch)

    def _write(self, batch):
        try:
            self.write(batch)
        except Exception:   # a writer must never break a worker
            log.exception("%d request records could not be written", len(batch))
