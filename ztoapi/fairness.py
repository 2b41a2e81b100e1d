"""Keeping one request from holding a gevent worker's event loop while it computes."""
import functools
import time

SLICE = 0.002            # seconds one request may compute on the event loop before others run
PAUSE = 0.0001           # seconds it then pauses for (see breathe)


@functools.cache
def cooperative():
    """True in a gevent worker, where one greenlet computing holds up every other request."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


_slice_start = 0.0


def breathe():
    """Let other requests run when this one has computed for SLICE without a pause (gevent only).

    Long loops over what a client sent (items, nesting, stop sequences) call it as they go, so
    that no single request holds the event loop for more than a few milliseconds at a time. The
    pause is PAUSE, not 0: gevent.sleep(0) may resume this greenlet before the loop polls any
    socket, and a client waiting for /healthz or its next chunk would keep waiting."""
    global _slice_start
    now = time.perf_counter()
    if now - _slice_start < SLICE:
        return
    if cooperative():
        import gevent
        gevent.sleep(PAUSE)
    _slice_start = time.perf_counter()
