"""What an upstream client tells whoever listens (Flask signals, blinker): the metrics count them.

Each is sent by the upstream client itself, so a receiver connected with `sender=client` hears
only its own app's client (tests build many apps in one process)."""
from blinker import Namespace

_signals = Namespace()

upstream_failed = _signals.signal("upstream-failed")     # an attempt failed: code=<error code>
upstream_retried = _signals.signal("upstream-retried")   # another attempt follows a failed one
upstream_failed_over = _signals.signal("upstream-failed-over")   # the router sent a request on: source=, target=
