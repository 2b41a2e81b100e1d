"""The results as Markdown: issue 16's goals per dialect on top, then per dialect one table per thinking
mode (ZtoApi beside direct), then errors, the concurrency search and the profile."""
from bench.report_goals import chat_sentence
from bench.report_goals import chat_table
from bench.report_goals import goals_table
from bench.tables import counts
from bench.tables import ms
from bench.tables import number
from bench.tables import percent
from bench.tables import table_row

COLUMNS = ("scenario", "path", "ok / errors", "TTFT p50", "TTFT p99", "total p50", "total p99",
           "chunks / reply", "events/s", "ZtoApi CPU / req", "CPU / event", "ZtoApi peak RSS",
           "CPU 1 busy")


def path_row(label, path, figures, stream):
    ttft = (ms(figures["ttft_p50_ms"]), ms(figures["ttft_p99_ms"])) if stream else ("–", "–")
    on_ztoapi = path == "ZtoApi"
    return table_row([
        label, path, f"{number(figures['ok'])} / {figures['errors_total']}", *ttft,
        ms(figures["total_p50_ms"]), ms(figures["total_p99_ms"]),
        number(figures["chunks_per_reply"], 1), number(figures["events_per_s"]),
        ms(figures["ztoapi_cpu_ms_per_request"], 3) if on_ztoapi else "–",
        number(figures["ztoapi_cpu_us_per_event"], 1, " µs") if on_ztoapi else "–",
        number(figures["ztoapi_peak_rss_mb"], 0, " MB") if on_ztoapi else "–",
        percent(figures["cpu1_busy"])])


def scenario_table(mode):
    lines = [table_row(COLUMNS), table_row(["---"] * len(COLUMNS))]
    for name, result in mode.items():
        label = f"({name}) {result['title']}"
        lines.append(path_row(label, "direct", result["direct"], result["stream"]))
        lines.append(path_row("", "ZtoApi", result["ztoapi"], result["stream"]))
    return "\n".join(lines)


def overhead_table(mode):
    lines = [table_row(["scenario", "TTFT overhead p50", "TTFT overhead p99", "total overhead p50",
                        "events/s vs direct", "ZtoApi CPU busy", "ZtoApi waiting for CPU 0"]),
             table_row(["---"] * 7)]
    for name, result in mode.items():
        compare = result["compare"]
        lines.append(table_row([f"({name})", ms(compare["ttft_overhead_p50_ms"]) if result["stream"] else "–",
                                ms(compare["ttft_overhead_p99_ms"]) if result["stream"] else "–",
                                ms(compare["total_overhead_p50_ms"]), percent(compare["events_rate_vs_direct"]),
                                percent(result["ztoapi"]["ztoapi_busy"]),
                                percent(result["ztoapi"]["ztoapi_cpu_stolen"])]))
    return "\n".join(lines)


def error_notes(dialects):
    """Where replies failed: the client's error kinds, what ZtoApi's log says and why the fake
    rejected requests, per dialect and scenario."""
    notes = []
    for dialect, found in dialects.items():
        for mode, scenarios in found["modes"].items():
            for name, result in scenarios.items():
                for path in ("direct", "ztoapi"):
                    figures = result[path]
                    if figures["errors_total"] or (path == "ztoapi" and figures.get("ztoapi_log")):
                        notes.append(f"- {dialect}, thinking {mode}, ({name}), {path}: client saw "
                                     f"{counts(figures['errors_by_kind'])}"
                                     + (f"; ZtoApi's log: {counts(figures['ztoapi_log'])}" if path == "ztoapi" else "")
                                     + (f"; the fake rejected {figures['fake_rejected_total']:,} request(s): "
                                        f"{counts(figures.get('fake_rejected_why') or {})}"
                                        if figures["fake_rejected_total"] else ""))
    return "\n".join(notes)


def search_table(search):
    lines = [table_row(["concurrency", "requests ok / errors", "TTFT p50", "TTFT p99", "ZtoApi CPU busy",
                        "ZtoApi peak RSS", "CPU 1 busy", "client errors", "ZtoApi's log"]), table_row(["---"] * 9)]
    for level in search["levels"]:
        r = level["result"]
        lines.append(table_row([f"{level['concurrency']:,}", f"{r['ok']:,} / {r['errors']:,}",
                                ms(r["ttft_ms"]["p50"]), ms(r["ttft_ms"]["p99"]),
                                percent(r.get("ztoapi_busy")), number(r.get("ztoapi_peak_rss_mb"), 0, " MB"),
                                percent(r["cpu1_busy"]), counts(r["errors_by_kind"]), counts(r.get("ztoapi_log") or {})]))
    return "\n".join(lines)


def profile_table(frames, heading):
    lines = [table_row([heading, "frame"]), table_row(["---"] * 2)]
    for frame in frames:
        lines.append(table_row([f"{frame['share'] * 100:.1f} %", f"`{frame['frame']}`"]))
    return "\n".join(lines)


def idle_note(profile):
    if not profile.get("idle_pool_samples"):
        return ""
    return (f" Left out: {profile['idle_pool_samples']:,} samples of gevent's thread pool waiting for work "
            "(a native thread, idle; py-spy counts its timed waits as active: the `_WorkerGreenlet.run` "
            "tower in the flame graph).")


MODES = (("off", "Thinking off"), ("on", "Thinking on (reasoning phase first)"))


def dialect_section(name, dialect):
    parts = [f"## {dialect['title']} (`{name}`): {dialect['model']}, upstream `{dialect['upstream_model']}`", ""]
    for mode, title in MODES:
        if dialect["modes"].get(mode):
            parts += [f"### {title}", "", scenario_table(dialect["modes"][mode]), "",
                      overhead_table(dialect["modes"][mode]), ""]
    for mode, found in dialect.get("chat_creation", {}).items():
        parts += [f"### Chat creation, thinking {mode}", "",
                  "Direct: the load generator's round trip (chats/new written → its answer read); at the fake, "
                  "on both paths: a chats/new request arriving → the completion naming that chat arriving.", "",
                  chat_table(found), ""]
    return parts


def markdown(results):
    meta = results["meta"]
    dialects = results["dialects"]
    parts = [f"# ZtoApi benchmark ({meta['date']})", "",
             f"`{meta['command']}` on {meta['machine']}; {meta['pinning']}. "
             f"Each figure is the median of {meta['runs']} run(s); TTFT is the time to the first "
             "content delta (for the direct path: the first upstream answer event; in the 2026 dialect "
             "counted from writing the chat-creation request, on both paths). "
             "CPU 1 busy = (fake + load generator CPU) / wall time: near 100 % the harness, not "
             "ZtoApi, limits the run. ZtoApi waiting for CPU 0 = the worker's run-queue wait / wall "
             "time: other processes on its core (noise).", ""]
    codes = {result.get("ztoapi_code") for dialect in dialects.values() for mode in dialect["modes"].values()
             for result in mode.values()}
    if len(codes) > 1:
        parts += ["**ZtoApi's code changed during this run** (its source hash differs between "
                  "scenarios): compare the scenarios with care.", ""]
    parts += ["## Goals (issue 16): ZtoApi against direct in the same run", "", goals_table(dialects), ""]
    parts += [sentence for sentence in (chat_sentence(d) for d in dialects.values()) if sentence]
    parts += [""]
    for name, dialect in dialects.items():
        parts += dialect_section(name, dialect)
    notes = error_notes(dialects)
    if notes:
        parts += ["## Errors and warnings", "", notes, ""]
    if results.get("search"):
        search = results["search"]
        parts += [f"## Largest concurrency with 0 errors (scenario c, {search.get('dialect')}, one run each)", "",
                  f"Largest with 0 errors: **{number(search['largest_ok'])}**"
                  f"{' (' + search['stopped'] + ')' if search.get('stopped') else ''}.", "",
                  search_table(search), ""]
    if results.get("profile"):
        parts += profile_section(results["profile"])
    return "\n".join(parts)


def profile_section(profile):
    if profile.get("top_own"):
        return [f"## Profile of scenario (b), {profile.get('dialect')}: top frames by own time "
                f"({profile['samples']:,} samples)", "",
                f"Flame graph: `{profile['flamegraph']}` (py-spy, {profile['rate']} "
                f"samples/s, {profile['seconds']} s, under {profile['load']['ok']:,} requests with "
                f"{profile['load']['errors']} errors)." + idle_note(profile), "",
                profile_table(profile["top_own"], "own time"), "",
                "ZtoApi's functions by inclusive time (share of samples with the function on the stack):", "",
                profile_table(profile["top_inclusive_ztoapi"], "inclusive"), ""]
    if profile.get("skipped"):
        return ["## Profile of scenario (b)", "", f"Not recorded: {profile['skipped']}", ""]
    return []
