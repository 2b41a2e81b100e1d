import random
import time
from pathlib import Path

import pytest

from ztoapi.errors import ApiError
from ztoapi.upstream.reply import Reply as UpstreamReply
from ztoapi.zai.reply import ZaiStream as Reply

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "zai-glm46-thinking.sse"
ANSWER = ("Hey there! I'm doing great, thanks for asking. As an AI, I'm always ready and eager to "
          "help.\n\nWhat can I do for you today?")


class BlockResponse:
    """A stand-in for a streamed requests.Response that yields the given byte blocks."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.closed = False

    def iter_content(self, chunk_size=None):
        return iter(self.blocks)

    def close(self):
        self.closed = True


def split_randomly(data, rng):
    blocks = []
    while data:
        size = rng.randint(1, 700)
        blocks.append(data[:size])
        data = data[size:]
    return blocks


def read_all(blocks):
    reply = Reply(BlockResponse(blocks), dialect="2025")
    out = {}
    for batch in reply.batches():
        for kind, text in batch:
            out[kind] = out.get(kind, "") + text
    return reply, out


@pytest.mark.parametrize("seed", range(10))
def test_capture_split_at_random_byte_offsets_reads_the_same(seed):
    data = FIXTURE.read_bytes()
    _, whole = read_all([data])
    reply, split = read_all(split_randomly(data, random.Random(seed)))
    assert split == whole
    assert split["answer"] == ANSWER
    assert reply.usage["total_tokens"] == 1599
    assert reply.done


def test_reading_stops_at_the_done_event():
    data = FIXTURE.read_bytes() + b'data: {"type": "chat:completion", "data": {"delta_content": "late"}}\n\n'
    _, out = read_all([data])
    assert out["answer"] == ANSWER


def test_crlf_comments_blank_data_and_done_marker_are_tolerated():
    events = (b": ping\r\n\r\n"
              b"data: \r\n\r\n"
              b"data: [DONE]\n\n"
              b"data: not json\n\n"
              b'data: {"type": "chat:completion", "data": {"phase": "mystery"}}\r\n\r\n'
              b'data: {"type": "chat:completion", "data": {"delta_content": "Hi", "phase": "answer"}}\r\n\r\n'
              b'data: {"type": "chat:completion", "data": {"done": true, "phase": "done"}}\n\n')
    _, out = read_all([events])
    assert out == {"answer": "Hi"}


def test_the_clean_end_of_a_body_that_held_events_ends_the_reply():
    events = b'data: {"type": "chat:completion", "data": {"delta_content": "Hi", "phase": "answer"}}\n\n'
    reply = Reply(BlockResponse([events]), dialect="2025")
    assert [piece for batch in reply.batches() for piece in batch] == [("answer", "Hi")]


def test_a_body_that_ends_before_any_event_is_a_cut_stream():
    reply = Reply(BlockResponse([b": ping\n\n"]), dialect="2025")
    with pytest.raises(ApiError) as caught:
        list(reply.batches())
    assert caught.value.code == "upstream_stream_cut"


def test_first_batch_waits_for_a_whole_event():
    event = b'data: {"type": "chat:completion", "data": {"delta_content": "Hi", "phase": "answer"}}\n\n'
    reply = Reply(BlockResponse([event[:10], event[10:]]), dialect="2025")
    assert next(reply.batches()) == [("answer", "Hi")]


class EndlessStream:
    """An upstream stream of 10,000-character batches, counting how many were read. An abort
    does not stop it at once (a socket read in progress finishes)."""

    def __init__(self, batches=1000):
        self.read = 0
        self.left = batches
        self.closed = self.aborted = False

    def batches(self):
        while self.left:
            self.left -= 1
            self.read += 1
            yield [("answer", "x" * 10_000)]

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_reply_nobody_takes_stops_reading_past_its_buffer_limit():
    stream = EndlessStream()
    reply = UpstreamReply(lambda: stream, "web", buffer_limit=50_000)
    assert wait_until(lambda: stream.read >= 6)
    time.sleep(0.2)
    assert stream.read == 6, "paused with a little over 50,000 characters untaken"
    taken = 0
    while (batch := reply.next(5)) is not None:
        taken += sum(len(text) for _, text in batch)
    assert taken == 10_000_000 and stream.read == 1000


def test_closing_a_paused_reply_ends_its_reader():
    stream = EndlessStream()
    reply = UpstreamReply(lambda: stream, "web", buffer_limit=20_000)
    assert wait_until(lambda: stream.read >= 3)
    reply.close()
    assert wait_until(lambda: reply.finished, 3)
    assert stream.aborted and stream.closed and stream.read < 10
