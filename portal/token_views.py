"""The API tokens page: every signed-in user creates and revokes their own tokens."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.models import ApiToken
from portal.tokens import issue_token, revoke_token


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What the token is for, e.g. 'certificate rotation job'.",
    )


@never_cache  # the page that shows a new token must not be kept by any cache
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        api_token, token = issue_token(request.user, form.cleaned_data["name"], request=request)
        created = {"token": token, "api_token": api_token}
        form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": request.user.api_tokens.active(),
    }
    return render(request, "portal/tokens.html", context)


@require_POST
def token_revoke(request, pk):
    api_token = get_object_or_404(ApiToken.objects.active(), pk=pk, user=request.user)
    revoke_token(api_token, request=request)
    messages.success(request, f"Token {api_token} revoked. Calls with it are refused from now on.")
    return redirect("api_tokens")
