"""Lists that page, filter and refresh in place with htmx: what every list view shares."""

from django.core.paginator import Page, Paginator
from django.http import QueryDict


def requested_page(request) -> int | None:
    try:
        return int(request.GET.get("page", ""))
    except ValueError:
        return None


def page_of(request, queryset, per_page: int, problems: list[str]) -> Page:
    """The requested page; past the end it is the last one, and `problems` says so."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    requested = requested_page(request)
    if requested is not None and requested != page.number and page.paginator.count:
        problems.append(
            f"There is no page {requested}; this is page {page.number} "
            f"of {page.paginator.num_pages}."
        )
    return page


def is_partial(request) -> bool:
    """An htmx request that wants only the results. A history-restore request (the back button
    after the browser dropped the page) wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def filters(query: str) -> QueryDict:
    """The list's filters in their canonical form, for {% querystring filters page=n %}."""
    return QueryDict(query)
