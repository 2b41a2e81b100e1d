"""A process's CPU time and memory from /proc, and a sampler for its peak RSS during a run."""
import os
import threading

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS   # fields 14 and 15 of proc(5)


def runqueue_wait_seconds(pid):
    """Time the process's threads spent runnable but waiting for a CPU (another process had it),
    from /proc/<pid>/task/*/schedstat."""
    waited = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                waited += int(schedstat.read().split()[1])
        except (FileNotFoundError, IndexError):
            continue
    return waited / 1e9


def memory_mb(pid):
    """{"rss": VmRSS, "hwm": VmHWM} in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, amount = line.split(":")
                values[name[2:].lower()] = int(amount.split()[0]) / 1024
    return values


def children(pid):
    """The pids of a process's children."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found += [int(child) for child in listing.read().split()]
        except FileNotFoundError:
            continue
    return found


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class PeakRss(threading.Thread):
    """Samples a process's VmRSS every `interval` seconds until stopped; `peak` is the largest."""

    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self.halt = threading.Event()

    def run(self):
        while True:
            try:
                self.peak = max(self.peak, memory_mb(self.pid)["rss"])
            except (FileNotFoundError, ProcessLookupError, KeyError):
                return
            if self.halt.wait(self.interval):
                return

    def stop(self):
        self.halt.set()
        self.join()
        return self.peak
