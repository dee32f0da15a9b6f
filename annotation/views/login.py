"""The login page: Django's LoginView, answering a locked sign-in with 429 and how long it lasts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpResponse

from annotation.form_rescue import SESSION_KEY
from annotation.services.login_throttle import login_lock


class ThrottledLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        username = str(self.request.POST.get("username", ""))[:150]
        lock = login_lock(username=username, request=self.request)
        if lock is None:
            return super().form_invalid(form)
        minutes = max(1, round(lock.seconds / 60))
        message = (
            f"Too many failed sign-ins for this {lock.scope}: signing in is locked for about "
            f"{minutes} minute{'s' if minutes != 1 else ''}, whatever password is given. "
            "Wait, then try again; if you forgot your password, ask a lead or an administrator."
        )
        # A fresh form: "didn't match" would be wrong (the password was not even checked).
        fresh = self.get_form_class()(self.request, initial={"username": username})
        response = self.render_to_response(
            self.get_context_data(form=fresh, locked_message=message), status=429
        )
        response["Retry-After"] = str(lock.seconds)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = settings.OIDC_ENABLED
        context["sso_label"] = settings.OIDC_BUTTON_LABEL
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        context["form_kept"] = SESSION_KEY in self.request.session
        return context
