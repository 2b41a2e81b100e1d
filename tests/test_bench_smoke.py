"""The benchmark's smoke run (`bench/run.py --quick`): it runs end to end and every reply is right.

No timing assertions: the full benchmark (`make bench`) is not part of the test run.
"""
import json
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_benchmark_completes_with_correct_replies(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--thinking", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "quick.json").read_text())
    assert sorted(results["modes"]) == ["off", "on"]
    for mode in results["modes"].values():
        assert sorted(mode) == ["a", "b", "c", "d"]
        for result in mode.values():
            for path in ("direct", "ztoapi"):
                assert result[path]["ok"] > 0
                assert result[path]["errors_total"] == 0
                assert result[path]["worker_restarted"] is False
            for run in result["runs"]["direct"] + result["runs"]["ztoapi"]:
                assert run["fake_rejected"] == 0
                assert run["started"] == run["ok"]
            assert result["ztoapi"]["ztoapi_cpu_s"] is not None
            assert result["ztoapi"]["ztoapi_peak_rss_mb"] > 0
    assert "| (b) " in (tmp_path / "quick.md").read_text()


def test_fault_injected_load_marks_exactly_the_cut_streams(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.endurance", "faults", "--requests", "60",
                           "--concurrency", "6", "--results", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    verdict = json.loads((tmp_path / "faults.json").read_text())["verdict"]
    assert verdict == {"requests": 60, "cut_upstream": 6, "error_events": 6, "other_errors": {},
                       "complete_and_correct": 54, "passed": True}
