"""The results as a PNG: latency distributions per scenario (direct vs ZtoApi, per dialect) and CPU per request."""
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt   # noqa: E402  (the backend is chosen first)

COLOURS = {"2025": "#1f77b4", "2026": "#d62728", "api": "#2ca02c"}
STYLES = {"ztoapi": "-", "direct": ":"}
HATCHES = {"off": "", "on": "//"}


def first_mode(dialect):
    """The thinking mode the latency panels show: off when it ran."""
    modes = dialect["modes"]
    return "off" if modes.get("off") else next(iter(modes), None)


def latency_panel(axis, name, dialects):
    """Cumulative distribution of TTFT (total time for non-streaming requests), log scale."""
    for dialect_name, dialect in dialects.items():
        mode = first_mode(dialect)
        result = dialect["modes"].get(mode, {}).get(name) if mode else None
        if not result:
            continue
        key = "ttft_percentiles_ms" if result["stream"] else "total_percentiles_ms"
        for path in ("direct", "ztoapi"):
            values = result[path][key]
            if values:
                axis.plot(values, range(len(values)), STYLES[path], color=COLOURS.get(dialect_name),
                          label=f"{dialect_name}, {'ZtoApi' if path == 'ztoapi' else 'direct'}, thinking {mode}")
        axis.set_title("\n".join(textwrap.wrap(f"({name}) {result['title']}", 60)), fontsize=8)
        axis.set_xlabel("time to first content (ms)" if result["stream"] else "request time (ms)", fontsize=8)
    axis.set_xscale("log")
    axis.set_ylabel("percentile", fontsize=8)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=6)


def cpu_panel(axis, dialects):
    """ZtoApi CPU per request (ms) per scenario, one bar per dialect and thinking mode, with the 1 ms goal."""
    series = [(d, mode, scenarios) for d, dialect in dialects.items() for mode, scenarios in dialect["modes"].items()
              if scenarios]
    names = sorted({name for _, _, scenarios in series for name in scenarios})
    width = 0.8 / max(len(series), 1)
    for i, (dialect_name, mode, scenarios) in enumerate(series):
        values = [(scenarios.get(n) or {}).get("ztoapi", {}).get("ztoapi_cpu_ms_per_request") or 0 for n in names]
        positions = [x + i * width for x in range(len(names))]
        bars = axis.bar(positions, values, width, color=COLOURS.get(dialect_name), hatch=HATCHES.get(mode),
                        edgecolor="white", label=f"{dialect_name}, thinking {mode}")
        axis.bar_label(bars, fmt="%.2f", fontsize=5)
    axis.axhline(1.0, color="black", linewidth=1, label="goal (b), (d): 1 ms")
    axis.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(names))], [f"({n})" for n in names])
    axis.set_ylabel("ZtoApi CPU per request (ms)", fontsize=8)
    axis.set_title("ZtoApi CPU per stream / request (one gevent worker)", fontsize=8)
    axis.legend(fontsize=6)


def draw(results, path):
    dialects = results["dialects"]
    names = sorted({name for dialect in dialects.values() for scenarios in dialect["modes"].values()
                    for name in scenarios})
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = list(axes.flat)
    for axis, name in zip(panels, names):
        latency_panel(axis, name, dialects)
    cpu_panel(panels[len(names)], dialects)
    for axis in panels[len(names) + 1:]:
        axis.axis("off")
    meta = results["meta"]
    figure.suptitle(f"ZtoApi benchmark {meta['date']}: median of {meta['runs']} run(s); {meta['pinning']}",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
