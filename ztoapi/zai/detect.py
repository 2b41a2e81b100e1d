"""Which dialect chat.z.ai speaks now: ZAI_DIALECT, or (auto) what its GET /api/config says.

`completion_version: "2"` means the 2026 dialect; a 404, an answer that is not JSON, or one
without that field means 2025. When /api/config cannot be reached at all (connection trouble, a
timeout, a 5xx or the firewall page), the last known dialect stays (2026 before any answer). It is
read at start-up, every CHECK_SECONDS after, and again when an upstream answer suggests the
dialect changed (a 404 on the completion path, INTERNAL_ERROR, a 426), at most once per
RECHECK_SECONDS so a broken upstream cannot make every request probe.
"""
import logging
import time

import orjson
import requests

from ztoapi.zai.refresh import Refreshed

log = logging.getLogger("ztoapi.upstream")

DIALECTS = ("2025", "2026")
CHECK_SECONDS = 10 * 60
RECHECK_SECONDS = 5.0
DEFAULT = "2026"


class DialectDetector:
    """The current dialect name ("2025" or "2026"), fixed by the setting or detected."""

    def __init__(self, setting, session, config_url, headers, timeout, clock=time.monotonic):
        self.fixed = setting if setting in DIALECTS else None
        self.session = session
        self.config_url = config_url
        self.headers = headers
        self.timeout = timeout
        self.known = self.fixed or DEFAULT
        self.source = "ZAI_DIALECT" if self.fixed else "not read yet"
        self.announced = False
        self._reads = Refreshed(self._check if not self.fixed else self._announce, CHECK_SECONDS,
                                RECHECK_SECONDS, clock)

    def current(self):
        """The dialect to speak; the first call reads /api/config (or, fixed, says so in the log),
        later ones refresh it in the background once it is older than CHECK_SECONDS."""
        self._reads.get()
        return self.known

    def _announce(self):
        if not self.announced:
            self.announced = True
            log.info("chat.z.ai dialect: %s (ZAI_DIALECT)", self.known)

    def recheck(self):
        """Read /api/config again now (unless it was read moments ago); True when the dialect changed."""
        before = self.known
        return not self.fixed and self._reads.refresh() and self.known != before

    def _check(self):
        before, source = self.known, self.source
        self.known, self.source = self._read(before)
        if self.known != before or source == "not read yet":
            level = logging.WARNING if self.known != before and source != "not read yet" else logging.INFO
            log.log(level, "chat.z.ai dialect: %s (%s)", self.known, self.source)

    def _read(self, last):
        """(dialect, why) from GET /api/config."""
        try:
            response = self.session.get(self.config_url, headers=self.headers, timeout=self.timeout)
            with response:
                status, content = response.status_code, response.content
        except requests.RequestException as error:
            return last, f"kept: /api/config could not be reached ({type(error).__name__})"
        if status == 404:
            return "2025", "/api/config answered 404"
        if status != 200:
            return last, f"kept: /api/config answered HTTP {status}"
        try:
            config = orjson.loads(content)
        except ValueError:
            return "2025", "/api/config is not JSON"
        version = config.get("completion_version") if isinstance(config, dict) else None
        if version is None:
            return "2025", "/api/config names no completion_version"
        if str(version) == "2":
            return "2026", "/api/config: completion_version 2"
        return "2025", f"/api/config: completion_version {str(version)[:20]}"
