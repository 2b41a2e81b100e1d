"""The benchmark's smoke run (`bench/run.py --quick`): it runs end to end, for every upstream, and
every reply is right.

No timing assertions: the full benchmark (`make bench`) is not part of the test run.
"""
import json
import subprocess
import sys

from tests.conftest import ROOT

# what `make bench-smoke` runs: the 2025 dialect with thinking off and on, the others with thinking on
SMOKE = ["--quick", "--thinking", "--dialects", "2025,2026:on,api:on"]
MODES = {"2025": ["off", "on"], "2026": ["on"], "api": ["on"]}


def test_quick_benchmark_completes_with_correct_replies_in_every_dialect(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.run", *SMOKE, "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "quick.json").read_text())
    assert {name: sorted(dialect["modes"]) for name, dialect in results["dialects"].items()} == MODES
    for name, dialect in results["dialects"].items():
        for mode in dialect["modes"].values():
            assert sorted(mode) == ["a", "b", "c", "d"]
            for result in mode.values():
                check_scenario(name, result)
        assert {goal["row"]: goal["met"] for goal in dialect["goals"]}[
            "errors, every scenario, thinking off and on"] is True
    assert results["dialects"]["2026"]["chat_creation"]["on"]["a"]["ztoapi_span_p50_ms"] > 0
    report = (tmp_path / "quick.md").read_text()
    assert "## Goals (issue 16)" in report and "| (b) " in report and "Chat creation (2026, (a)" in report


def check_scenario(dialect, result):
    """Every request of both paths answered and right, none rejected by the fake; in 2026 each
    completion named a chat created just for it, on both paths."""
    for path in ("direct", "ztoapi"):
        assert result[path]["ok"] > 0
        assert result[path]["errors_total"] == 0
        assert result[path]["worker_restarted"] is False
    for path, runs in result["runs"].items():
        for run in runs:
            assert run["fake_rejected"] == 0, run["fake_rejected_why"]
            assert run["started"] == run["ok"]
            created = run["ok"] if dialect == "2026" else 0
            assert run["fake_chats_created"] == run["fake_chat_span_ms"]["count"] == created
            assert run["chat_ms"]["count"] == (created if path == "direct" else 0)
    assert result["ztoapi"]["ztoapi_cpu_s"] is not None
    assert result["ztoapi"]["ztoapi_peak_rss_mb"] > 0


def test_fault_injected_load_marks_exactly_the_cut_streams(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.endurance", "faults", "--requests", "60",
                           "--concurrency", "6", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    verdict = json.loads((tmp_path / "faults.json").read_text())["verdict"]
    assert verdict == {"requests": 60, "cut_upstream": 6, "error_events": 6, "other_errors": {},
                       "complete_and_correct": 54, "passed": True}
