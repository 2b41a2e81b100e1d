"""From runs to figures: medians over runs, ZtoApi against direct, and the targets of issue 7."""
from bench.stats import median

FIGURES = {   # name in the results → how to read it from one run's summary
    "ok": lambda r: r["ok"],
    "errors": lambda r: r["errors"],
    "requests_per_s": lambda r: r["requests_per_s"],
    "events_per_s": lambda r: r["events_per_s"],
    "chunks_per_reply": lambda r: r["chunks_per_reply"],
    "chunks_per_s": lambda r: r["chunks_per_s"],
    "ttft_p50_ms": lambda r: r["ttft_ms"]["p50"],
    "ttft_p90_ms": lambda r: r["ttft_ms"]["p90"],
    "ttft_p99_ms": lambda r: r["ttft_ms"]["p99"],
    "ttft_max_ms": lambda r: r["ttft_ms"]["max"],
    "total_p50_ms": lambda r: r["total_ms"]["p50"],
    "total_p99_ms": lambda r: r["total_ms"]["p99"],
    "fake_cpu_s": lambda r: r["fake_cpu_s"],
    "loadgen_cpu_s": lambda r: r["loadgen_cpu_s"],
    "cpu1_busy": lambda r: r["cpu1_busy"],
    "ztoapi_cpu_s": lambda r: r.get("ztoapi_cpu_s"),
    "ztoapi_busy": lambda r: r.get("ztoapi_busy"),
    "ztoapi_cpu_stolen": lambda r: r.get("ztoapi_cpu_stolen"),
    "ztoapi_cpu_ms_per_request": lambda r: r.get("ztoapi_cpu_ms_per_request"),
    "ztoapi_cpu_us_per_event": lambda r: r.get("ztoapi_cpu_us_per_event"),
    "ztoapi_peak_rss_mb": lambda r: r.get("ztoapi_peak_rss_mb"),
    "ztoapi_hwm_mb": lambda r: r.get("ztoapi_hwm_mb"),
}
PAIRED = {   # ZtoApi's run against the direct run made just before it
    "ttft_overhead_p50_ms": lambda z, d: z["ttft_ms"]["p50"] - d["ttft_ms"]["p50"],
    "ttft_overhead_p99_ms": lambda z, d: z["ttft_ms"]["p99"] - d["ttft_ms"]["p99"],
    "total_overhead_p50_ms": lambda z, d: z["total_ms"]["p50"] - d["total_ms"]["p50"],
    "events_rate_vs_direct": lambda z, d: z["events_per_s"] / d["events_per_s"] if d["events_per_s"] else None,
}


def safe(read, *runs):
    try:
        return read(*runs)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def percentiles_median(runs, key):
    """The per-percentile median of the runs' latency distributions (for the chart)."""
    vectors = [r[key]["percentiles"] for r in runs if r[key].get("percentiles")]
    return [median(column) for column in zip(*vectors)] if vectors else []


def summarise_path(runs):
    """Median figures of one path (direct or ZtoApi) over its runs."""
    figures = {name: median([safe(read, r) for r in runs]) for name, read in FIGURES.items()}
    figures["errors_total"] = sum(r["errors"] for r in runs)
    figures["fake_rejected_total"] = sum(r["fake_rejected"] for r in runs)
    figures["errors_by_kind"] = merged_counts(r["errors_by_kind"] for r in runs)
    figures["error_examples"] = [e for r in runs for e in r["error_examples"]][:5]
    figures["ztoapi_log"] = merged_counts(r.get("ztoapi_log") or {} for r in runs)
    figures["runs"] = len(runs)
    figures["ttft_percentiles_ms"] = percentiles_median(runs, "ttft_ms")
    figures["total_percentiles_ms"] = percentiles_median(runs, "total_ms")
    figures["worker_restarted"] = any(r.get("worker_restarted") for r in runs)
    return figures


def merged_counts(tallies):
    merged = {}
    for tally in tallies:
        for key, count in tally.items():
            merged[key] = merged.get(key, 0) + count
    return merged


def compare(ztoapi_runs, direct_runs):
    """Medians of ZtoApi-minus-direct figures, each run paired with its direct run."""
    pairs = list(zip(ztoapi_runs, direct_runs))
    return {name: median([safe(read, z, d) for z, d in pairs]) for name, read in PAIRED.items()}


def strip_percentiles(run):
    """A run's summary without the percentile vectors (kept once, as medians)."""
    return {k: ({kk: vv for kk, vv in v.items() if kk != "percentiles"} if k in ("ttft_ms", "total_ms") else v)
            for k, v in run.items()}


def scenario_result(scenario, direct_runs, ztoapi_runs):
    return {"title": scenario.title, "stream": scenario.stream, "concurrency": scenario.concurrency,
            "delay_ms": scenario.delay_ms, "requests": scenario.requests, "duration_s": scenario.duration,
            "ramp_s": scenario.ramp,
            "direct": summarise_path(direct_runs), "ztoapi": summarise_path(ztoapi_runs),
            "compare": compare(ztoapi_runs, direct_runs),
            "runs": {"direct": [strip_percentiles(r) for r in direct_runs],
                     "ztoapi": [strip_percentiles(r) for r in ztoapi_runs]}}


def target(name, measured, limit, passed):
    return {"target": name, "measured": measured, "limit": limit,
            "met": None if measured is None else passed(measured, limit)}


def at_most(measured, limit):
    return measured <= limit


def at_least(measured, limit):
    return measured >= limit


def compared(key):
    return lambda result: result["compare"][key]


def through_ztoapi(key):
    return lambda result: result["ztoapi"][key]


SCENARIO_TARGETS = (   # (scenario, what, figure of the thinking-off result, limit, test)
    ("a", "first-token overhead vs direct, p50 (ms)", compared("ttft_overhead_p50_ms"), 1.0, at_most),
    ("a", "first-token overhead vs direct, p99 (ms)", compared("ttft_overhead_p99_ms"), 3.0, at_most),
    ("b", "ZtoApi CPU per 50-chunk stream (ms)", through_ztoapi("ztoapi_cpu_ms_per_request"), 1.0, at_most),
    ("b", "ZtoApi CPU per relayed event (µs)", through_ztoapi("ztoapi_cpu_us_per_event"), 20.0, at_most),
    ("b", "relayed events/s vs direct", compared("events_rate_vs_direct"), 0.8, at_least),
    ("c", "errors over all runs", through_ztoapi("errors_total"), 0, at_most),
    ("c", "first-token p99 (ms)", through_ztoapi("ttft_p99_ms"), 400.0, at_most),
    ("c", "ZtoApi peak RSS (MB)", through_ztoapi("ztoapi_peak_rss_mb"), 200.0, at_most),
    ("d", "ZtoApi CPU per non-streaming request (ms)", through_ztoapi("ztoapi_cpu_ms_per_request"), 1.0, at_most),
)


def targets(modes, search=None):
    """Issue 7's targets with the measured figures; `met` is None where the figure is missing."""
    off = modes.get("off", {})
    found = [target(f"({name}) {what}", read(off[name]), limit, test)
             for name, what, read, limit, test in SCENARIO_TARGETS if name in off]
    if search:
        found.append(target("(c) largest concurrency with 0 errors (aim)", search.get("largest_ok"), 5000, at_least))
    return found + thinking_targets(off, modes.get("on", {}))


def thinking_targets(off, on):
    """Thinking on within 25 % of thinking off: CPU per upstream event, first-token overhead."""
    found = []
    for name in sorted(set(off) & set(on)):
        found.append(ratio_target(f"({name}) thinking on / off, ZtoApi CPU per event",
                                  on[name]["ztoapi"]["ztoapi_cpu_us_per_event"],
                                  off[name]["ztoapi"]["ztoapi_cpu_us_per_event"]))
        if off[name]["stream"]:
            found.append(ratio_target(f"({name}) thinking on / off, first-token overhead p50",
                                      on[name]["compare"]["ttft_overhead_p50_ms"],
                                      off[name]["compare"]["ttft_overhead_p50_ms"]))
        found.append(target(f"({name}) thinking on, errors over all runs", on[name]["ztoapi"]["errors_total"], 0, at_most))
    return found


def ratio_target(name, on, off):
    ratio = on / off if on is not None and off else None
    return target(name, ratio, 1.25, at_most)
