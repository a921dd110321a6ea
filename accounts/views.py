"""The API tokens page: every signed-in user creates and revokes their own tokens."""

from datetime import UTC, datetime, time

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import ApiToken, Scope
from accounts.tokens import issue_token, revoke_token


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What the token is for, e.g. 'certificate rotation job'.",
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=Scope.choices,
        initial=Scope.BOTH,
        widget=forms.RadioSelect,
        help_text="A gateway token calls APIs only; a management token uses the REST API.",
    )
    expires = forms.DateField(
        label="Expires",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the start of this day (UTC).",
    )

    def clean_expires(self):
        day = self.cleaned_data["expires"]
        if day is None:
            return None
        moment = datetime.combine(day, time.min, tzinfo=UTC)
        if moment <= timezone.now():
            raise forms.ValidationError("Choose a day after today.")
        return moment


@never_cache  # the page that shows a new token must not be kept by any cache
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        api_token, token = issue_token(
            request.user,
            data["name"],
            scope=data["scope"],
            expires_at=data["expires"],
            request=request,
        )
        created = {"token": token, "api_token": api_token}
        form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": request.user.api_tokens.active(),
    }
    return render(request, "accounts/tokens.html", context)


@require_POST
def token_revoke(request, pk):
    api_token = get_object_or_404(ApiToken.objects.active(), pk=pk, user=request.user)
    revoke_token(api_token, request=request)
    messages.success(request, f"Token {api_token} revoked. Calls with it are refused from now on.")
    return redirect("api_tokens")
