"""Console sign-in with brute-force limits (THREATS T22).

Failed sign-ins are counted per client address and, separately, per username (so guesses spread
over many addresses against one account are capped too). Once either counter reaches
``MATE_LOGIN_FAILURES_PER_MINUTE`` (default 10) in the current minute, further sign-in POSTs are
answered 429 before the form is validated, so no password is hashed and nothing is looked up.

The per-username counter applies to every name typed, existing or not, so a 429 says nothing
about whether an account exists. Its price is that someone who knows a username can keep that
account's sign-in refused for a minute at a time; sessions already open are unaffected.

Unknown users and wrong passwords already get the same page after the same work: Django's model
backend hashes the given password once for an unknown username too, and inactive accounts fail
exactly like wrong passwords.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from mate.ratelimit import Limit, client_address

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
TOO_MANY = (
    "Too many failed sign-in attempts from this address or for this username. "
    "Wait a minute, then sign in again."
)


def _limit_per_minute() -> int:
    return settings.MATE_LOGIN_FAILURES_PER_MINUTE


def _counters(request) -> list[tuple[Limit, str]]:
    """The (limit, identity) pairs one sign-in POST is counted under."""
    per_minute = _limit_per_minute()
    typed = unicodedata.normalize("NFKC", request.POST.get("username", "")).strip().casefold()
    # Hashed: cache keys stay short and safe whatever was typed, and no username is stored.
    user_key = hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()
    return [
        (Limit("login-fail-addr", per_minute, WINDOW_SECONDS), client_address(request)),
        (Limit("login-fail-user", per_minute, WINDOW_SECONDS), user_key),
    ]


class LoginView(auth_views.LoginView):
    """Django's sign-in page, refusing further attempts (429) after too many failures."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        counters = _counters(request)
        if any(limit.exceeded(ident) for limit, ident in counters):
            log.warning("sign-in refused: too many failures (address %s)", client_address(request))
            response = HttpResponse(TOO_MANY, status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(WINDOW_SECONDS)
            return response
        self._counters = counters
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        for limit, ident in self._counters:
            limit.hit(ident)
        return super().form_invalid(form)


login_view = LoginView.as_view()
