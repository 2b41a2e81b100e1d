"""What ZtoApi's log says about a run: the `error=` codes of its request lines and its warnings."""
import re

ERROR_CODE = re.compile(r" error=(\S+)")
LEVEL = re.compile(r" (WARNING|ERROR|CRITICAL) (\S+): (.{0,80}?)(?:: |$)")   # message up to its first ": "


class LogReader:
    """Reads a growing log file from where the last call stopped."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def tally(self):
        """Counts since the last call: {"error=<code>": n, "<LEVEL> <logger>: <message start>": n}."""
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode("utf-8", "replace")
            self.offset = log.tell()
        counts = {}
        for line in text.splitlines():
            found = ERROR_CODE.search(line)
            key = f"error={found.group(1)}" if found else None
            if key is None and (level := LEVEL.search(line)):
                key = " ".join(level.groups())
            if key:
                counts[key] = counts.get(key, 0) + 1
        return counts
