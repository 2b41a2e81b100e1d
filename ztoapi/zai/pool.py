"""The upstream credential pool: rotation, health, cool-downs and guest tokens.

Configured tokens (ZAI_TOKEN) are used in rotation. A 401 marks a token invalid until the process
restarts or an operator re-enables it; rate limits and repeated failures put it in a cool-down
that ends by itself. Guest tokens are the fallback (or the only source when none is configured):
a small pool minted on demand, reused while they work, replaced when rejected.

When chat.z.ai asks a credential for a CAPTCHA, that credential rests for CAPTCHA_REST_SECONDS; a
guest asked for one gates all guests (no more are minted or used) for as long, since chat.z.ai
asks every guest: requests then go to logged-in tokens, or fail at once instead of storming.
"""
import logging
import threading
import time

from ztoapi.zai import failures

log = logging.getLogger("ztoapi.upstream")

FAILURES_BEFORE_COOLDOWN = 3
MAX_COOLDOWN = 300.0
CAPTCHA_REST_SECONDS = 300.0


class Health:
    """One credential's state. `invalid` is final; `cool_until` is a clock time."""

    def __init__(self, credential):
        self.credential = credential
        self.invalid = False
        self.captcha = False      # the cool-down is a CAPTCHA rest
        self.cool_until = 0.0
        self.failures = 0
        self.cooldowns = 0
        self.uses = 0

    def usable(self, now):
        return not self.invalid and now >= self.cool_until

    def describe(self, now):
        if self.invalid:
            return "invalid (rejected with 401)"
        if now < self.cool_until and self.captcha:
            return f"captcha (chat.z.ai asked for one; resting for {self.cool_until - now:.0f} s)"
        if now < self.cool_until:
            return f"cooling down for {self.cool_until - now:.0f} s"
        return "ok"


class CredentialPool:
    """Hands out credentials and takes reports of how they fared."""

    def __init__(self, tokens, mint_guest, guest_pool_size, cooldown, anonymous, clock=time.monotonic):
        self.configured = [Health(token) for token in tokens]
        self.guests = []
        self.mint_guest = mint_guest
        self.guest_pool_size = guest_pool_size
        self.cooldown = cooldown
        self.anonymous = anonymous
        self.clock = clock
        self.changes = 0          # counts additions and state changes, for who shows the state
        self.guests_gated_until = 0.0   # chat.z.ai asks guests for a CAPTCHA until then
        self._lock = threading.Lock()
        self._mint_lock = threading.Lock()

    def acquire(self, logged_in=False):
        """The next usable credential: configured tokens first, then guests (minted on demand).
        `logged_in` asks for a configured token only (guests cannot upload images)."""
        guests = not logged_in and not self.guests_gated()
        credential = self._take(guests=guests)
        if credential is not None:
            return credential
        if logged_in or not guests:
            raise self._unavailable(logged_in)
        if not self.anonymous:
            raise failures.no_credential(self._why_none(logged_in))
        with self._mint_lock:
            credential = self._take()   # another request may have minted one meanwhile
            if credential is not None:
                return credential
            credential = self.mint_guest()
            with self._lock:
                if len(self.guests) >= self.guest_pool_size:
                    self.guests.sort(key=lambda h: h.cool_until)
                    self.guests.pop()
                health = Health(credential)
                health.uses = 1
                self.guests.append(health)
                self.changes += 1
            return credential

    def succeeded(self, credential):
        with self._lock:
            health = self._find(credential)
            if health is not None:
                health.failures = 0
                health.cooldowns = 0

    def rejected(self, credential):
        """The upstream answered 401: never use this credential again."""
        with self._lock:
            health = self._find(credential)
            if health is None:
                return
            health.invalid = True
            self.changes += 1
            if credential.guest:
                self.guests.remove(health)
        if not credential.guest:
            log.warning("upstream token ...%s was rejected (401) and is disabled", credential.token[-6:])

    def rate_limited(self, credential, retry_after=None):
        """The upstream is limiting this credential: rest it for Retry-After or a growing cool-down."""
        with self._lock:
            health = self._find(credential)
            if health is not None:
                self._cool(health, retry_after)

    def captcha(self, credential):
        """chat.z.ai asked this credential for a CAPTCHA: it rests; a guest's gates every guest."""
        with self._lock:
            health = self._find(credential)
            if health is not None:
                self.changes += 1
                health.captcha = True
                health.cool_until = self.clock() + CAPTCHA_REST_SECONDS
            if credential.guest:
                self.guests_gated_until = self.clock() + CAPTCHA_REST_SECONDS
        log.warning("chat.z.ai asked %s for a CAPTCHA; it rests for %.0f s",
                    "a guest (so every guest)" if credential.guest else f"token ...{credential.token[-6:]}",
                    CAPTCHA_REST_SECONDS)

    def guests_gated(self):
        return self.clock() < self.guests_gated_until

    def tokens_asked_for_captcha(self):
        """How many configured tokens rest because chat.z.ai asked them for a CAPTCHA."""
        now = self.clock()
        with self._lock:
            return sum(1 for h in self.configured if h.captcha and now < h.cool_until)

    def _unavailable(self, logged_in):
        """Why no credential can be had: a CAPTCHA when that is what keeps every one away."""
        resting = self.tokens_asked_for_captcha()
        if resting and resting == len([h for h in self.configured if not h.invalid]):
            return failures.captcha_required("FRONTEND_CAPTCHA_REQUIRED", tokens_asked=True)
        if not logged_in and self.guests_gated() and not self.configured:
            return failures.captcha_required("FRONTEND_CAPTCHA_REQUIRED, asked of every guest")
        return failures.no_credential(self._why_none(logged_in))

    def failed(self, credential):
        """A transient failure (5xx, connection trouble); several in a row start a cool-down."""
        with self._lock:
            health = self._find(credential)
            if health is None:
                return
            health.failures += 1
            if health.failures >= FAILURES_BEFORE_COOLDOWN:
                health.failures = 0
                self._cool(health, None)

    def enable(self, token_suffix):
        """Re-enable configured tokens ending with `token_suffix` (an operator action)."""
        with self._lock:
            for health in self.configured:
                if health.credential.token.endswith(token_suffix):
                    health.invalid = False
                    health.cool_until = 0.0
                    self.changes += 1

    def usable(self):
        """True when a request could get a credential now (guests count while they may be minted)."""
        now = self.clock()
        with self._lock:
            if any(h.usable(now) for h in self.configured):
                return True
            return self.anonymous and not self.guests_gated()

    def state(self):
        """Each credential's health, without secrets."""
        now = self.clock()
        with self._lock:
            return [{"token": "..." + h.credential.token[-6:], "guest": h.credential.guest,
                     "state": h.describe(now), "uses": h.uses}
                    for h in self.configured + self.guests]

    def _take(self, guests=True):
        now = self.clock()
        with self._lock:
            for healths in (self.configured, self.guests) if guests else (self.configured,):
                for health in healths:
                    if health.usable(now):
                        healths.remove(health)   # to the back of the line: round robin
                        healths.append(health)
                        health.uses += 1
                        return health.credential
        return None

    def _cool(self, health, retry_after):
        self.changes += 1
        health.captcha = False
        health.cooldowns += 1
        seconds = retry_after if retry_after else self.cooldown * 2 ** (health.cooldowns - 1)
        health.cool_until = self.clock() + min(seconds, MAX_COOLDOWN)

    def _find(self, credential):
        for health in self.configured + self.guests:
            if health.credential is credential:
                return health
        return None

    def _why_none(self, logged_in):
        now = self.clock()
        states = ", ".join(f"...{h.credential.token[-6:]} {h.describe(now)}" for h in self.configured)
        tokens = f"every ZAI_TOKEN token is unusable ({states})" if self.configured else "no ZAI_TOKEN is set"
        if logged_in:
            return (f"a logged-in token is needed (for images, or a model chat.z.ai keeps for "
                    f"signed-in users) and {tokens}")
        if self.anonymous and self.guests_gated():
            return f"{tokens}, and chat.z.ai asks guests for a CAPTCHA"
        return f"{tokens} and ANON_TOKEN_ENABLED is false"
