"""The 2026 direct path's first step: create the chat on the connection its completion then uses,
as ZtoApi does."""
import asyncio
import time

import orjson

from bench.payloads_2026 import random_id


class ChatOpening:
    """Creates a chat (bench.payloads_2026.Requests2026) and gives the completion request naming it."""

    def __init__(self, requests, timeout):
        self.requests = requests
        self.timeout = timeout

    async def __call__(self, connection, tally):
        """The completion request of a chat created now; None once a failure is counted in `tally`."""
        message_id = random_id()
        began = time.perf_counter()
        exchange = connection.send(self.requests.new_chat(message_id))
        try:
            await asyncio.wait_for(exchange.done, self.timeout)
        except asyncio.TimeoutError:
            tally.error("timeout", f"no answer to chats/new in {self.timeout} s")
            return None
        if exchange.error is not None:
            tally.error("connection_lost", repr(exchange.error))
            return None
        if exchange.status != 200:
            tally.error(f"http_{exchange.status}", exchange.content()[:200].decode("utf-8", "replace"))
            return None
        try:
            chat_id = orjson.loads(exchange.content())["id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            tally.error("bad_json", exchange.content()[:200].decode("utf-8", "replace"))
            return None
        tally.chat_created(exchange.finished - began)
        return self.requests.completion(chat_id, message_id)
