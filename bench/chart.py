"""The results as a PNG: latency distributions per scenario (direct vs ZtoApi) and CPU per request."""
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt   # noqa: E402  (the backend is chosen first)

COLOURS = {"direct": "#7f7f7f", "ztoapi": "#1f77b4"}
STYLES = {"off": "-", "on": "--"}


def latency_panel(axis, name, modes):
    """Cumulative distribution of TTFT (total time for non-streaming requests), log scale."""
    for mode, scenarios in modes.items():
        result = scenarios.get(name)
        if not result:
            continue
        key = "ttft_percentiles_ms" if result["stream"] else "total_percentiles_ms"
        for path in ("direct", "ztoapi"):
            values = result[path][key]
            if values:
                axis.plot(values, range(len(values)), STYLES[mode], color=COLOURS[path],
                          label=f"{'ZtoApi' if path == 'ztoapi' else 'direct'}, thinking {mode}")
        axis.set_title("\n".join(textwrap.wrap(f"({name}) {result['title']}", 60)), fontsize=8)
        axis.set_xlabel("time to first content (ms)" if result["stream"] else "request time (ms)", fontsize=8)
    axis.set_xscale("log")
    axis.set_ylabel("percentile", fontsize=8)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)


def cpu_panel(axis, modes):
    """ZtoApi CPU per request (ms) per scenario, thinking off and on, with the 1 ms target."""
    names = sorted({name for scenarios in modes.values() for name in scenarios})
    width = 0.8 / max(len(modes), 1)
    for i, (mode, scenarios) in enumerate(modes.items()):
        values = [(scenarios.get(n) or {}).get("ztoapi", {}).get("ztoapi_cpu_ms_per_request") or 0 for n in names]
        positions = [x + i * width for x in range(len(names))]
        bars = axis.bar(positions, values, width, label=f"thinking {mode}")
        axis.bar_label(bars, fmt="%.2f", fontsize=7)
    axis.axhline(1.0, color="red", linewidth=1, label="target (b), (d): 1 ms")
    axis.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(names))], [f"({n})" for n in names])
    axis.set_ylabel("ZtoApi CPU per request (ms)", fontsize=8)
    axis.set_title("ZtoApi CPU per stream / request (one gevent worker)", fontsize=8)
    axis.legend(fontsize=7)


def draw(results, path):
    modes = {mode: scenarios for mode, scenarios in results["modes"].items() if scenarios}
    names = sorted({name for scenarios in modes.values() for name in scenarios})
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = list(axes.flat)
    for axis, name in zip(panels, names):
        latency_panel(axis, name, modes)
    cpu_panel(panels[len(names)], modes)
    for axis in panels[len(names) + 1:]:
        axis.axis("off")
    meta = results["meta"]
    figure.suptitle(f"ZtoApi benchmark {meta['date']}: median of {meta['runs']} run(s); {meta['pinning']}",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
