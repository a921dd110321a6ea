"""Lists that page, filter and refresh in place with htmx: what every list view shares."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, OrderBy, Q
from django.http import QueryDict

# Pages up to this one are numbered (an OFFSET is cheap that far); "Next" from it and "Last"
# switch to keyset pages, which seek in the sort's index whatever the depth.
NUMBERED_PAGES = 10


def requested_page(request) -> int | None:
    try:
        return int(request.GET.get("page", ""))
    except ValueError:
        return None


def count_of(queryset, limit: int | None = None) -> tuple[int, bool]:
    """How many rows, and whether counting stopped at `limit` (then the count is limit + 1):
    a broad text search would otherwise read every row it matches just to count them."""
    if limit is None:
        return queryset.count(), False
    count = queryset.order_by().values("pk")[: limit + 1].count()
    return count, count > limit


def page_of(
    request,
    queryset,
    per_page: int,
    problems: list[str],
    *,
    key: str | None = None,
    count_limit: int | None = None,
):
    """The requested page; past the end it is the last one, and `problems` says so.

    With `key` (a unique field that ends the queryset's ordering), `?after=K` and `?before=K`
    ask for the rows that follow or precede the row whose key is K, and `?page=last` for the
    last rows: keyset pages (see KeysetPage), which numbered pages link to past NUMBERED_PAGES.
    """
    if key is not None:
        data = request.GET
        direction = next((d for d in ("after", "before") if data.get(d, "") != ""), None)
        if direction or data.get("page") == "last":
            return keyset_page(
                queryset,
                per_page,
                problems,
                key=key,
                direction=direction,
                cursor=data.get(direction) if direction else None,
                count_limit=count_limit,
            )
    paginator = Paginator(queryset, per_page)
    paginator.count, capped = count_of(queryset, count_limit)
    page = paginator.get_page(request.GET.get("page"))
    page.count_capped = capped
    requested = requested_page(request)
    if requested is not None and requested != page.number and page.paginator.count:
        problems.append(
            f"There is no page {requested}; this is page {page.number} "
            f"of {page.paginator.num_pages}."
        )
    if key is not None and page.paginator.num_pages > NUMBERED_PAGES:
        page.last_key = "last"
        if page.number >= NUMBERED_PAGES and page.has_next():
            page.next_key = getattr(page.object_list[len(page.object_list) - 1], key)
    return page


@dataclass
class KeysetPage:
    """Rows after (or before) one row in the list's order, read by seeking in an index.

    It has what templates/portal/_pagination.html reads: `object_list`, `start_index`, the
    `paginator.count`, and `previous_key` / `next_key` for the links (`?before=` / `?after=`).
    """

    object_list: list
    count: int
    previous_key: object = None
    next_key: object = None
    last_key: str = "last"
    keyset: bool = True
    count_capped: bool = False
    number: None = None
    paginator: "KeysetPage" = field(init=False, repr=False)
    # Where the page starts, as query-string pairs: {"after": key}, {"page": "last"}.
    position: dict = field(default_factory=dict)

    def __post_init__(self):
        self.paginator = self  # page.paginator.count, as on a numbered page

    def __len__(self):
        return len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)


def _orderings(queryset) -> list[OrderBy]:
    found = []
    for item in queryset.query.order_by or queryset.model._meta.ordering:
        if isinstance(item, str):
            item = F(item[1:]).desc() if item.startswith("-") else F(item).asc()
        found.append(item)
    return found


def _beyond(orderings: list[OrderBy], values: list) -> Q:
    """Rows that come after `values` (one per ordering, the last one unique) in this order."""
    condition = Q(pk__in=[])
    equal = Q()
    for index, (ordering, value) in enumerate(zip(orderings, values, strict=True)):
        name = f"_keyset_{index}"
        if value is None:
            after = Q(**{f"{name}__isnull": False}) if ordering.nulls_first else Q(pk__in=[])
            same = Q(**{f"{name}__isnull": True})
        else:
            after = Q(**{f"{name}__{'lt' if ordering.descending else 'gt'}": value})
            if ordering.nulls_last:
                after |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        condition |= equal & after
        equal &= same
    return condition


def _reversed(orderings: list[OrderBy]) -> list[OrderBy]:
    flipped = [ordering.copy() for ordering in orderings]
    for ordering in flipped:
        ordering.reverse_ordering()
    return flipped


def keyset_page(
    queryset, per_page, problems, *, key, direction, cursor, count_limit=None
) -> KeysetPage:
    """`per_page` rows after or before the row keyed `cursor`, or the last ones (direction
    None). Three queries: the cursor row's sort values, the rows, the count."""
    orderings = _orderings(queryset)
    names = {f"_keyset_{i}": ordering.expression for i, ordering in enumerate(orderings)}
    annotated = queryset.annotate(**names)
    count, capped = count_of(queryset, count_limit)
    backwards = direction != "after"
    order = _reversed(orderings) if backwards else orderings
    rows = annotated.order_by(*order)
    if direction is not None:
        try:
            values = annotated.filter(**{key: cursor}).values_list(*names).first()
        except (ValueError, ValidationError):
            values = None
        if values is None:
            problems.append(
                "The row this page started from is no longer in the list; this is the first page."
            )
            rows = annotated.order_by(*orderings)
            backwards, direction = False, None
        else:
            rows = rows.filter(_beyond(order, list(values)))
    found = list(rows[: per_page + 1])
    more = len(found) > per_page
    found = found[:per_page]
    if backwards:
        found.reverse()
    page = KeysetPage(found, count, count_capped=capped)
    page.position = {direction: cursor} if direction else {"page": "last"}
    if direction is None and not backwards:
        page.position = {}
    if found:
        first, last = getattr(found[0], key), getattr(found[-1], key)
        if backwards:
            page.next_key = last if direction == "before" else None
            page.previous_key = first if more else None
        else:
            page.previous_key = first if direction == "after" else None
            page.next_key = last if more else None
    return page


def is_partial(request) -> bool:
    """An htmx request that wants only the results. A history-restore request (the back button
    after the browser dropped the page) wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def filters(query: str) -> QueryDict:
    """The list's filters in their canonical form, for {% querystring filters page=n %}."""
    return QueryDict(query)
