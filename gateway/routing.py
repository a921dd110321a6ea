"""Match a gateway call to an API operation by method and URL template. Django-free."""

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


@dataclass(frozen=True)
class Match:
    operation: object
    parameters: dict[str, str]


@lru_cache(maxsize=4096)
def template_pattern(template: str) -> re.Pattern:
    """'/orders/{orderId}/lines' -> a pattern where each parameter is one path segment."""
    pattern, position = "", 0
    for found in _PARAMETER.finditer(template):
        pattern += re.escape(template[position : found.start()])
        pattern += f"(?P<{_group(found.group(1))}>[^/]+)"
        position = found.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern.rstrip("/") + "/?")


def _group(name: str) -> str:
    # Group names must be identifiers; '-' is allowed in template parameter names.
    return name.replace("-", "__")


def parameter_names(template: str) -> list[str]:
    return _PARAMETER.findall(template)


def match_operation(method: str, path: str, operations) -> Match | None:
    """The operation whose method and template match; literal segments beat parameters.

    `operations` are objects with `method` and `url_template`; `path` starts with '/'.
    """
    best, best_score = None, None
    for operation in operations:
        if operation.method != method:
            continue
        found = template_pattern(operation.url_template).fullmatch(path)
        if found is None:
            continue
        # Prefer the template with the most literal text: /orders/latest over /orders/{id}.
        score = len(_PARAMETER.sub("", operation.url_template))
        if best_score is None or score > best_score:
            parameters = {
                name: unquote(found.group(_group(name)))
                for name in parameter_names(operation.url_template)
            }
            best, best_score = Match(operation, parameters), score
    return best


def expand(template: str, values: dict[str, str]) -> str:
    """Fill a template's parameters (for the Test console); missing ones raise KeyError."""
    return _PARAMETER.sub(lambda found: quote(values[found.group(1)], safe=""), template)
