import re

from django import forms
from django.core.validators import RegexValidator

from certificates.pfx import MAX_PFX_BYTES
from certificates.upload_kinds import MAX_CERTIFICATE_BYTES
from certificates.validators import IDENTIFIER_MAX_LENGTH, validate_identifier

# Errors about the password go under the Password field; everything else under the file.
PASSWORD_ERROR_CODES = {"wrong_password_or_damaged"}


class IdentifierField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Id")
        kwargs.setdefault("max_length", IDENTIFIER_MAX_LENGTH)
        kwargs.setdefault("validators", [validate_identifier])
        kwargs.setdefault(
            "help_text", "Letters, digits, '-', '_' and '.'; APIs and policies refer to it."
        )
        super().__init__(**kwargs)


class UploadedFileField(forms.FileField):
    """A file field that refuses large files before anybody reads them."""

    def __init__(self, *, max_bytes: int, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        if uploaded is not None and uploaded.size > self.max_bytes:
            raise forms.ValidationError(
                f"The file is {uploaded.size // 1024} KiB; a certificate file is at most "
                f"{self.max_bytes // 1024} KiB. Check that you picked the right file.",
                code="too_large",
            )
        return uploaded


class CertificateUploadForm(forms.Form):
    certificate = UploadedFileField(
        label="Certificate",
        max_bytes=MAX_PFX_BYTES,
        help_text="A .pfx or .p12 file holding the certificate and its private key.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pfx,.p12"}),
    )
    name = IdentifierField()
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="The password the file was exported with. It is used once and never stored.",
    )
    replace = forms.BooleanField(
        label="Replace the existing certificate with this Id",
        required=False,
        help_text="Every API that uses this Id presents the new certificate from its next call.",
    )

    def read_file(self) -> bytes:
        return self.cleaned_data["certificate"].read()


class CACertificateUploadForm(forms.Form):
    certificate = UploadedFileField(
        label="Certificate",
        max_bytes=MAX_CERTIFICATE_BYTES,
        help_text="The public certificate of the CA that issued your back end's certificate "
        "(.cer, .crt, .pem or .der), not the back end's own certificate and never a private "
        "key. Backends that list it trust only the CA certificates they list.",
        widget=forms.ClearableFileInput(attrs={"accept": ".cer,.crt,.pem,.der"}),
    )
    name = IdentifierField()


MAX_TAGS = 20
validate_tag = RegexValidator(
    r"^[a-z0-9][a-z0-9._:/-]{0,39}\Z",
    "A tag is up to 40 letters, digits, '.', '_', ':', '/' or '-', starting with a letter or "
    "digit.",
    code="invalid_tag",
)


class TagsField(forms.CharField):
    """Free tags typed as "prod, payments team-a": lower-cased, de-duplicated, in typed order."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def clean(self, value):
        text = super().clean(value)
        tags = []
        for tag in re.split(r"[\s,;]+", text.lower()):
            if tag and tag not in tags:
                tags.append(tag)
        problems = []
        for tag in tags:
            try:
                validate_tag(tag)
            except forms.ValidationError:
                problems.append(tag)
        if problems:
            raise forms.ValidationError(
                "Not a tag: %(tags)s. Use letters, digits, '.', '_', ':', '/' and '-' "
                "(up to 40 each); separate tags with commas or spaces.",
                code="invalid_tag",
                params={"tags": ", ".join(problems)},
            )
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags, please.", code="too_many_tags")
        return tags


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError("Control characters are not allowed.", code="control")
    return value


class OwnershipForm(forms.Form):
    """Who answers for a certificate: edited by administrators on the certificate's page."""

    owner = forms.CharField(
        label="Owner",
        required=False,
        max_length=200,
        validators=[_printable],
        help_text="The team or person responsible for renewing it.",
    )
    contact = forms.CharField(
        label="Contact",
        required=False,
        max_length=200,
        validators=[_printable],
        help_text="Where to reach the owner: an e-mail address, a channel, an on-call rota.",
    )
    tags = TagsField(
        label="Tags",
        required=False,
        help_text="Separated by commas or spaces, e.g. prod, payments.",
    )
