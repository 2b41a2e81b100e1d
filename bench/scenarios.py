"""The benchmark's scenarios (issue 7), full size and the few-second smoke size."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    stream: bool
    concurrency: int
    delay_ms: float                 # pause between upstream events
    requests: int | None = None     # total requests, or
    duration: float | None = None   # seconds during which requests start
    ramp: float = 0.0               # seconds over which the clients start
    timeout: float = 120.0

    def loadgen_args(self):
        args = ["--concurrency", str(self.concurrency), "--ramp", str(self.ramp),
                "--timeout", str(self.timeout)]
        args += ["--requests", str(self.requests)] if self.requests else ["--duration", str(self.duration)]
        return args + ([] if self.stream else ["--json"])


FULL = {
    "a": Scenario("a", "1 stream, 200 requests, 2 ms between events", True, 1, 2.0, requests=200),
    "b": Scenario("b", "64 concurrent streams, no delay, 20 s", True, 64, 0.0, duration=20),
    "c": Scenario("c", "1,000 concurrent streams, 100 ms between events, 2,000 requests, ramp-up 2 s",
                  True, 1000, 100.0, requests=2000, ramp=2.0),
    "d": Scenario("d", "64 concurrent non-streaming, 20 s", False, 64, 0.0, duration=20),
}
QUICK = {
    "a": Scenario("a", "1 stream, 10 requests, 1 ms between events", True, 1, 1.0, requests=10),
    "b": Scenario("b", "8 concurrent streams, no delay, 40 requests", True, 8, 0.0, requests=40),
    "c": Scenario("c", "50 concurrent streams, 5 ms between events, 100 requests, ramp-up 0.2 s",
                  True, 50, 5.0, requests=100, ramp=0.2),
    "d": Scenario("d", "8 concurrent non-streaming, 40 requests", False, 8, 0.0, requests=40),
}
WARM_UP = Scenario("warm-up", "warm-up", True, 4, 0.0, requests=40)
SEARCH_LEVELS = (1000, 2000, 3000, 5000, 7000, 9000)   # 9,000: two descriptors a stream fit 20,000


def search_step(concurrency):
    """Scenario (c) at another concurrency: each client makes two requests."""
    return Scenario(f"c@{concurrency}", f"{concurrency:,} concurrent streams, 100 ms between events",
                    True, concurrency, 100.0, requests=2 * concurrency, ramp=2.0, timeout=180.0)
