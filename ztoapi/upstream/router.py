"""UPSTREAMS: the upstreams a server uses, in order, as one upstream, with failover between them.

A model is served by the upstreams its catalogue entry names (Model.upstreams, in UPSTREAMS
order). A request goes to the first of them; when that one refuses before the first byte for a
reason of its own (an `upstream_*` failure: CAPTCHA, firewall block, no usable credential, a
model reserved for signed-in users, the upstream down after its retries...), the same request
goes to the next one, once. A failure that is the client's (a 400, a token the client sent) is
never sent elsewhere, and nothing is sent twice once a reply has begun: the Reply is returned
before the client sees a byte, and after that the router is out of the way.

When both refuse, the answer is the first upstream's error (it is the one the operator chose
first), its message saying what the second answered too.
"""
import logging

from ztoapi import signals
from ztoapi.errors import ApiError
from ztoapi.images import image_parts
from ztoapi.upstream.catalogue import merged

log = logging.getLogger("ztoapi.upstream")
LABELS = {"web": "chat.z.ai's web chat", "api": "Z.ai's API"}
NOT_FAILED_OVER = ("upstream_token_rejected",)   # the client's own X-ZAI-Token


def fails_over(error):
    """Whether another upstream may answer after `error` (the upstream's own refusal)."""
    code = error.code or ""
    return (code.startswith("upstream_") or code == "model_requires_login") and code not in NOT_FAILED_OVER


class Router:
    name = "router"

    def __init__(self, order, upstreams):
        self.order = tuple(name for name in order if name in upstreams)
        self.upstreams = upstreams
        self._merged = (None, None)   # (the listings it was made from, the merged catalogue)

    def candidates(self, chat):
        """The upstreams that may answer `chat`, in order. The web chat needs a request's images
        uploaded first, which happens only when it is the first choice."""
        names = [name for name in self.order if name in chat.model.upstreams] or list(self.order[:1])
        if names[0] != "web" and "web" in names and any(image_parts(chat.native.get("messages") or ())):
            names.remove("web")
        return names

    def open(self, chat):
        names = self.candidates(chat)
        first_error = None
        for name in names:
            try:
                return self.upstreams[name].open(chat)
            except ApiError as error:
                if first_error is not None:
                    raise both_failed(first_error, names[0], error, name) from None
                if not fails_over(error) or name == names[-1]:
                    raise
                first_error = error
                log.warning("%s refused (%s): the request goes to %s", LABELS[name], error.code,
                            LABELS[names[-1]])
                signals.upstream_failed_over.send(self, source=name, target=names[-1])
        raise AssertionError("no upstream was tried")   # names is never empty

    def models(self):
        """The merged catalogue (ztoapi.upstream.catalogue), made again only when an upstream's
        own list changed, so that the Catalog's index is rebuilt only then."""
        listings = {name: self.upstreams[name].models() for name in self.order}
        made_from, catalogue = self._merged
        if made_from is None or any(listings[name][0] is not made_from[name][0] for name in self.order):
            catalogue = merged(self.order, listings)
            self._merged = (listings, catalogue)
        return catalogue

    def status(self):
        """Ready when one upstream in UPSTREAMS can serve; each upstream's own status."""
        states = {name: self.upstreams[name].status() for name in self.order}
        ready = any(state["ready"] for state in states.values())
        if ready:
            reason = "ok"
        elif len(states) == 1:
            reason = next(iter(states.values()))["reason"]
        else:
            reason = "; ".join(f"{LABELS[name]}: {state['reason']}" for name, state in states.items())
        return {"ready": ready, "reason": reason, "upstreams": states}

    def warm(self):
        for upstream in self.upstreams.values():
            upstream.warm()


def both_failed(first, first_name, second, second_name):
    """The first upstream's error, its message also saying what the second one answered."""
    message = (f"{first.message} ({LABELS[second_name]}, tried next, failed too: {second.message})")
    error = ApiError(first.status, message, code=first.code, param=first.param, type=first.type,
                     headers=first.headers)
    error.retries = first.retries + second.retries + 1
    return error


def shown_states(states):
    """What /readyz and the dashboard show of each upstream: for the web chat its dialect."""
    shown = {}
    for name, state in states.items():
        shown[name] = {"ready": state["ready"], "reason": state["reason"]}
        if name == "web":
            shown[name].update(dialect=state["dialect"], dialect_source=state["dialect_source"])
    return shown
