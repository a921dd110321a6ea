from django.core.validators import RegexValidator

# The gateway's identifiers: letters, digits, '-', '_' and '.', up to 80 characters.
IDENTIFIER_MAX_LENGTH = 80
validate_identifier = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z",
    "Use up to 80 letters, digits, '-', '_' or '.', starting with a letter or digit.",
    code="invalid_identifier",
)
