from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator

from accounts.actions import NO_ROLE, ROLE_LABELS

ROLE_HELP = (
    "Administrators change everything and manage users; reviewers read everything and change "
    "nothing; a user with no role can only call APIs with a gateway token."
)


class UserAddForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only; what the user types to sign in.",
    )
    email = forms.EmailField(label="E-mail", required=False, help_text="Optional.")
    role = forms.ChoiceField(
        label="Role",
        choices=[(key, label) for key, label in ROLE_LABELS.items() if key != NO_ROLE],
        initial="reviewer",
        widget=forms.RadioSelect,
        help_text=ROLE_HELP,
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this username exists already.")
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=list(ROLE_LABELS.items()),
        widget=forms.RadioSelect,
        help_text=ROLE_HELP,
    )
