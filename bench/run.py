"""Run the benchmark: the fake upstream, ZtoApi under gunicorn, the scenarios, direct and through ZtoApi,
for each upstream (chat.z.ai's 2025 and 2026 dialects, Z.ai's API).

    python -m bench.run                      # scenarios a-d, thinking off, 3 runs each, every dialect
    python -m bench.run --thinking --max-concurrency-search --profile   # what `make bench` runs
    python -m bench.run --quick              # the smoke: tiny counts, one run, seconds
    python -m bench.run --dialects 2026 --scenarios a,b --runs 1        # a subset

Writes bench/results/latest.json and latest.md (or --results DIR) and docs/bench.png; prints
the Markdown. See bench/README.md.
"""
import argparse
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):   # run as a file (python bench/run.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402

from bench import aggregate  # noqa: E402
from bench import report  # noqa: E402
from bench import scenarios  # noqa: E402
from bench.measure import measure  # noqa: E402
from bench.dialects import DIALECTS  # noqa: E402
from bench.measure import run_loadgen  # noqa: E402
from bench.processes import ROOT  # noqa: E402
from bench.processes import FakeUpstream  # noqa: E402
from bench.processes import ZtoApi  # noqa: E402
from bench.processes import pinning  # noqa: E402

PROFILE_SECONDS = 12
RESULTS = ROOT / "bench" / "results"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke size: tiny counts, one run, no chart")
    parser.add_argument("--scenarios", default="a,b,c,d", help="comma-separated, of a,b,c,d")
    parser.add_argument("--dialects", default="2025,2026,api",
                        help="comma-separated, of 2025, 2026 and api, in order; NAME:off or NAME:on runs that "
                             "dialect in one thinking mode only (e.g. 2025,2026:on). The search and the profile "
                             "run on the first")
    parser.add_argument("--thinking", action="store_true", help="also run every scenario with thinking on")
    parser.add_argument("--runs", type=int, help="runs per scenario and path (default 3, quick 1)")
    parser.add_argument("--max-concurrency-search", action="store_true",
                        help="after (c), raise the concurrency until errors appear")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graph of scenario (b)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="directory for latest.json and latest.md (and, when not the default, the "
                             "chart and flame graph, which otherwise go to docs/)")
    parser.add_argument("--framing", choices=("chunked", "close"), default="chunked",
                        help="the fake's SSE framing")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for ZtoApi (e.g. UPSTREAM_POOL_SIZE=2000)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if any reply was wrong or failed (implied by --quick)")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    figures = ROOT / "docs" if args.results == RESULTS else args.results
    args.chart, args.flamegraph = figures / "bench.png", figures / "flamegraph-b.svg"
    table = scenarios.QUICK if args.quick else scenarios.FULL
    try:
        args.plan = [table[name] for name in args.scenarios.split(",")]
    except KeyError as unknown:
        parser.error(f"unknown scenario {unknown}; use a, b, c, d")
    args.dialect_plan = []
    for item in args.dialects.split(","):
        name, _, mode = item.partition(":")
        if name not in DIALECTS or mode not in ("", "off", "on"):
            parser.error(f"unknown dialect {item!r}; use {', '.join(DIALECTS)}, each optionally :off or :on")
        args.dialect_plan.append((name, (mode,) if mode else ("off", "on") if args.thinking else ("off",)))
    if len({name for name, _ in args.dialect_plan}) < len(args.dialect_plan):
        parser.error("name each dialect once")
    return args


def say(message):
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def brief(run):
    ttft = run["ttft_ms"]["p50"]
    extra = f", ZtoApi CPU {run['ztoapi_cpu_ms_per_request']:.3f} ms/req" if run.get("ztoapi_cpu_ms_per_request") else ""
    return (f"ok {run['ok']} errors {run['errors']} {run['errors_by_kind'] or ''}, TTFT p50 "
            f"{ttft if ttft is None else round(ttft, 2)} ms, {run['events_per_s']:,.0f} events/s{extra}")


class Harness:
    """The fake upstream (one for the whole run, speaking one dialect at a time) and ZtoApi, pinned.
    ZtoApi is started afresh for each scenario, so its peak RSS is that scenario's; the smoke
    (--quick) shares one per dialect."""

    def __init__(self, args, logs):
        self.args = args
        self.logs = logs
        self.pin_ztoapi, self.pin_clients = pinning()
        self.extra_env = dict(item.split("=", 1) for item in args.env)
        self.fake = FakeUpstream(self.pin_clients, logs / "fakeupstream.log", args.framing)
        self.dialect = None
        self.shared = None

    def use(self, dialect):
        """Measure `dialect` from now on: the fake speaks it, ZtoApi starts with its settings."""
        if self.shared:
            self.shared.stop()
            self.shared = None
        self.fake.set_dialect(dialect)
        self.dialect = dialect

    @contextmanager
    def ztoapi(self, label):
        """ZtoApi for one scenario, warmed up."""
        if self.args.quick:
            self.shared = self.shared or self._start("all")
            yield self.shared
            return
        ztoapi = self._start(label)
        try:
            yield ztoapi
        finally:
            ztoapi.stop()

    def _start(self, label):
        ztoapi = ZtoApi(self.pin_ztoapi, DIALECTS[self.dialect].ztoapi_env(self.fake.url),
                        self.logs / f"ztoapi-{self.dialect}-{label}.log", self.extra_env)
        say(f"ZtoApi {ztoapi.url} (worker {ztoapi.worker}) for {self.dialect}, {label}")
        try:
            self.load(ztoapi, "ztoapi", scenarios.WARM_UP, False)
        except BaseException:
            ztoapi.stop()
            raise
        return ztoapi

    def load(self, ztoapi, target, scenario, thinking):
        """The load generator alone, unmeasured."""
        return run_loadgen(self.pin_clients, ztoapi.url, target, self.dialect, scenario, thinking)

    def measure(self, ztoapi, target, scenario, thinking):
        result = measure(scenario, target, self.dialect, thinking, self.fake, ztoapi, self.pin_clients)
        say("  " + brief(result))
        return result

    def stop(self):
        if self.shared:
            self.shared.stop()
        self.fake.stop()


def run_dialect(harness, name, modes):
    """Every scenario in each thinking mode, for one dialect."""
    harness.use(name)
    dialect = DIALECTS[name]
    say(f"dialect {name}: {dialect.title}, model {dialect.model} ({dialect.upstream_model} upstream)")
    results = {"title": dialect.title, "model": dialect.model, "upstream_model": dialect.upstream_model,
               "ztoapi_env": dialect.ztoapi_env("<fake>"), "modes": run_scenarios(harness, modes)}
    results["chat_creation"] = {mode: found for mode, scenarios in results["modes"].items()
                                if (found := aggregate.chat_creation(scenarios))}
    return results


def run_scenarios(harness, modes):
    found = {}
    for mode in modes:
        found[mode] = {}
        for scenario in harness.args.plan:
            runs = {"direct": [], "ztoapi": []}
            with harness.ztoapi(f"{scenario.name}-thinking-{mode}") as ztoapi:
                for number in range(1, harness.args.runs + 1):
                    for target in ("direct", "ztoapi"):
                        say(f"{harness.dialect}, thinking {mode}, ({scenario.name}) {scenario.title}, "
                            f"run {number}, {target}")
                        runs[target].append(harness.measure(ztoapi, target, scenario, mode == "on"))
                code = ztoapi.code
            found[mode][scenario.name] = aggregate.scenario_result(scenario, runs["direct"], runs["ztoapi"])
            found[mode][scenario.name]["ztoapi_code"] = code
    return found


def fd_room():
    """How many streams the descriptor limit allows ZtoApi (two descriptors a stream)."""
    return (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 200) // 2


def search_concurrency(harness):
    """Scenario (c) at rising concurrency, once each on a fresh ZtoApi, until a level has errors."""
    levels, largest, stopped = [], None, None
    for concurrency in scenarios.SEARCH_LEVELS:
        if concurrency > fd_room():
            stopped = f"stopped below {concurrency:,}: the descriptor limit allows {fd_room():,} streams"
            break
        say(f"concurrency search: {concurrency:,} streams")
        with harness.ztoapi(f"c-{concurrency}") as ztoapi:
            result = harness.measure(ztoapi, "ztoapi", scenarios.search_step(concurrency), False)
        levels.append({"concurrency": concurrency, "result": aggregate.strip_percentiles(result)})
        if result["errors"] or result.get("worker_restarted"):
            stopped = f"errors at {concurrency:,}"
            break
        largest = concurrency
    return {"levels": levels, "largest_ok": largest, "stopped": stopped}


def profile_b(harness):
    from bench import profile

    scenario = scenarios.FULL["b"]
    load = scenarios.Scenario("b", scenario.title, True, scenario.concurrency, 0.0,
                              duration=PROFILE_SECONDS + 2)
    harness.fake.set_delay(0.0)
    with harness.ztoapi("b-profile") as ztoapi:
        say(f"profiling scenario (b) with py-spy, {PROFILE_SECONDS} s twice")
        found = profile.profile_b(ztoapi.worker, PROFILE_SECONDS, harness.args.flamegraph,
                                  harness.args.results / "profile-b.collapsed.txt",
                                  lambda: harness.load(ztoapi, "ztoapi", load, False))
    for name in ("flamegraph", "collapsed"):
        if name in found:
            found[name] = shown(Path(found[name]))
    return found


def shown(path):
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def optional(step, harness):
    """An extra step whose failure is reported in the results instead of losing the runs before it."""
    try:
        return step(harness)
    except Exception as error:   # noqa: BLE001 - any failure of an extra step is a result to report
        say(f"{step.__name__} failed: {error!r}")
        return {"error": repr(error), "levels": [], "largest_ok": None, "skipped": repr(error)}


def git_head():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except OSError:
        return None


def meta(args, pinned):
    pinning_text = ("ZtoApi on CPU 0, fake + load generator on CPU 1 (taskset)" if pinned
                    else "not pinned (no taskset or a single CPU)")
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "command": "python -m bench.run " + shlex.join(sys.argv[1:]),
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}, "
                       f"Python {platform.python_version()}",
            "pinning": pinning_text, "runs": args.runs, "git_head": git_head(), "framing": args.framing, "env": args.env,
            "load_average_at_start": os.getloadavg()}


def main(argv=None):
    args = parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="ztoapi-bench-logs-"))
    harness = Harness(args, logs)
    say(f"fake upstream {harness.fake.url} (pid {harness.fake.pid}); logs in {logs}")
    try:
        results = {"meta": meta(args, bool(harness.pin_ztoapi))}
        results["meta"]["logs"] = str(logs)
        results["dialects"] = {name: run_dialect(harness, name, modes) for name, modes in args.dialect_plan}
        first = args.dialect_plan[0][0]
        if args.profile:
            harness.use(first)
            results["profile"] = {**optional(profile_b, harness), "dialect": first}
        if args.max_concurrency_search:
            harness.use(first)
            results["search"] = {**optional(search_concurrency, harness), "dialect": first}
        for name, dialect in results["dialects"].items():
            dialect["goals"] = aggregate.goals(dialect, results.get("search") if name == first else None)
        results["meta"]["load_average_at_end"] = os.getloadavg()
    finally:
        harness.stop()
    return finish(args, results)


def finish(args, results):
    stem = "quick" if args.quick else "latest"
    (args.results / f"{stem}.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    text = report.markdown(results)
    (args.results / f"{stem}.md").write_text(text + "\n")
    if not args.quick:
        from bench import chart
        chart.draw(results, args.chart)
    print(text)
    failed = sum(aggregate.errors(result) for dialect in results["dialects"].values()
                 for mode in dialect["modes"].values() for result in mode.values())
    if (args.check or args.quick) and failed:
        say(f"{failed} request(s) failed or had a wrong reply")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
