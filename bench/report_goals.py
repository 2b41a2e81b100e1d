"""The report's top: issue 16's goals, one column per dialect, and what creating the chat costs in 2026."""
from bench.tables import figure
from bench.tables import ms
from bench.tables import percent
from bench.tables import table

MET = {True: "yes", False: "**no**", None: "–"}
NAMES = {"2025": "chat.z.ai 2025", "2026": "chat.z.ai 2026", "api": "Z.ai API"}


def measured(goal):
    """A goal's figure with its unit and whether it is met: `2.48 ms, **no**`."""
    value = goal["measured"]
    if value is None:
        return "–"
    shown = {"ms": ms(value), "×": f"{value:.2f}×", "MB": f"{value:,.0f} MB"}.get(goal["unit"], figure(value))
    return f"{shown}{' ' + goal['note'] if goal['note'] else ''}, {MET[goal['met']]}"


def goals_table(dialects):
    """One row a goal, one column a dialect (a goal one dialect lacks is – there)."""
    rows, written = {}, {}
    for dialect in dialects.values():
        for goal in dialect.get("goals", ()):
            rows.setdefault(goal["row"], {})
            written[goal["row"]] = goal["goal"]
    for name, dialect in dialects.items():
        for goal in dialect.get("goals", ()):
            rows[goal["row"]][name] = measured(goal)
    return table(["goal (thinking off unless said)", "target", *(NAMES.get(name, name) for name in dialects)],
                 [[row, written[row], *(cells.get(name, "–") for name in dialects)] for row, cells in rows.items()])


def share(part, whole):
    return percent(part / whole) if part is not None and whole else "–"


def chat_sentence(dialect):
    """What creating the chat costs of the first token, in one sentence (uncontended: scenario (a) if run)."""
    for mode, found in dialect.get("chat_creation", {}).items():
        name = "a" if "a" in found else next(iter(found))
        c = found[name]
        direct, ztoapi = c["direct_ttft_p50_ms"], c["ztoapi_ttft_p50_ms"]
        return (f"Chat creation (2026, ({name}), thinking {mode}): direct, the chats/new round trip takes "
                f"{ms(c['direct_round_trip_p50_ms'])} p50 ({share(c['direct_round_trip_p50_ms'], direct)} of its "
                f"{ms(direct)} TTFT); through ZtoApi, {ms(c['ztoapi_span_p50_ms'])} pass from chats/new reaching "
                f"the fake to the completion reaching it ({share(c['ztoapi_span_p50_ms'], ztoapi)} of ZtoApi's "
                f"{ms(ztoapi)} TTFT; direct: {ms(c['direct_span_p50_ms'])}).")
    return ""


def chat_table(found):
    """Chat creation per scenario of one thinking mode."""
    rows = [[f"({name})", f"{ms(c['direct_round_trip_p50_ms'])} / {ms(c['direct_round_trip_p99_ms'])}",
             ms(c["direct_span_p50_ms"]), ms(c["direct_ttft_p50_ms"]),
             f"{ms(c['ztoapi_span_p50_ms'])} / {ms(c['ztoapi_span_p99_ms'])}", ms(c["ztoapi_ttft_p50_ms"]),
             share(c["ztoapi_span_p50_ms"], c["ztoapi_ttft_p50_ms"])] for name, c in found.items()]
    return table(["scenario", "direct: chats/new round trip p50 / p99",
                  "direct: chats/new → completion at the fake, p50", "direct TTFT p50",
                  "ZtoApi: chats/new → completion at the fake, p50 / p99", "ZtoApi TTFT p50",
                  "share of ZtoApi's TTFT"], rows)
