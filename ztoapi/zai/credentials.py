"""Upstream credentials: the configured ZAI_TOKEN, or guest tokens minted by chat.z.ai."""
import base64
import logging
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


def guest_minter(session, current_dialect, timeout):
    """A function that mints one chat.z.ai guest token, or raises an ApiError saying why: the
    network (502, 504) or chat.z.ai's refusal (503). `current_dialect()` gives the dialect whose
    headers the page sends now."""
    def mint_guest():
        dialect = current_dialect()
        try:
            response = session.get(dialect.auths_url, headers=dialect.headers(), timeout=timeout)
        except requests.ConnectTimeout:
            raise failures.timed_out(connecting=True, what="minting a guest token") from None
        except requests.Timeout:
            raise failures.timed_out(what="minting a guest token") from None
        except requests.RequestException as error:
            raise failures.unreachable(error) from None
        with response:
            token = None
            if response.status_code == 200:
                try:
                    token = orjson.loads(response.content).get("token")
                except (ValueError, AttributeError):
                    token = None
        if not isinstance(token, str) or not token:
            blocked = " (chat.z.ai's firewall blocked this IP)" if response.status_code == 405 else ""
            raise failures.no_credential(
                f"minting a guest token failed (HTTP {response.status_code}){blocked}; set ZAI_TOKEN")
        log.debug("minted a guest token")
        return Credential(token, user_id_of(token), True)
    return mint_guest


def configured_credentials(zai_token):
    """The credentials in ZAI_TOKEN: one or more tokens, comma- or newline-separated."""
    tokens = [t.strip() for t in zai_token.replace("\n", ",").split(",")]
    return [Credential(t, user_id_of(t), False) for t in tokens if t]
