"""The app's request hooks, all registered here, in the one order they run.

Before a request: it is counted in flight first (a worker shutting down waits for it), then gets
its id and clock. After it, in this order: an event stream is counted active, the key's
concurrency slot is released when the response ends, CORS headers are added, the record is kept
(it sees the final status and headers), and last the request stops counting as in flight, so that
a worker never exits before a record is kept. Each hook that has work left for the end of a
stream defers it with `response.call_on_close`."""
from ztoapi import cors
from ztoapi import inflight
from ztoapi import limits
from ztoapi import metrics
from ztoapi import requestlog

BEFORE_REQUEST = (inflight.count_request, requestlog.start_request)
AFTER_REQUEST = (metrics.count_stream, limits.release_slot, cors.add_cors_headers,
                 requestlog.finish_request, inflight.uncount_request)


def register(app):
    for hook in BEFORE_REQUEST:
        app.before_request(hook)
    for hook in reversed(AFTER_REQUEST):   # Flask runs after_request hooks last registered first
        app.after_request(hook)
