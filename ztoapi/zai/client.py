"""The chat.z.ai client: one requests.Session per app, opening completion streams."""
import http.cookiejar
import logging
import time

import requests
from requests.adapters import HTTPAdapter

from ztoapi.zai import failures
from ztoapi.zai.credentials import Credentials
from ztoapi.zai.dialect import Dialect
from ztoapi.zai.reply import Reply

log = logging.getLogger("ztoapi.upstream")


def make_session(settings):
    """A pooled session that keeps no cookies and reads no proxy settings per request."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.upstream_pool_size,
                          max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if settings.upstream_proxy:
        session.proxies = {"http": settings.upstream_proxy, "https": settings.upstream_proxy}
    return session


class ZaiClient:
    """Opens chat.z.ai completion streams; failures before the first event are ApiErrors."""

    def __init__(self, settings):
        self.session = make_session(settings)
        self.dialect = Dialect(settings)
        self.credentials = Credentials(settings, self.session, self.dialect)
        self.timeout = (settings.upstream_connect_timeout, settings.upstream_read_timeout)

    def open(self, chat, keep_markup=False):
        """Send `chat` upstream and return its Reply once the upstream answered 200."""
        credential = self.credentials.get()
        response = self._post(chat, credential)
        if response.status_code == 401 and credential.guest:
            response.close()
            self.credentials.discard(credential)
            credential = self.credentials.get()
            response = self._post(chat, credential)
        if response.status_code != 200:
            with response:
                text = response.text
            log.debug("upstream answered %s: %.300s", response.status_code, text)
            if response.status_code == 401:
                self.credentials.discard(credential)
            raise failures.from_status(response.status_code, text,
                                       response.headers.get("Retry-After"), credential.guest)
        return Reply(response, keep_markup)

    def _post(self, chat, credential):
        url, headers, body = self.dialect.completion(chat, credential)
        started = time.perf_counter()
        try:
            response = self.session.post(url, headers=headers, data=body, stream=True,
                                         timeout=self.timeout)
        except requests.Timeout:
            raise failures.timed_out() from None
        except requests.RequestException as error:
            raise failures.unreachable(error) from None
        log.debug("upstream POST %s%s -> %s in %.1f ms (model %s, %s)", self.dialect.origin,
                  url[len(self.dialect.origin):].split("?")[0], response.status_code,
                  (time.perf_counter() - started) * 1000, chat.model.upstream_id, credential)
        return response
