"""The dashboard's numbers, computed from the shared store's records and totals (no Flask here).

Counts (requests, failures, tokens) are all-time, from the store's totals; rates and percentiles
come from the records of the last hour. Latency percentiles cover completions (records with a
model): a model listing or a request refused before it named one would only drag them down.

Records keep the model name a client typed ("glm4.5", an operator's alias); the per-model rows
are the catalogue's models, each name mapped through the catalogue when the figures are read, so
old records group with new ones."""
import math
from dataclasses import replace

from ztoapi.store import failed

WINDOW_SECONDS = 3600
MINUTE = 60
PERCENTILES = (50, 90, 99)
COUNTS = ("requests", "failed", "tokens_in", "tokens_out")
REQUEST_FIELDS = ("time", "request_id", "method", "path", "api", "key", "model", "stream", "status",
                  "duration_ms", "ttft_ms", "tokens_in", "tokens_out", "client", "error", "retries",
                  "upstream")
SHOWN_TOKEN_CHARS = 6


def percentile(values, pct):
    """The nearest-rank percentile of `values`, or None when there are none."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    return ordered[max(math.ceil(pct / 100 * len(ordered)), 1) - 1]


def percentiles(values):
    values = list(values)
    return {f"p{pct}": percentile(values, pct) for pct in PERCENTILES}


def completions(records):
    return [rec for rec in records if rec.get("model")]


def window_stats(records, seconds, now):
    """Counts, success and latency/TTFT percentiles of the records of the last `seconds`."""
    recent = [rec for rec in records if rec["time"] >= now - seconds]
    failures = sum(1 for rec in recent if failed(rec))
    chats = completions(recent)
    return {"seconds": seconds, "requests": len(recent), "succeeded": len(recent) - failures,
            "failed": failures, "streams": sum(1 for rec in recent if rec.get("stream")),
            "tokens_in": sum(rec["tokens_in"] for rec in recent),
            "tokens_out": sum(rec["tokens_out"] for rec in recent),
            "requests_per_minute": round(len(recent) * MINUTE / seconds, 2),
            "latency_ms": percentiles(rec["duration_ms"] for rec in chats),
            "ttft_ms": percentiles(rec["ttft_ms"] for rec in chats)}


def per_minute(records, now, minutes=WINDOW_SECONDS // MINUTE):
    """One bucket per clock minute, oldest first; the last one is the minute in progress."""
    first = (int(now) // MINUTE - minutes + 1) * MINUTE
    buckets = [[] for _ in range(minutes)]
    for rec in records:
        index = (int(rec["time"]) - first) // MINUTE
        if 0 <= index < minutes:
            buckets[index].append(rec)
    return [minute_stats(first + i * MINUTE, bucket) for i, bucket in enumerate(buckets)]


def minute_stats(start, records):
    failures = sum(1 for rec in records if failed(rec))
    chats = completions(records)
    return {"time": start, "succeeded": len(records) - failures, "failed": failures,
            "tokens_in": sum(rec["tokens_in"] for rec in records),
            "tokens_out": sum(rec["tokens_out"] for rec in records),
            "latency_p50_ms": percentile([rec["duration_ms"] for rec in chats], 50),
            "ttft_p50_ms": percentile([rec["ttft_ms"] for rec in chats], 50)}


def breakdown(counts_by_name, records, field):
    """Rows for a per-model or per-key table: all-time counts, last-hour p50s, most used first."""
    rows = []
    for name, counts in counts_by_name.items():
        chats = completions(rec for rec in records if rec.get(field) == name)
        rows.append({"name": name, **{count: counts[count] for count in COUNTS},
                     "succeeded": counts["requests"] - counts["failed"],
                     "latency_p50_ms": percentile([rec["duration_ms"] for rec in chats], 50),
                     "ttft_p50_ms": percentile([rec["ttft_ms"] for rec in chats], 50)})
    return sorted(rows, key=lambda row: (-row["requests"], row["name"]))


def by_model(counts_by_name, records, model_of):
    """The per-model rows, one per catalogue model: `model_of` maps a recorded name to the id of
    the model it resolves to; each row lists, as `aliases`, the other names it was asked for by."""
    merged, aliases = {}, {}
    for name, counts in counts_by_name.items():
        model = model_of(name)
        total = merged.setdefault(model, dict.fromkeys(COUNTS, 0))
        for count in COUNTS:
            total[count] += counts[count]
        if name != model:
            aliases.setdefault(model, set()).add(name)
    regrouped = [{**rec, "model": model_of(rec["model"])} for rec in completions(records)]
    return [{**row, "aliases": sorted(aliases.get(row["name"], ()))}
            for row in breakdown(merged, regrouped, "model")]


def model_resolver(catalog):
    """A function giving the id of the catalogue's model a recorded name resolves to: any spelling
    or alias of a model gives its id, an operator's MODEL_ALIASES name (and its -Thinking/-Search
    variant) the id of the model it points at; a name the catalogue does not know now stays."""
    operator = {alias.lower() for alias, _ in catalog.aliases}
    own = [model for model in catalog.models() if model.id.lower() not in operator]
    resolved = {}

    def model_of(name):
        if name not in resolved:
            model = catalog.find(name)
            if model is None or any(model is listed for listed in own):
                resolved[name] = model.id if model else name
            else:   # an operator's alias: a copy of the model it points at under another id
                shape = replace(model, id="", aliases=())
                resolved[name] = next((listed.id for listed in own
                                       if replace(listed, id="", aliases=()) == shape), model.id)
        return resolved[name]
    return model_of


def unattributed(totals):
    """What no key accounts for: requests refused before a valid key was seen."""
    return {count: totals[count] - sum(row[count] for row in totals["by_key"].values())
            for count in COUNTS}


def own_traffic(totals, records, name):
    """store.totals() and records cut down to the key called `name`: what a viewer who may see only
    its own key's traffic is shown (its per-model counts come from the "by_key_model" totals)."""
    counts = totals["by_key"].get(name) or dict.fromkeys(COUNTS, 0)
    own = {**counts, "by_model": totals.get("by_key_model", {}).get(name, {}),
           "by_key": {name: counts} if name in totals["by_key"] else {}}
    return own, [rec for rec in records if rec.get("key") == name]


def summary(totals, records, now, model_of=lambda name: name):
    """Everything /dashboard/api/summary shows, from store.totals() and store.since(WINDOW_SECONDS);
    `model_of` groups the per-model rows (see model_resolver)."""
    by_key = breakdown(totals["by_key"], records, "key")
    refused = unattributed(totals)
    if refused["requests"] > 0:
        by_key.append({"name": None, **refused, "succeeded": refused["requests"] - refused["failed"],
                       "latency_p50_ms": None, "ttft_p50_ms": None})
    return {"now": now,
            "totals": {**{count: totals[count] for count in COUNTS},
                       "succeeded": totals["requests"] - totals["failed"]},
            "last_minute": window_stats(records, MINUTE, now),
            "last_hour": window_stats(records, WINDOW_SECONDS, now),
            "per_minute": per_minute(records, now),
            "by_model": by_model(totals["by_model"], records, model_of),
            "by_key": by_key}


def request_row(record):
    """A record as the recent-requests table shows it (only the known, secret-free fields)."""
    return {field: record.get(field) for field in REQUEST_FIELDS}


def masked(token):
    """A token as the pool reports it ("...abc123"); anything longer is cut to that again."""
    return "..." + str(token).removeprefix("...")[-SHOWN_TOKEN_CHARS:]


def credential_pool(states_by_worker):
    """The workers' credential pools, tokens masked, how many credentials are in each state, and
    each worker's notes (ztoapi.ops: why it has no guest, its last upstream failure)."""
    workers, counts = [], {"ok": 0, "cooling": 0, "invalid": 0, "captcha": 0}
    for worker, states in sorted(states_by_worker.items()):
        credentials = [{"token": masked(state.get("token", "")), "guest": bool(state.get("guest")),
                        "state": str(state.get("state", "")), "uses": state.get("uses", 0)}
                       for state in states if "note" not in state]
        notes = [{"note": str(state["note"]), "state": str(state.get("state", "")),
                  "time": state.get("time")} for state in states if "note" in state]
        for credential in credentials:
            counts[state_kind(credential["state"])] += 1
        workers.append({"worker": worker, "credentials": credentials, "notes": notes})
    return {"workers": workers, "counts": counts}


def state_kind(state):
    if state == "ok":
        return "ok"
    return next((kind for kind in ("invalid", "captcha") if state.startswith(kind)), "cooling")
