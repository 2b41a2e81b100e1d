"""py-spy on ZtoApi's worker under scenario (b): a flame graph and the frames with the most own time."""
import shutil
import subprocess
import sys
import threading
from pathlib import Path

RATE = 250   # samples a second
# gevent's native thread pool (it runs getaddrinfo) waits for work in a timed lock wait, which
# py-spy counts as active: those samples are idle time of another thread, not ZtoApi's work
IDLE_POOL_ROOT = "_WorkerGreenlet.run "
IDLE_POOL_LEAVES = ("acquire_with_timeout ", "_Condition.wait ")


def py_spy():
    """The py-spy executable (the venv's, else PATH's), or None."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(pid, seconds, output, form, under_load):
    """Sample `pid` for `seconds` into `output` (form: flamegraph or raw) while `under_load()` runs;
    returns what `under_load()` returned."""
    command = [py_spy(), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(RATE),
               "--nolineno", "--format", form, "--output", str(output)]
    spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outcome = {}

    def load():
        try:
            outcome["load"] = under_load()
        except Exception as error:   # noqa: BLE001 - reported below, on the caller's thread
            outcome["error"] = error
    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    out, _ = spy.communicate(timeout=seconds + 120)
    loader.join()
    if spy.returncode != 0:
        raise RuntimeError(out.strip()[-500:])
    if "error" in outcome:
        raise RuntimeError(f"the load under the profiler failed: {outcome['error']}")
    return outcome["load"]


def stacks(collapsed_path):
    """(frames, samples) of each collapsed stack, without the thread pool's idle waits; and the
    number of idle samples left out."""
    found, idle = [], 0
    for line in Path(collapsed_path).read_text().splitlines():
        stack, _, hits = line.rpartition(" ")
        if not stack or not hits.isdigit():
            continue
        frames = stack.split(";")
        if frames[0].startswith(IDLE_POOL_ROOT) and frames[-1].startswith(IDLE_POOL_LEAVES):
            idle += int(hits)
        else:
            found.append((frames, int(hits)))
    return found, idle


def top_inclusive(collapsed_path, marker="(ztoapi/", count=12):
    """ZtoApi's own functions by the share of samples in which they are on the stack."""
    found, _ = stacks(collapsed_path)
    total = sum(hits for _, hits in found)
    inclusive = {}
    for frames, hits in found:
        for frame in {f for f in frames if marker in f}:
            inclusive[frame] = inclusive.get(frame, 0) + hits
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:count]
    return [{"frame": frame, "samples": hits, "share": hits / total} for frame, hits in ranked]


def top_own(collapsed_path, count=10):
    """The frames that were on top of the stack most often, with their share of the samples
    (the thread pool's idle waits left out); also returns the samples and the idle ones."""
    found, idle = stacks(collapsed_path)
    own, samples = {}, 0
    for frames, hits in found:
        own[frames[-1]] = own.get(frames[-1], 0) + hits
        samples += hits
    ranked = sorted(own.items(), key=lambda item: -item[1])[:count]
    return samples, idle, [{"frame": frame, "samples": hits, "share": hits / samples} for frame, hits in ranked]


def profile_b(pid, seconds, flamegraph_path, collapsed_path, under_load):
    """Two recordings of the same load: a flame graph SVG, and collapsed stacks for the summary."""
    if py_spy() is None:
        return {"skipped": "py-spy is not installed (pip install -r requirements-dev.txt)"}
    try:
        record(pid, seconds, flamegraph_path, "flamegraph", under_load)
        load = record(pid, seconds, collapsed_path, "raw", under_load)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return {"skipped": f"py-spy or its load failed (ptrace not permitted?): {error}"}
    samples, idle, frames = top_own(collapsed_path)
    return {"flamegraph": str(flamegraph_path), "collapsed": str(collapsed_path), "seconds": seconds,
            "rate": RATE, "samples": samples, "idle_pool_samples": idle, "top_own": frames,
            "load": {"ok": load["ok"], "errors": load["errors"], "elapsed_s": load["elapsed_s"]},
            "top_inclusive_ztoapi": top_inclusive(collapsed_path)}
