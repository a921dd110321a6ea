"""The client-certificate inventory: one filter form, one filtered queryset, and what the
list page, the exports, the dashboard and the `expiring` command read from it.

Every filter comes from the query string, so a filtered list is a link that can be shared, and
the export of a list is the same link under /export.csv or /export.json.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.db import connection
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from certificates.forms import validate_tag
from certificates.models import (
    SUBJECT_SORT,
    Certificate,
    named_by_usage,
    protected_relations,
    referenced_keys,
)
from certificates.search import exact_match, search
from lib import sql

STATUS_CHOICES = [
    ("", "Any"),
    ("valid", "Valid"),
    ("expiring", "Expiring within…"),
    ("expired", "Expired"),
    ("not-yet-valid", "Not yet valid"),
]
USAGE_CHOICES = [("", "Any"), ("used", "In use"), ("unused", "Unused")]
PRESENTED_CHOICES = [
    ("", "Any"),
    ("never", "Never"),
    ("recent", "Within 30 days"),
    ("stale", "Not within 30 days"),
]
SELF_SIGNED_CHOICES = [("", "Any"), ("yes", "Self-signed"), ("no", "CA-issued")]
KEY_TYPE_CHOICES = [("", "Any"), ("RSA", "RSA"), ("EC", "EC")]
PER_PAGE_CHOICES = [("25", "25"), ("50", "50"), ("100", "100"), ("200", "200")]
PRESENTED_RECENT_DAYS = 30
SEARCH_COUNT_LIMIT = 1_000

# Sort key: (column label, ordering). Every column of the table sorts; the Id breaks ties.
SORTS = {
    "id": ("Id", [F("name").asc()]),
    "subject": ("Subject", [SUBJECT_SORT.asc()]),
    "thumbprint": ("Thumbprint", [F("thumbprint").asc()]),
    "expires": ("Expiration date", [F("not_after").asc()]),
    "key": ("Key", [F("key_type").asc(), F("key_size").asc()]),
    "used": ("Used by", [F("usage_count").asc()]),
    "presented": ("Last presented", [F("last_presented_at").asc(nulls_first=True)]),
    "owner": ("Owner and tags", [F("owner").asc()]),
}
SORT_CHOICES = [(key, label) for key, (label, _) in SORTS.items()] + [
    (f"-{key}", f"{label}, descending") for key, (label, _) in SORTS.items()
]

# Values that leave a filter off; they are left out of links.
DEFAULTS = {
    "q": "",
    "status": "",
    "within": 30,
    "usage": "",
    "presented": "",
    "self_signed": "",
    "key_type": "",
    "tag": "",
    "sort": "id",
    "per_page": 50,
}
# The columns of the list page, in order (the last one holds the row menu).
COLUMNS = ["id", "subject", "thumbprint", "expires", "key", "used", "presented", "owner"]


class InventoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Id, subject, SAN, thumbprint, owner, tag"}
        ),
    )
    status = forms.ChoiceField(label="Expiry", choices=STATUS_CHOICES, required=False)
    within = forms.IntegerField(
        label="Days", required=False, min_value=1, max_value=3650, widget=forms.NumberInput
    )
    usage = forms.ChoiceField(label="Usage", choices=USAGE_CHOICES, required=False)
    presented = forms.ChoiceField(label="Last presented", choices=PRESENTED_CHOICES, required=False)
    self_signed = forms.ChoiceField(label="Issuer", choices=SELF_SIGNED_CHOICES, required=False)
    key_type = forms.ChoiceField(label="Key type", choices=KEY_TYPE_CHOICES, required=False)
    tag = forms.CharField(label="Tag", required=False, max_length=40)
    sort = forms.ChoiceField(label="Sort", choices=SORT_CHOICES, required=False)
    per_page = forms.TypedChoiceField(
        label="Per page", choices=PER_PAGE_CHOICES, coerce=int, required=False
    )

    def clean_tag(self):
        tag = self.cleaned_data["tag"].strip().lower()
        if tag:
            validate_tag(tag)
        return tag

    def clean_q(self):
        return self.cleaned_data["q"].strip()


def _refusal(form, name: str, value: str) -> str:
    field = form.fields[name]
    choices = [str(label) for key, label in getattr(field, "choices", ()) if key not in ("", None)]
    if choices:
        return f"{field.label} “{value[:80]}” (it offers {', '.join(choices)})"
    return f"{field.label} “{value[:80]}” ({' '.join(form.errors[name])})"


@dataclass(frozen=True)
class Inventory:
    """The effective filters of one request (valid values only) and what to say about the rest."""

    filters: dict
    problems: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # each refused filter, said once, for an export's answer

    @classmethod
    def from_query(cls, data) -> "Inventory":
        form = InventoryFilterForm(data)
        form.is_valid()
        refused = tuple(_refusal(form, name, data.get(name, "")) for name in form.errors)
        filters = {}
        for name, default in DEFAULTS.items():
            value = form.cleaned_data.get(name) if name not in form.errors else None
            filters[name] = default if value in (None, "") else value
        problems = tuple(
            f"{form.fields[name].label}: {' '.join(errors)} This filter is ignored."
            for name, errors in form.errors.items()
        )
        return cls(filters, problems, refused)

    def export_refusal(self) -> str:
        """Why an export with refused filters exports nothing: one message, in plain words."""
        return (
            "Nothing was exported, because the address asks for a filter the list does not "
            "have: " + "; ".join(self.refused) + ". Choose the filters on the Client "
            "certificates page and export from there.\n"
        )

    def form(self) -> InventoryFilterForm:
        """The filter form showing what is applied (an ignored value shows as its default)."""
        return InventoryFilterForm({**self.filters})

    def certificates(self, now: datetime | None = None, *, exact=None):
        """The filtered, sorted certificates; without `exact` (see exact_match) when given."""
        queryset = search(self._filtered(now), self.filters["q"])
        if exact is not None:
            queryset = queryset.exclude(pk=exact.pk)
        return queryset.order_by(*self.ordering())

    def exact_match(self, now: datetime | None = None):
        """The certificate whose Id or whole thumbprint the search names, if the other filters
        keep it: the list shows it first."""
        return exact_match(self._filtered(now), self.filters["q"])

    def _filtered(self, now: datetime | None = None):
        now = now or timezone.now()
        f = self.filters
        queryset = Certificate.objects.with_usage_count().defer(
            "encrypted_private_key", "chain_pem", "certificate_pem", "search_text"
        )
        status = f["status"]
        if status == "valid":
            queryset = queryset.filter(not_before__lte=now, not_after__gt=now)
        elif status == "expiring":
            horizon = now + timedelta(days=f["within"])
            queryset = queryset.filter(not_after__gt=now, not_after__lte=horizon)
        elif status == "expired":
            queryset = queryset.filter(not_after__lte=now)
        elif status == "not-yet-valid":
            queryset = queryset.filter(not_before__gt=now)
        if f["usage"] == "used":
            queryset = queryset.used()
        elif f["usage"] == "unused":
            queryset = queryset.unused()
        recent = now - timedelta(days=PRESENTED_RECENT_DAYS)
        if f["presented"] == "never":
            queryset = queryset.filter(last_presented_at__isnull=True)
        elif f["presented"] == "recent":
            queryset = queryset.filter(last_presented_at__gte=recent)
        elif f["presented"] == "stale":
            queryset = queryset.filter(
                Q(last_presented_at__isnull=True) | Q(last_presented_at__lt=recent)
            )
        if f["self_signed"]:
            queryset = queryset.filter(self_signed=f["self_signed"] == "yes")
        if f["key_type"]:
            queryset = queryset.filter(key_type=f["key_type"])
        if f["tag"]:
            # Tags hold no quotes (see TagsField), so the quoted tag matches one whole tag. The
            # search column holds the tags' JSON too: its index finds the candidates.
            quoted = f'"{f["tag"]}"'
            queryset = queryset.filter(search_text__contains=quoted, tags__icontains=quoted)
        return queryset

    def ordering(self) -> list:
        key = self.filters["sort"]
        descending = key.startswith("-")
        orderings = SORTS[key.lstrip("-")][1]
        if descending:
            orderings = [ordering.copy() for ordering in orderings]
            for ordering in orderings:
                ordering.reverse_ordering()
        return [*orderings, F("name").asc()]

    def query(self, *, paging: bool = True, **changes) -> str:
        """The query string of these filters with `changes`, defaults left out."""
        values = {**self.filters, **changes}
        pairs = []
        for name, default in DEFAULTS.items():
            if name == "per_page" and not paging:
                continue
            if name == "within" and values["status"] != "expiring":
                continue
            if values[name] != default:
                pairs.append((name, values[name]))
        if paging and values.get("page", 1) != 1:
            pairs.append(("page", values["page"]))
        for name in ("after", "before"):  # a keyset page (lib.listing)
            if paging and values.get(name) is not None:
                pairs.append((name, values[name]))
        return urlencode(pairs)

    def url(self, **changes) -> str:
        query = self.query(**changes)
        base = reverse("certificates:list")
        return f"{base}?{query}" if query else base

    def export_url(self, fmt: str) -> str:
        query = self.query(paging=False)
        base = reverse("certificates:export", args=[fmt])
        return f"{base}?{query}" if query else base

    @property
    def count_limit(self) -> int | None:
        """A text search or a tag counts its matches up to SEARCH_COUNT_LIMIT only: a broad
        one would read every row it matches just to count them."""
        return SEARCH_COUNT_LIMIT if self.filters["q"] or self.filters["tag"] else None

    @property
    def is_filtered(self) -> bool:
        return any(
            self.filters[name] != DEFAULTS[name]
            for name in DEFAULTS
            if name not in ("sort", "per_page")
        )

    def columns(self) -> list[dict]:
        """Header cells: label, the link that sorts by the column, and aria-sort."""
        current = self.filters["sort"]
        cells = []
        for key in COLUMNS:
            label = SORTS[key][0]
            state = None
            if current == key:
                state = "ascending"
            elif current == f"-{key}":
                state = "descending"
            target = f"-{key}" if state == "ascending" else key
            cells.append(
                {"label": label, "url": self.url(sort=target), "aria_sort": state, "key": key}
            )
        return cells


def list_url(**filters) -> str:
    """The list page filtered by `filters` (names and values as in the query string)."""
    return Inventory({**DEFAULTS, **filters}).url()


def usages_by_certificate(certificates) -> dict[int, list]:
    """{certificate pk: [objects that use it]} for many certificates, one query per relation.

    `certificates` may be a list or a queryset (it is then used as a subquery). Each related
    object comes with its other non-null foreign keys joined, so that str() and
    get_absolute_url() (which name the backend of a backend credential) cost no query.
    """
    if isinstance(certificates, list | tuple):
        keys = [certificate.pk for certificate in certificates]
    else:
        keys = certificates.order_by().values("pk")
    found = defaultdict(list)
    for relation in protected_relations(Certificate):
        model, field = relation.related_model, relation.field
        related = model._default_manager.filter(**{f"{field.name}__in": keys})
        if joined := named_by_usage(relation):
            related = related.select_related(*joined)
        for usage in related:
            found[getattr(usage, field.attname)].append(usage)
    for usages in found.values():
        usages.sort(key=str)
    return found


def _kind(model) -> tuple[str, str]:
    """What a usage stands for: the model itself, or for a link model (a backend's credential)
    the one other object it links the certificate to."""
    others = [
        field
        for field in model._meta.concrete_fields
        if field.many_to_one and not field.null and field.related_model is not Certificate
    ]
    meta = others[0].related_model._meta if len(others) == 1 else model._meta
    return str(meta.verbose_name), str(meta.verbose_name_plural)


def usage_summary(usages: list) -> str:
    """ "1 API, 2 backends" (kinds in order of first appearance); "" when unused."""
    counts = {}
    for usage in usages:
        kind = _kind(type(usage))
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(
        f"{count} {singular if count == 1 else plural}"
        for (singular, plural), count in counts.items()
    )


def attach_usages(certificates) -> list:
    """The certificates as a list, each with `.usage_list` and `.usage_summary` set, at one
    query per kind of usage whatever the number of certificates."""
    certificates = list(certificates)
    usages = usages_by_certificate(certificates)
    for certificate in certificates:
        certificate.usage_list = usages.get(certificate.pk, [])
        certificate.usage_summary = usage_summary(certificate.usage_list)
    return certificates


def expiring_within(days: int, *, now: datetime | None = None, include_expired: bool = True):
    """Certificates whose expiration date is at most `days` days away, soonest first."""
    now = now or timezone.now()
    queryset = Certificate.objects.filter(not_after__lte=now + timedelta(days=days))
    if not include_expired:
        queryset = queryset.filter(not_after__gt=now)
    return queryset.only("name", "thumbprint", "not_after").order_by("not_after", "name")


# Comparison operators _count_expiring may write into SQL (never anything from a request).
_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _count_expiring(ranges: dict[str, dict]) -> dict[str, int]:
    """How many certificates expire in each range, in one statement.

    `ranges` maps a name to bounds on the expiration date, e.g. {"gt": now, "lte": later}
    ({} counts all). Each count is a scalar subquery that reads only its own stretch of the
    expiration index. The ORM would either make one pass over every row with a FILTER clause
    per count (twenty times slower at 10,000 certificates) or spend milliseconds building a
    subquery per count; this is the plain SQL of the first kind, for both SQLite and
    PostgreSQL.
    """
    parts, params = [], []
    for bounds in ranges.values():
        where = " AND ".join(f"{{c.not_after}} {_OPERATORS[op]} %s" for op in bounds) or "1 = 1"
        # Names come from the model (lib.sql), operators from _OPERATORS; values are params.
        parts.append(f"(SELECT COUNT(*) FROM {{c}} WHERE {where})")  # noqa: S608
        params += [sql.datetime_parameter(moment) for moment in bounds.values()]
    with connection.cursor() as cursor:
        cursor.execute(sql.sql("SELECT " + ", ".join(parts), c=Certificate), params)
        return dict(zip(ranges, cursor.fetchone(), strict=True))


def expiry_totals(now: datetime, horizons=(30, 60, 90)) -> dict:
    """Dashboard totals: all, expired, expiring within each horizon, unused.

    Two queries that read the expiration index and the usages' foreign keys, never the
    certificates' rows nor the usages of each certificate.
    """
    ranges = {"all": {}, "expired": {"lte": now}}
    for days in horizons:
        ranges[f"within_{days}"] = {"gt": now, "lte": now + timedelta(days=days)}
    totals = _count_expiring(ranges)
    # Every referenced key is a certificate (protected foreign keys): used = distinct keys.
    totals["unused"] = max(0, totals["all"] - referenced_keys(Certificate).count())
    return totals


def _month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=timezone.get_current_timezone())


def expirations_by_month(now: datetime, months: int = 12) -> list[tuple[datetime, int]]:
    """(first day of the month, how many certificates expire in it) for this month and the next
    ones; this month counts from now. One query."""
    local = timezone.localtime(now)
    starts = [_month_start(local.year, local.month + offset) for offset in range(months + 1)]
    ranges = {}
    for index in range(months):
        since = {"gt": now} if index == 0 else {"gte": starts[index]}
        ranges[f"m{index}"] = {**since, "lt": starts[index + 1]}
    totals = _count_expiring(ranges)
    return [(starts[index], totals[f"m{index}"]) for index in range(months)]


def next_to_expire(now: datetime, limit: int = 10) -> list:
    """What needs attention first, each with `.usage_list`: the expired certificates that
    something still uses (the gateway refuses to present them), then the valid ones that
    expire first; `limit` in all."""
    fields = ("name", "subject", "thumbprint", "not_before", "not_after", "owner")
    broken = list(
        Certificate.objects.used()
        .filter(not_after__lte=now)
        .only(*fields)
        .order_by("not_after", "name")[:limit]
    )
    soonest = (
        Certificate.objects.filter(not_after__gt=now)
        .only(*fields)
        .order_by("not_after", "name")[: limit - len(broken)]
    )
    return attach_usages(broken + list(soonest) if len(broken) < limit else broken)
