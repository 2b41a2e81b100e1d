"""One measured run: the load generator against ZtoApi or the fake, with CPU and memory sampled."""
import json
import subprocess
import sys

from bench import procstat
from bench.processes import API_KEY
from bench.processes import ROOT


def run_loadgen(prefix, url, target, dialect, scenario, thinking):
    """The load generator in its own (pinned) process; returns its JSON summary."""
    command = prefix + [sys.executable, "-m", "bench.loadgen", "--url", url, "--target", target,
                        "--dialect", dialect, "--key", API_KEY] + scenario.loadgen_args() + (
                            ["--thinking"] if thinking else [])
    budget = (scenario.duration or 0) + scenario.ramp + scenario.timeout * 3 + 60
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=budget)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def measure(scenario, target, dialect, thinking, fake, ztoapi, client_prefix):
    """Run `scenario` against "ztoapi" or "direct" (the fake itself); the loadgen's summary plus
    ZtoApi's CPU time, peak RSS and time waiting for its CPU (worker), the fake's CPU time, the
    chats it saw created (2026) and how long each took to be completed, and how busy CPU 1 was."""
    fake.set_delay(scenario.delay_ms)
    fake.chat_spans()
    fake_before = fake.stats()
    worker = ztoapi.worker_pid()
    cpu_before = procstat.cpu_seconds(worker)
    waited_before = procstat.runqueue_wait_seconds(worker)
    sampler = procstat.PeakRss(worker)
    sampler.start()
    ztoapi.log_reader.tally()
    url = ztoapi.url if target == "ztoapi" else fake.url
    try:
        result = run_loadgen(client_prefix, url, target, dialect, scenario, thinking)
    finally:
        peak = sampler.stop()
    fake_after = fake.stats()
    served = result["ok"] + result["errors"]
    fake_cpu = fake_after["cpu_s"] - fake_before["cpu_s"]
    reasons = {reason: count - fake_before["reasons"].get(reason, 0)
               for reason, count in fake_after["reasons"].items() if count != fake_before["reasons"].get(reason, 0)}
    result.update(scenario=scenario.name, dialect=dialect, delay_ms=scenario.delay_ms,
                  fake_cpu_s=fake_cpu, fake_rejected=fake_after["rejected"] - fake_before["rejected"],
                  fake_rejected_why=reasons, fake_chats_created=fake_after["chats"] - fake_before["chats"],
                  fake_chat_span_ms=fake.chat_spans(),
                  cpu1_busy=(fake_cpu + result["loadgen_cpu_s"]) / result["elapsed_s"])
    if ztoapi.worker_pid() != worker:
        result["worker_restarted"] = True
        return result
    if target == "ztoapi":
        cpu = procstat.cpu_seconds(worker) - cpu_before
        memory = procstat.memory_mb(worker)
        result.update(
            ztoapi_cpu_s=cpu, ztoapi_busy=cpu / result["elapsed_s"],
            ztoapi_cpu_stolen=(procstat.runqueue_wait_seconds(worker) - waited_before) / result["elapsed_s"],
            ztoapi_cpu_ms_per_request=cpu * 1000 / served if served else None,
            ztoapi_cpu_us_per_event=cpu * 1e6 / (served * result["events_per_reply"]) if served else None,
            ztoapi_peak_rss_mb=max(peak, memory["rss"]), ztoapi_hwm_mb=memory["hwm"],
            ztoapi_open_fds=procstat.open_fds(worker), ztoapi_log=ztoapi.log_reader.tally())
    return result
