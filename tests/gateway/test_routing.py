from dataclasses import dataclass

import pytest

from gateway.routing import expand, match_operation, parameter_names


@dataclass
class Op:
    method: str
    url_template: str


OPERATIONS = [
    Op("GET", "/orders"),
    Op("GET", "/orders/{orderId}"),
    Op("GET", "/orders/latest"),
    Op("POST", "/orders"),
    Op("GET", "/orders/{orderId}/lines/{line-no}"),
    Op("GET", "/"),
]


def test_it_matches_method_and_template_with_parameters():
    found = match_operation("GET", "/orders/42", OPERATIONS)
    assert found.operation.url_template == "/orders/{orderId}"
    assert found.parameters == {"orderId": "42"}


def test_literal_segments_win_over_parameters():
    assert match_operation("GET", "/orders/latest", OPERATIONS).operation.url_template == (
        "/orders/latest"
    )


def test_hyphenated_and_encoded_parameters():
    found = match_operation("GET", "/orders/a%20b/lines/3", OPERATIONS)
    assert found.parameters == {"orderId": "a b", "line-no": "3"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/orders"), ("GET", "/orders/1/2"), ("GET", "/customers"), ("GET", "/orders/")],
)
def test_no_match(method, path):
    found = match_operation(method, path, OPERATIONS)
    # A trailing slash is tolerated for the literal template only.
    if path == "/orders/":
        assert found.operation.url_template == "/orders"
    else:
        assert found is None


def test_a_parameter_never_spans_segments():
    assert match_operation("GET", "/orders/a/b", [Op("GET", "/orders/{id}")]) is None


def test_regex_characters_in_templates_are_literal():
    operations = [Op("GET", "/v1.0/items")]
    assert match_operation("GET", "/v1x0/items", operations) is None
    assert match_operation("GET", "/v1.0/items", operations) is not None


def test_expand_fills_and_quotes():
    assert parameter_names("/a/{x}/b/{y}") == ["x", "y"]
    assert expand("/a/{x}/b/{y}", {"x": "1/2", "y": "é"}) == "/a/1%2F2/b/%C3%A9"
    with pytest.raises(KeyError):
        expand("/a/{x}", {})
