"""Fake chat.z.ai upstream for offline tests (Oct 2025 protocol; see reference/zai-protocol.md in the shared docs).

    fake = start_in_thread(user_tokens=[make_user_token()])   # or: python -m tests.fakezai --port 0
    fake.url; fake.requests; fake.script_next(answer="hi", fault="cut"); fake.stop()

Scripts (queued with script_next / POST /__fake/script, or a `[[fake {JSON}]]` directive in the last user
message) take the keys answer, reasoning, chunk, seed, delay_ms, first_delay_ms, fault, after, stall_s.
Faults: http500, http429, waf405, version426_http (HTTP errors), version426 (in-band 426 event),
signature (400 bad signature), error_start, error_mid, toplevel_error, cut, stall, malformed.
"""

from .auth import DEFAULT_SECRET, make_user_token, sign
from .server import FakeZai
from .stream import FAULTS

__all__ = ["DEFAULT_SECRET", "FAULTS", "FakeZai", "make_user_token", "sign", "start_in_thread"]


def start_in_thread(**kwargs) -> FakeZai:
    """Create a FakeZai with kwargs and start it on 127.0.0.1 with a free port."""
    return FakeZai(**kwargs).start()
