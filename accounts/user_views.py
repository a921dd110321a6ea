"""The Users page: administrators add users, change roles, deactivate and unlock.

The one page reviewers cannot read: user management is for administrators only.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import actions, lockouts
from accounts.forms import RoleForm, UserAddForm
from accounts.middleware import SESSION_KEY
from accounts.models import Profile

can_manage = permission_required("accounts.manage_users", raise_exception=True)


def _user(username):
    return get_object_or_404(get_user_model(), username=username)


def _row(user, locked: set, must_change: set) -> dict:
    return {
        "user": user,
        "role": actions.ROLE_LABELS[actions.role_key(user)],
        "locked_out": user.get_username() in locked,
        "must_change_password": user.pk in must_change,
    }


@can_manage
@require_GET
def user_list(request):
    users = list(get_user_model().objects.prefetch_related("groups").order_by("username"))
    locked = lockouts.locked_out_usernames(user.get_username() for user in users)
    must_change = set(
        Profile.objects.filter(must_change_password=True).values_list("user_id", flat=True)
    )
    rows = [_row(user, locked, must_change) for user in users]
    return render(request, "accounts/users.html", {"rows": rows})


@never_cache  # the answer shows a one-time password
@can_manage
@require_http_methods(["GET", "POST"])
def user_add(request):
    form = UserAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, password = actions.create_user(
            data["username"], data["role"], email=data["email"], request=request
        )
        return render(
            request, "accounts/one_time_password.html", {"shown": user, "password": password}
        )
    return render(request, "accounts/user_add.html", {"form": form})


@can_manage
@require_GET
def user_detail(request, username):
    user = _user(username)
    return _detail(request, user, RoleForm(initial={"role": actions.role_key(user)}))


def _detail(request, user, form, status=200):
    context = {
        "shown": user,
        "form": form,
        "row": _row(
            user,
            lockouts.locked_out_usernames([user.get_username()]),
            {user.pk} if actions.must_change_password(user) else set(),
        ),
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/user_detail.html", context, status=status)


def _done(request, user, text):
    messages.success(request, text)
    return redirect("users:detail", user.get_username())


def _refused(request, user, error):
    messages.error(request, str(error))
    return redirect("users:detail", user.get_username())


@can_manage
@require_POST
def user_role(request, username):
    user = _user(username)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _detail(request, user, form, status=400)
    role = form.cleaned_data["role"]
    try:
        changed = actions.change_role(user, role, request=request)
    except actions.Refused as error:
        return _refused(request, user, error)
    label = actions.ROLE_LABELS[role]
    if not changed:
        return _done(request, user, f"{user.get_username()} already has the role {label}.")
    return _done(request, user, f"{user.get_username()} now has the role {label}.")


@can_manage
@require_POST
def user_deactivate(request, username):
    user = _user(username)
    if not user.is_active:
        return _done(request, user, f"{user.get_username()} is already deactivated.")
    try:
        actions.set_active(user, False, request=request)
    except actions.Refused as error:
        return _refused(request, user, error)
    return _done(
        request,
        user,
        f"{user.get_username()} is deactivated: they cannot sign in and their API tokens are "
        "refused.",
    )


@can_manage
@require_POST
def user_reactivate(request, username):
    user = _user(username)
    if not user.is_active:
        actions.set_active(user, True, request=request)
    return _done(request, user, f"{user.get_username()} can sign in again.")


@can_manage
@require_POST
def user_unlock(request, username):
    user = _user(username)
    if not actions.unlock(user, request=request):
        return _done(request, user, f"{user.get_username()} had no failed sign-in to forget.")
    return _done(request, user, f"{user.get_username()} can try to sign in again now.")


@never_cache  # the answer shows a one-time password
@can_manage
@require_POST
def user_password(request, username):
    user = _user(username)
    password = actions.set_one_time_password(user, request=request)
    return render(
        request,
        "accounts/one_time_password.html",
        {"shown": user, "password": password, "reset": True},
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own password change, which also ends a one-time password."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        actions.password_changed(self.request.user, request=self.request)
        self.request.session.pop(SESSION_KEY, None)
        messages.success(self.request, "Your password is changed.")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["required"] = bool(self.request.session.get(SESSION_KEY))
        return context


password_change = PasswordChangeView.as_view()
