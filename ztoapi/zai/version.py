"""The X-FE-Version chat.z.ai expects: ZAI_FE_VERSION, else detected from its home page."""
import logging
import re
import time

import requests

from ztoapi.zai.refresh import Refreshed

log = logging.getLogger("ztoapi.upstream")

FALLBACK = "prod-fe-1.0.106"   # the 2025 dialect's; each dialect names its own fallback
CACHE_SECONDS = 30 * 60
REREAD_SECONDS = 5.0   # after a refusal, the page is read again at most this often (a blocked IP
                       # must not double its traffic into the firewall)
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
        self._value = None
        self._reads = Refreshed(self._detect, CACHE_SECONDS, REREAD_SECONDS, clock)

    def current(self, fallback=FALLBACK):
        """The value to send; the first call detects it, later ones refresh it in the background.
        `fallback` when nothing was detected (the page could not be read)."""
        if self.configured:
            return self.configured
        self._reads.get()
        return self._value or fallback

    def refresh(self, fallback=FALLBACK):
        """Detect the version now (after a 426 or a firewall 405); True when the value sent changes."""
        if self.configured:
            return False
        before = self._value or fallback
        self._reads.refresh()
        return (self._value or fallback) != before

    def _detect(self):
        try:
            response = self.session.get(self.home_url, headers=self.headers, timeout=self.timeout)
            with response:
                detected = newest_version(response.text) if response.status_code == 200 else None
        except requests.RequestException as error:
            detected = None
            log.warning("could not read chat.z.ai's front-end version (%s)", type(error).__name__)
        if detected:
            self._value = detected
        log.debug("front-end version: %s", self._value or "not detected")
