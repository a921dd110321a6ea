from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from audit.models import Action

# What audit records name as their object's type (record(..., object_type=...)).
OBJECT_TYPES = [
    "api",
    "api-token",
    "backend",
    "ca-certificate",
    "certificate",
    "keyring",
    "operation",
    "url",
    "user",
]


def _choices(values) -> list[tuple[str, str]]:
    return [("", "Any")] + [(value, value) for value in sorted(set(values))]


class AuditFilterForm(forms.Form):
    """The Audit log's filters, read from the query string (a plain GET form)."""

    action = forms.ChoiceField(label="Action", required=False)
    actor = forms.CharField(label="Who", required=False, max_length=150)
    object_type = forms.ChoiceField(label="Object type", required=False)
    object_id = forms.CharField(label="Object", required=False, max_length=200)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # From the vocabularies, not from the recorded events: a DISTINCT over a million
        # events reads them all.
        self.fields["action"].choices = _choices(Action.values)
        self.fields["object_type"].choices = _choices(OBJECT_TYPES)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def usable(self) -> tuple[dict, list[str]]:
        """The filters that are valid, and a message for each one that is not (and is ignored)."""
        self.is_valid()
        problems = [
            f"{self.fields[name].label}: {' '.join(errors)} This filter is ignored."
            for name, errors in self.errors.items()
        ]
        values = {
            name: self.cleaned_data.get(name)
            for name in self.fields
            if name not in self.errors and self.cleaned_data.get(name) not in (None, "")
        }
        return values, problems


def filter_events(queryset, filters: dict):
    if action := filters.get("action"):
        queryset = queryset.filter(action=action)
    if actor := filters.get("actor"):
        queryset = queryset.filter(actor_name__icontains=actor.strip())
    if object_type := filters.get("object_type"):
        queryset = queryset.filter(object_type=object_type)
    if object_id := filters.get("object_id"):
        queryset = queryset.filter(object_id__icontains=object_id.strip())
    zone = timezone.get_current_timezone()
    if since := filters.get("since"):
        queryset = queryset.filter(at__gte=datetime.combine(since, time.min, zone))
    if (until := filters.get("until")) and until < date.max:
        queryset = queryset.filter(
            at__lt=datetime.combine(until + timedelta(days=1), time.min, zone)
        )
    return queryset
