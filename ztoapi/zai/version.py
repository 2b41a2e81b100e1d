"""The X-FE-Version chat.z.ai expects: ZAI_FE_VERSION, else detected from its home page."""
import logging
import re
import threading
import time

import requests

log = logging.getLogger("ztoapi.upstream")

FALLBACK = "prod-fe-1.0.106"
CACHE_SECONDS = 30 * 60
PATTERN = re.compile(r"prod-fe-(\d+)\.(\d+)\.(\d+)")


def newest_version(html):
    """The highest prod-fe-x.y.z named in a page, or None."""
    found = [tuple(map(int, match)) for match in PATTERN.findall(html)]
    return "prod-fe-%d.%d.%d" % max(found) if found else None


class FrontEndVersion:
    """The version header value, detected at most once per CACHE_SECONDS (or on demand)."""

    def __init__(self, configured, session, home_url, headers, timeout, clock=time.monotonic):
        self.configured = configured
        self.session = session
        self.home_url = home_url
        self.headers = headers
        self.timeout = timeout
        self.clock = clock
        self._value = None
        self._checked = None
        self._lock = threading.Lock()

    def current(self):
        """The value to send; the first call detects it, later ones refresh it in the background."""
        if self.configured:
            return self.configured
        if self._checked is None:
            with self._lock:
                if self._checked is None:
                    self._detect()
        elif self.clock() - self._checked >= CACHE_SECONDS:
            self._checked = self.clock()
            threading.Thread(target=self.refresh, daemon=True).start()
        return self._value or FALLBACK

    def refresh(self):
        """Detect the version now (after a 426, say); True when it changed."""
        if self.configured:
            return False
        with self._lock:
            before = self._value or FALLBACK
            self._detect()
            return (self._value or FALLBACK) != before

    def _detect(self):
        self._checked = self.clock()
        try:
            response = self.session.get(self.home_url, headers=self.headers, timeout=self.timeout)
            with response:
                detected = newest_version(response.text) if response.status_code == 200 else None
        except requests.RequestException as error:
            detected = None
            log.warning("could not read chat.z.ai's front-end version (%s)", type(error).__name__)
        if detected:
            self._value = detected
        log.debug("front-end version: %s", self._value or FALLBACK)
