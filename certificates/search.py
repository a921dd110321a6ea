"""The inventory's search box: Id, subject, SANs, the start of the thumbprint, and for client
certificates also the friendly name, owner, contact and tags.

Everything but the thumbprint is in the model's lower-case `search_text` column, and a search
is `search_text LIKE '%text%'` on both databases. What serves it differs: on PostgreSQL a
pg_trgm GIN index (`certificate_search_trgm`) finds the candidate rows from the text's
trigrams; on SQLite the b-tree `certificate_search` holds the column, so the scan reads that
index instead of the wide rows. An Id or a whole thumbprint is also looked up exactly, by the
unique index, so that it can be shown first.
"""

from django.db.models import Q, Value
from django.db.models.functions import Lower

from certificates.models import SEARCH_SEPARATOR

HEX_DIGITS = frozenset("0123456789ABCDEF")
THUMBPRINT_LENGTH = 40
# A search finding up to this many certificates names them by key in the queries that follow.
SEARCH_KEYS_READ = 1000


def thumbprint_text(text: str) -> str | None:
    """`text` as the start of a thumbprint (upper-case hex, colons and spaces dropped), or None
    when it cannot start one."""
    compact = "".join(ch for ch in text if ch not in " :").upper()
    if compact and all(ch in HEX_DIGITS for ch in compact):
        return compact
    return None


def search(queryset, text: str):
    """The certificates of `queryset` that `text` finds.

    The keys found are read first, by one query that the search index answers. Up to
    SEARCH_KEYS_READ of them, the list's count and page then read those rows by key, whatever
    the sort, instead of searching twice; a broader search filters by the condition itself.
    """
    text = text.strip()
    if not text:
        return queryset
    if SEARCH_SEPARATOR in text:
        return queryset.none()  # it joins the fields: it could only match across two
    condition = Q(search_text__contains=Lower(Value(text)))
    if thumbprint := thumbprint_text(text):
        condition |= Q(thumbprint__startswith=thumbprint)
    # Always true, but a range on the SQLite index's first column: SQLite never counts an index
    # on a generated column as covering, so without it it would read every row instead.
    found = queryset.model._default_manager.filter(Q(search_text__gte="") & condition)
    keys = list(found.order_by().values_list("pk", flat=True)[: SEARCH_KEYS_READ + 1])
    if len(keys) > SEARCH_KEYS_READ:
        # Broad: the condition itself, so that the page (in the sort's index order) and the
        # capped count stop after the rows they need instead of matching every row first.
        return queryset.filter(condition)
    return queryset.filter(pk__in=keys)


def exact_match(queryset, text: str):
    """The certificate of `queryset` whose Id is `text`, or whose thumbprint it spells whole;
    one query on the unique and thumbprint indexes (no query for other text)."""
    text = text.strip()
    thumbprint = thumbprint_text(text)
    condition = Q(name=text) if text and SEARCH_SEPARATOR not in text else Q()
    if thumbprint and len(thumbprint) == THUMBPRINT_LENGTH:
        condition |= Q(thumbprint=thumbprint)
    if not condition:
        return None
    return queryset.filter(condition).order_by("name").first()
