"""Endurance (issue 7, part 3): a soak and a fault-injected load against ZtoApi as deployed.

    python -m bench.endurance soak [--minutes 10 --concurrency 500]   # make soak
    python -m bench.endurance faults [--requests 2000 --cut-every 10] # make faults

soak: N concurrent streams (100 ms between upstream events, about 5 s a stream) for the whole
time; every 10 s the worker's RSS, open descriptors and the fake's open upstream connections are
sampled. Passes with 0 errors, RSS growth at most 5 % after the warm-up (the first fifth), and no
growth in descriptors or upstream connections (the last samples against the first after warm-up).

faults: the fake cuts every n-th upstream stream half-way. Passes when exactly those requests end
with an error event (and [DONE]) and every other stream is complete and correct.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import procstat
from bench.dialects import DIALECTS
from bench.processes import API_KEY
from bench.processes import ROOT
from bench.processes import FakeUpstream
from bench.processes import ZtoApi
from bench.processes import pinning

SAMPLE_SECONDS = 10
RSS_GROWTH_LIMIT = 0.05
SLACK = 1.02   # descriptors and connections may wobble by a stream or two between samples


def loadgen(prefix, url, *args):
    """Start the load generator; its JSON summary is on stdout when it ends."""
    return subprocess.Popen(prefix + [sys.executable, "-m", "bench.loadgen", "--url", url, "--target", "ztoapi",
                                      "--key", API_KEY, *map(str, args)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary(process):
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed: {err[-2000:]}")
    return json.loads(out)


class Sampler(threading.Thread):
    """Samples the worker's RSS and descriptors and the fake's open connections."""

    def __init__(self, worker, fake):
        super().__init__(daemon=True)
        self.worker, self.fake = worker, fake
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        began = time.monotonic()
        while not self.stopping.wait(SAMPLE_SECONDS):
            try:
                sample = {"t_s": round(time.monotonic() - began),
                          "rss_mb": round(procstat.memory_mb(self.worker)["rss"], 1),
                          "fds": procstat.open_fds(self.worker),
                          "upstream_connections": self.fake.stats()["open_connections"]}
            except OSError as error:   # a busy fake answering late costs a sample, not the soak
                print(f"[soak] sample skipped: {error!r}", file=sys.stderr, flush=True)
                continue
            self.samples.append(sample)
            print(f"[soak] {sample}", file=sys.stderr, flush=True)

    def stop(self):
        self.stopping.set()
        self.join()
        return self.samples


def soak(args, fake, ztoapi, client_prefix):
    fake.set_delay(100)
    sampler = Sampler(ztoapi.worker, fake)
    sampler.start()
    result = summary(loadgen(client_prefix, ztoapi.url, "--concurrency", args.concurrency,
                             "--duration", args.minutes * 60, "--ramp", 5, "--timeout", 60))
    samples = sampler.stop()
    warm = samples[max(len(samples) // 5, 1):]
    first, last = warm[0], warm[-3:]   # after warm-up, and the end (a few samples: no single dip)
    verdict = {
        "errors": result["errors"],
        "rss_growth": max(s["rss_mb"] for s in last) / first["rss_mb"] - 1,
        "fds_first_last": (first["fds"], max(s["fds"] for s in last)),
        "upstream_connections_first_last": (first["upstream_connections"],
                                            max(s["upstream_connections"] for s in last)),
    }
    verdict["passed"] = (result["errors"] == 0 and verdict["rss_growth"] <= RSS_GROWTH_LIMIT
                         and verdict["fds_first_last"][1] <= verdict["fds_first_last"][0] * SLACK
                         and verdict["upstream_connections_first_last"][1]
                         <= verdict["upstream_connections_first_last"][0] * SLACK)
    return {"load": result, "samples": samples, "verdict": verdict}


def faults(args, fake, ztoapi, client_prefix):
    fake.set_delay(2, cut_every=args.cut_every)
    before = fake.stats()
    result = summary(loadgen(client_prefix, ztoapi.url, "--concurrency", args.concurrency,
                             "--requests", args.requests, "--timeout", 60))
    cut = fake.stats()["cut"] - before["cut"]
    kinds = result["errors_by_kind"]
    verdict = {"requests": args.requests, "cut_upstream": cut, "error_events": kinds.get("error_event", 0),
               "other_errors": {kind: n for kind, n in kinds.items() if kind != "error_event"},
               "complete_and_correct": result["ok"]}
    verdict["passed"] = (verdict["error_events"] == cut and not verdict["other_errors"]
                         and result["ok"] == args.requests - cut)
    return {"load": result, "verdict": verdict}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("soak", "faults"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cut-every", type=int, default=10)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.concurrency = args.concurrency or (500 if args.mode == "soak" else 100)
    ztoapi_prefix, client_prefix = pinning()
    logs = Path(tempfile.mkdtemp(prefix="ztoapi-endurance-logs-"))
    fake = FakeUpstream(client_prefix, logs / "fakeupstream.log")
    try:
        ztoapi = ZtoApi(ztoapi_prefix, DIALECTS["2025"].ztoapi_env(fake.url), logs / "ztoapi.log")
        try:
            outcome = (soak if args.mode == "soak" else faults)(args, fake, ztoapi, client_prefix)
        finally:
            ztoapi.stop()
    finally:
        fake.stop()
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.mode}.json").write_text(json.dumps(outcome, indent=1))
    print(json.dumps(outcome["verdict"], indent=1))
    return 0 if outcome["verdict"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
