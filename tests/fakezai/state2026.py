"""FakeZai's dialect switch, 2026 settings and 2026 records (chats, completions, device ids, captcha refusals)."""

import time
import uuid

from .dialect2026 import CAPTCHA_MODES, CONFIG_FAULTS

DIALECTS = ("2025", "2026")
# fe_version / min_fe_version left unset (None) follow the dialect; the old version is also named on GET /.
DIALECT_DEFAULTS = {
    "2025": {"fe_version": "1.0.98", "min_fe_version": "1.0.94", "old_fe_version": "1.0.50"},
    "2026": {"fe_version": "1.1.98", "min_fe_version": "1.1.0", "old_fe_version": "1.0.272"},
}


def _choice(name: str, value, allowed) -> object:
    """Return value if it is one of allowed, else raise ValueError."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


class Dialect2026:
    """Mixed into FakeZai: needs its _lock and _user; call _init_2026 from __init__ and _reset_2026 from reset."""

    def _init_2026(self, dialect: str, captcha: str | None, guest_models, config_fault: str | None) -> None:
        """Set the 2026 settings and empty records."""
        self.dialect, self.captcha, self.guest_models, self.config_fault = dialect, captcha, guest_models, config_fault
        self._defaults.update(dialect=dialect, captcha=captcha, guest_models=set(self.guest_models),
                              config_fault=config_fault)
        self._chats: dict[str, dict] = {}
        self._chats_made_by_token: dict[str, int] = {}
        self._completions: list = []
        self._device_ids: dict[str, set[str]] = {}
        self._captcha_refusals = 0

    # -- runtime settings ------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """"2025" (Oct-2025 protocol) or "2026"; settable at runtime, restored by reset()."""
        return self._dialect

    @dialect.setter
    def dialect(self, value: str) -> None:
        self._dialect = _choice("dialect", value, DIALECTS)

    @property
    def captcha(self) -> str | None:
        """2026 captcha gate: None (off), "guests" or "all"."""
        return self._captcha

    @captcha.setter
    def captcha(self, value: str | None) -> None:
        self._captcha = _choice("captcha", value, CAPTCHA_MODES)

    @property
    def guest_models(self) -> set[str]:
        """Model ids a guest may use in 2026 (others get the user-level event); a live set."""
        return self._guest_models

    @guest_models.setter
    def guest_models(self, value) -> None:
        if isinstance(value, str) or not all(isinstance(m, str) for m in value):
            raise ValueError(f"guest_models must be a collection of model ids, got {value!r}")
        self._guest_models = set(value)

    @property
    def config_fault(self) -> str | None:
        """Failure of GET /api/config in 2026: None, "http500", "bad_json", "no_field" or "http404"."""
        return self._config_fault

    @config_fault.setter
    def config_fault(self, value: str | None) -> None:
        self._config_fault = _choice("config_fault", value, (None,) + CONFIG_FAULTS)

    def _dialect_default(self, name: str) -> str:
        """The current dialect's default for fe_version, min_fe_version or old_fe_version."""
        return DIALECT_DEFAULTS[self.dialect][name]

    # -- inspection ------------------------------------------------------------------------------
    @property
    def chats(self) -> dict[str, dict]:
        """Chats made by POST /api/v1/chats/new since the last reset(): id -> {id, token, user_id, model,
        message_id, content, record (the 200 body)}."""
        with self._lock:
            return {k: dict(v) for k, v in self._chats.items()}

    def completions(self) -> list:
        """The decoded body (None if not JSON) of every 2026 completion that got past the WAF, oldest first."""
        with self._lock:
            return list(self._completions)

    def device_ids_by_token(self) -> dict[str, set[str]]:
        """Bearer token -> the X-Device-Id values seen on its 2026 completions."""
        with self._lock:
            return {t: set(ids) for t, ids in self._device_ids.items()}

    def _stats_2026(self, short) -> dict:
        """The 2026 counters of stats() (caller holds the lock)."""
        return {"dialect": self.dialect, "chats": len(self._chats), "chats_by_token": short(self._chats_made_by_token),
                "captcha_refusals": self._captcha_refusals}

    def _reset_2026(self) -> None:
        """Forget chats, completions, device ids and the captcha counter (caller holds the lock)."""
        self._chats.clear()
        self._chats_made_by_token.clear()
        self._completions.clear()
        self._device_ids.clear()
        self._captcha_refusals = 0

    # -- records kept by the handler -------------------------------------------------------------
    def _make_chat(self, token: str, user: dict, chat: dict) -> dict:
        """Store a chat posted to /api/v1/chats/new by token; return the record chat.z.ai answers with."""
        now, chat_id = int(time.time()), str(uuid.uuid4())
        current = chat["history"]["currentId"]
        record = {"id": chat_id, "user_id": user["id"], "title": chat.get("title") or "New Chat",
                  "chat": {**chat, "id": chat_id}, "updated_at": now, "created_at": now, "share_id": None,
                  "archived": False, "pinned": False, "meta": {}, "folder_id": None,
                  "type": chat.get("type") or "default"}
        with self._lock:
            self._chats[chat_id] = {"id": chat_id, "token": token, "user_id": user["id"], "model": chat["models"][0],
                                    "message_id": current, "content": chat["history"]["messages"][current]["content"],
                                    "record": record}
            self._chats_made_by_token[token] = self._chats_made_by_token.get(token, 0) + 1
        return record

    def _chat_of(self, token: str, chat_id) -> dict | None:
        """The chat chat_id if token made it, else None."""
        with self._lock:
            chat = self._chats.get(chat_id) if isinstance(chat_id, str) else None
            return chat if chat and chat["token"] == token else None

    def _note_completion(self, body) -> None:
        """Keep a 2026 completion body for completions()."""
        with self._lock:
            self._completions.append(body)

    def _note_device(self, token: str, device_id: str | None) -> None:
        """Remember a non-empty X-Device-Id sent with token."""
        if device_id and device_id.strip():
            with self._lock:
                self._device_ids.setdefault(token, set()).add(device_id)

    def _count_captcha(self) -> None:
        """Count one captcha refusal (gate or fault)."""
        with self._lock:
            self._captcha_refusals += 1
