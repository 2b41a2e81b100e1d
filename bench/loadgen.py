"""Async load generator: N keep-alive clients against ZtoApi, or straight against the fake upstream.

    python -m bench.loadgen --url http://127.0.0.1:9090 --target ztoapi --concurrency 64 --duration 20
    python -m bench.loadgen --url http://127.0.0.1:PORT --target direct --dialect 2026 --requests 200

Per request: time to the first content delta (TTFT), total time, chunks; every reply is parsed
and its text compared with the expected one. The direct path sends what ZtoApi sends upstream in
the fake's dialect; in 2026 that is two requests on one connection (the chat created first), and
TTFT counts from writing the first. Prints one JSON object (see `summarise`).
"""
import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from bench import payloads
from bench import payloads_2026
from bench import payloads_api
from bench import reply
from bench import runtime
from bench import verify
from bench.chat_opening import ChatOpening
from bench.dialects import DIALECTS
from bench.http_client import connect
from bench.http_client import request_bytes
from bench.stats import brief
from bench.stats import distribution

ERROR_EXAMPLES = 5


@dataclass
class Load:
    url: str
    target: str = "ztoapi"          # ztoapi | direct
    dialect: str = "2025"           # the fake's: what the direct path sends, what ZtoApi is asked for
    stream: bool = True             # ZtoApi only: the direct baseline is always the upstream stream
    thinking: bool = False
    concurrency: int = 1
    requests: int | None = None     # total requests, or
    duration: float | None = None   # seconds during which requests are started
    ramp: float = 0.0               # seconds over which the clients start
    timeout: float = 60.0
    key: str = "sk-bench"


class Budget:
    """Whether a client may start another request."""

    def __init__(self, load):
        self.left = load.requests
        self.deadline = None if load.duration is None else time.perf_counter() + load.duration

    def take(self):
        if self.deadline is not None:
            return time.perf_counter() < self.deadline
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class Tally:
    """What the clients measured."""

    def __init__(self):
        self.ttft, self.total, self.chunks = [], [], []
        self.chats = []   # 2026, direct: seconds from writing chats/new to its whole answer
        self.errors = {}
        self.examples = []
        self.started = 0

    def ok(self, ttft, total, chunks):
        self.ttft.append(ttft)
        self.total.append(total)
        self.chunks.append(chunks)

    def chat_created(self, seconds):
        self.chats.append(seconds)

    def error(self, kind, detail=""):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < ERROR_EXAMPLES:
            self.examples.append(f"{kind}: {detail}"[:300])


class Shape:
    """How one kind of reply is requested, watched and checked; `opening(connection, tally)`, when
    set, makes the request on the connection first (None: it failed)."""

    def __init__(self, request, watch, check, stream, opening=None):
        self.request = request
        self.watch = watch
        self.check = check
        self.stream = stream
        self.opening = opening


async def guest_credential(host, port):
    """A guest token from the fake's /api/v1/auths/, as ZtoApi mints one."""
    connection = await connect(host, port)
    exchange = connection.send(request_bytes("GET", host, port, "/api/v1/auths/"))
    await exchange.done
    connection.close()
    guest = orjson.loads(exchange.content())
    return guest["token"], guest["id"]


def upstream_watch():
    return verify.FirstContent(verify.upstream_has_content)


async def direct_shape(load, host, port):
    """The upstream request ZtoApi would send in the fake's dialect."""
    if load.dialect == "api":
        return Shape(payloads_api.api_request(host, port, load.thinking),
                     lambda: verify.FirstContent(verify.openai_has_content), verify.check_openai_stream, True)
    token, user_id = await guest_credential(host, port)
    if load.dialect == "2026":
        requests = payloads_2026.Requests2026(host, port, token, user_id, load.thinking)
        return Shape(None, upstream_watch, verify.check_upstream_2026, True, ChatOpening(requests, load.timeout))
    return Shape(payloads.upstream_request(host, port, token, user_id, load.thinking), upstream_watch,
                 verify.check_upstream_stream, True)


async def shape_for(load, host, port):
    if load.target == "direct":
        return await direct_shape(load, host, port)
    request = payloads.openai_request(host, port, load.key, load.stream, load.thinking,
                                      DIALECTS[load.dialect].model)
    if load.stream:
        return Shape(request, lambda: verify.FirstContent(verify.openai_has_content),
                     verify.check_openai_stream, True)
    return Shape(request, lambda: None, verify.check_completion, False)


async def client(index, load, shape, host, port, budget, tally):
    """One client: its share of the ramp, then requests one after another on one connection."""
    if load.ramp:
        await asyncio.sleep(load.ramp * index / load.concurrency)
    connection = None
    while budget.take():
        tally.started += 1
        if connection is None or connection.closed:
            try:
                connection = await asyncio.wait_for(connect(host, port), load.timeout)
            except (OSError, asyncio.TimeoutError) as error:
                tally.error("connect", repr(error))
                connection = None
                await asyncio.sleep(0.1)
                continue
        started = time.perf_counter()
        request = shape.request
        if shape.opening is not None:
            request = await shape.opening(connection, tally)
            if request is None:
                connection.close()
                connection = None
                continue
        exchange = connection.send(request, shape.watch())
        try:
            await asyncio.wait_for(exchange.done, load.timeout)
        except asyncio.TimeoutError:
            tally.error("timeout", f"no complete reply in {load.timeout} s (status {exchange.status})")
            connection.close()
            connection = None
            continue
        if exchange.error is not None:
            tally.error("connection_lost", repr(exchange.error))
            connection = None
            continue
        if exchange.status != 200:
            tally.error(f"http_{exchange.status}", exchange.content()[:200].decode("utf-8", "replace"))
        else:
            kind, chunks = shape.check(exchange.content(), load.thinking)
            if kind:
                tally.error(kind, exchange.content()[-200:].decode("utf-8", "replace"))
            else:
                first = exchange.marked if shape.stream and exchange.marked else exchange.finished
                tally.ok(first - started, exchange.finished - started, chunks)
        if exchange.close_after:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


async def run(load):
    """Run the load; returns its summary."""
    url = urlsplit(load.url)
    host, port = url.hostname, url.port or 80
    shape = await shape_for(load, host, port)
    tally, budget = Tally(), Budget(load)
    cpu_before, began = runtime.cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(client(i, load, shape, host, port, budget, tally)
                           for i in range(load.concurrency)))
    elapsed = time.perf_counter() - began
    return summarise(load, tally, elapsed, runtime.cpu_seconds() - cpu_before)


def events_per_reply(thinking):
    """Content events the upstream sends per reply (reasoning pieces included)."""
    return reply.ANSWER_EVENTS + (reply.REASONING_EVENTS if thinking else 0)


def summarise(load, tally, elapsed, cpu):
    ok = len(tally.total)
    chunks = sum(tally.chunks)
    return {
        "target": load.target, "stream": load.stream or load.target == "direct", "thinking": load.thinking,
        "concurrency": load.concurrency, "started": tally.started, "ok": ok,
        "errors": sum(tally.errors.values()), "errors_by_kind": tally.errors,
        "error_examples": tally.examples, "elapsed_s": elapsed, "loadgen_cpu_s": cpu,
        "requests_per_s": ok / elapsed if elapsed else 0.0,
        "events_per_reply": events_per_reply(load.thinking),
        "events_per_s": ok * events_per_reply(load.thinking) / elapsed if elapsed else 0.0,
        "chunks_per_reply": chunks / ok if ok else None,
        "chunks_per_s": chunks / elapsed if elapsed else 0.0,
        "ttft_ms": distribution([t * 1000 for t in tally.ttft]),
        "total_ms": distribution([t * 1000 for t in tally.total]),
        "chat_ms": brief([t * 1000 for t in tally.chats]),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="base URL of ZtoApi or of the fake upstream")
    parser.add_argument("--target", choices=("ztoapi", "direct"), default="ztoapi")
    parser.add_argument("--dialect", choices=tuple(DIALECTS), default="2025",
                        help="the fake's upstream: what the direct path sends, which model ZtoApi is asked for")
    parser.add_argument("--json", dest="stream", action="store_false",
                        help="non-streaming requests (ZtoApi only)")
    parser.add_argument("--thinking", action="store_true", help="ask for a reasoning phase")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--ramp", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--key", default="sk-bench", help="ZtoApi's API key")
    args = parser.parse_args(argv)
    if (args.requests is None) == (args.duration is None):
        parser.error("give exactly one of --requests and --duration")
    return Load(**vars(args))


def main(argv=None):
    load = parse_args(argv)
    runtime.raise_fd_limit()
    runtime.use_fast_event_loop()
    sys.stdout.write(orjson.dumps(asyncio.run(run(load))).decode() + "\n")


if __name__ == "__main__":
    main()
