"""Upstream credentials: the configured ZAI_TOKEN, or guest tokens minted by chat.z.ai."""
import base64
import logging
import threading
from dataclasses import dataclass

import orjson
import requests

from ztoapi.zai import failures

log = logging.getLogger("ztoapi.upstream")


@dataclass(frozen=True)
class Credential:
    token: str
    user_id: str
    guest: bool

    def __repr__(self):
        return f"Credential(user_id={self.user_id!r}, guest={self.guest})"


def user_id_of(token):
    """The user id in a chat.z.ai JWT's payload (read, not verified), or "guest"."""
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return "guest"
    for key in ("id", "user_id", "uid", "sub"):
        if isinstance(claims, dict) and claims.get(key):
            return str(claims[key])
    return "guest"


class Credentials:
    """Hands out the credential for the next upstream call; one guest token is shared until rejected."""

    def __init__(self, settings, session, dialect):
        self.session = session
        self.dialect = dialect
        self.timeout = (settings.upstream_connect_timeout, min(settings.upstream_read_timeout, 15))
        self.anonymous = settings.anon_token_enabled
        configured = [t.strip() for t in settings.zai_token.replace("\n", ",").split(",")]
        self.configured = [Credential(t, user_id_of(t), False) for t in configured if t]
        self._guest = None
        self._lock = threading.Lock()

    def get(self):
        if self.configured:
            return self.configured[0]
        guest = self._guest
        if guest is not None:
            return guest
        with self._lock:
            if self._guest is None:
                self._guest = self._mint_guest()
            return self._guest

    def discard(self, credential):
        """Forget a guest token the upstream rejected, so the next call mints a new one."""
        if credential.guest and self._guest is credential:
            self._guest = None

    def _mint_guest(self):
        if not self.anonymous:
            raise failures.no_credential("ZAI_TOKEN is empty and ANON_TOKEN_ENABLED is false")
        try:
            response = self.session.get(self.dialect.auths_url, headers=self.dialect.headers(),
                                        timeout=self.timeout)
        except requests.RequestException as error:
            raise failures.no_credential(
                f"minting a guest token failed ({type(error).__name__}); set ZAI_TOKEN") from None
        with response:
            token = None
            if response.status_code == 200:
                try:
                    token = orjson.loads(response.content).get("token")
                except (ValueError, AttributeError):
                    token = None
        if not isinstance(token, str) or not token:
            raise failures.no_credential(
                f"minting a guest token failed (HTTP {response.status_code}); set ZAI_TOKEN")
        log.debug("minted a guest token")
        return Credential(token, user_id_of(token), True)
