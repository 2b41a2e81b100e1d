"""From runs to figures: medians over runs, ZtoApi against direct, issue 16's goals per dialect, and
what creating the chat costs in the 2026 dialect."""
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
    "chat_p50_ms": lambda r: r["chat_ms"]["p50"],
    "chat_p99_ms": lambda r: r["chat_ms"]["p99"],
    "chat_span_p50_ms": lambda r: r["fake_chat_span_ms"]["p50"],
    "chat_span_p99_ms": lambda r: r["fake_chat_span_ms"]["p99"],
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
    figures["fake_rejected_why"] = merged_counts(r.get("fake_rejected_why") or {} for r in runs)
    figures["fake_chats_created_total"] = sum(r.get("fake_chats_created") or 0 for r in runs)
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


def at_most(measured, limit):
    return measured <= limit


def at_least(measured, limit):
    return measured >= limit


def compared(key):
    return lambda result: result["compare"][key]


def through_ztoapi(key):
    return lambda result: result["ztoapi"][key]


def errors(result):
    return result["direct"]["errors_total"] + result["ztoapi"]["errors_total"]


GOALS = (   # issue 16: (scenario, what, unit, figure of the thinking-off result, limit, test, the goal as written)
    ("a", "first-token overhead vs direct, p50", "ms", compared("ttft_overhead_p50_ms"), 1.0, at_most, "+≤ 1 ms"),
    ("a", "first-token overhead vs direct, p99", "ms", compared("ttft_overhead_p99_ms"), 3.0, at_most, "+≤ 3 ms"),
    ("b", "streams/s vs direct", "×", compared("events_rate_vs_direct"), 0.8, at_least, "≥ 0.8×"),
    ("b", "ZtoApi CPU per stream", "ms", through_ztoapi("ztoapi_cpu_ms_per_request"), 1.0, at_most, "≤ 1.0 ms"),
    ("c", "errors, both paths, all runs", "", errors, 0, at_most, "0"),
    ("c", "first-token p99", "ms", through_ztoapi("ttft_p99_ms"), 400.0, at_most, "≤ 400 ms"),
    ("c", "ZtoApi peak RSS", "MB", through_ztoapi("ztoapi_peak_rss_mb"), 200.0, at_most, "≤ 200 MB"),
    ("d", "ZtoApi CPU per request", "ms", through_ztoapi("ztoapi_cpu_ms_per_request"), 1.0, at_most, "≤ 1.0 ms"),
)
SEARCH_AIM = 5000
THINKING_LIMIT = 1.0   # thinking on costs no more per upstream event than thinking off


def goal(row, unit, measured, limit, passed, written, note=None):
    return {"row": row, "unit": unit, "measured": measured, "limit": limit, "goal": written, "note": note,
            "met": None if measured is None else passed(measured, limit)}


def goals(dialect, search=None):
    """Issue 16's goals for one dialect's results (`search`: the concurrency search, if it ran on
    this dialect); `met` is None where the figure is missing."""
    modes = dialect["modes"]
    off = modes.get("off", {})
    found = [goal(f"({name}) {what}", unit, safe(read, off[name]), limit, test, written)
             for name, what, unit, read, limit, test, written in GOALS if name in off]
    if search:
        after = max((i + 1 for i, row in enumerate(found) if row["row"].startswith("(c)")), default=len(found))
        found.insert(after, goal("(c) largest concurrency with 0 errors (search)", "", search.get("largest_ok"),
                                 SEARCH_AIM, at_least, f"≥ {SEARCH_AIM:,}"))
    ratio, worst = thinking_ratio(off, modes.get("on", {}))
    if worst:
        found.append(goal("thinking on / off, ZtoApi CPU per upstream event (largest of the scenarios)", "×",
                          ratio, THINKING_LIMIT, at_most, f"≤ {THINKING_LIMIT:.1f}×", f"({worst})"))
    every = sum(errors(result) for mode in modes.values() for result in mode.values())
    found.append(goal("errors, every scenario, thinking off and on", "", every, 0, at_most, "0"))
    return found


def thinking_ratio(off, on):
    """The largest ratio of ZtoApi's CPU per upstream event with thinking on to thinking off, and its scenario."""
    ratios = {}
    for name in sorted(set(off) & set(on)):
        was, now = off[name]["ztoapi"]["ztoapi_cpu_us_per_event"], on[name]["ztoapi"]["ztoapi_cpu_us_per_event"]
        if was and now is not None:
            ratios[name] = now / was
    if not ratios:
        return None, None
    worst = max(ratios, key=ratios.get)
    return ratios[worst], worst


def chat_creation(mode):
    """Per scenario (2026): what creating the chat takes, on each path, beside the first-token time.
    Direct: the load generator's round trip (chats/new written → its answer read); both paths: the
    fake's time from a chats/new request to the completion naming that chat."""
    found = {}
    for name, result in mode.items():
        direct, ztoapi = result["direct"], result["ztoapi"]
        if not (direct.get("fake_chats_created_total") or ztoapi.get("fake_chats_created_total")):
            continue
        found[name] = {
            "direct_round_trip_p50_ms": direct.get("chat_p50_ms"),
            "direct_round_trip_p99_ms": direct.get("chat_p99_ms"),
            "direct_span_p50_ms": direct.get("chat_span_p50_ms"),
            "ztoapi_span_p50_ms": ztoapi.get("chat_span_p50_ms"),
            "ztoapi_span_p99_ms": ztoapi.get("chat_span_p99_ms"),
            "direct_ttft_p50_ms": direct.get("ttft_p50_ms") if result["stream"] else None,
            "ztoapi_ttft_p50_ms": ztoapi.get("ttft_p50_ms") if result["stream"] else None}
    return found
