import re

from django import forms
from django.utils import timezone

from apis.models import Api, Backend, CredentialsKind, Operation
from certificates.models import Certificate

PATH_PATTERN = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*\Z")
# The gateway's own URLs: no API may start its URL suffix with them.
RESERVED_PATHS = {"healthz"}
TEMPLATE_PATTERN = re.compile(r"^/([A-Za-z0-9._~{}-]+(/[A-Za-z0-9._~{}-]*)*)?\Z")


def clean_path(value: str) -> str:
    value = value.strip().strip("/")
    if not PATH_PATTERN.match(value):
        raise forms.ValidationError(
            "Use letters, digits and '-', '_', '.', '~' in segments separated by '/', "
            "for example 'orders' or 'sales/v2'."
        )
    if value.split("/")[0].lower() in RESERVED_PATHS:
        raise forms.ValidationError(
            f"'{value.split('/')[0]}' is reserved: the gateway answers its own health check at "
            "/healthz. Choose another URL suffix."
        )
    return value


class ApiForm(forms.ModelForm):
    class Meta:
        model = Api
        fields = ["display_name", "service_url", "path", "description"]
        labels = {"display_name": "Display name"}
        help_texts = {
            "service_url": "The back end the gateway calls, for example https://orders.internal:8443/v1.",
            "path": "Callers reach the API at <gateway>/<suffix>/...; it must be unique.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_display_name(self):
        name = self.cleaned_data["display_name"].strip()
        clash = Api.objects.filter(display_name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                f"Another API is already called {clash.first().display_name}. Choose a name "
                "that differs by more than upper and lower case."
            )
        return name

    def clean_path(self):
        path = clean_path(self.cleaned_data["path"])
        clash = Api.objects.filter(path=path).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another API already uses this URL suffix.")
        return path

    def clean_service_url(self):
        url = self.cleaned_data["service_url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Use an http:// or https:// address.")
        return url.rstrip("/")


class OperationForm(forms.ModelForm):
    class Meta:
        model = Operation
        fields = ["display_name", "method", "url_template", "description"]
        labels = {"display_name": "Display name", "url_template": "URL template"}
        help_texts = {"url_template": "For example /orders/{orderId}; {names} are parameters."}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # GET, as the reference offers; no empty "---------" choice to trip over.
        self.fields["method"].choices = [
            choice for choice in self.fields["method"].choices if choice[0]
        ]
        if self.instance.pk is None:
            self.initial["method"] = self.initial.get("method") or "GET"

    def clean_url_template(self):
        template = "/" + self.cleaned_data["url_template"].strip().lstrip("/")
        if not TEMPLATE_PATTERN.match(template) or template.count("{") != template.count("}"):
            raise forms.ValidationError(
                "Start with '/' and use letters, digits, '-', '_', '.', '~' and {parameters}."
            )
        return template


class CertificateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, certificate):
        expires = f"{certificate.not_after:%Y-%m-%d}"
        label = f"{certificate.name} · {certificate.thumbprint} · expires {expires}"
        if certificate.not_after <= timezone.now():
            label += " (expired)"
        elif certificate.not_before > timezone.now():
            label += " (not yet valid)"
        return label


class GatewayCredentialsForm(forms.Form):
    kind = forms.ChoiceField(
        label="Gateway credentials", choices=CredentialsKind.choices, widget=forms.RadioSelect
    )
    certificate = CertificateChoiceField(
        label="Client certificate",
        queryset=Certificate.objects.only("pk", "name", "thumbprint", "not_before", "not_after"),
        required=False,
        to_field_name="name",
        empty_label="Choose a certificate",
    )
    username = forms.CharField(label="Username", required=False, max_length=200)
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted. Leave empty to keep the current password.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(label="Save anyway", required=False)

    def __init__(self, *args, api: Api, **kwargs):
        self.api = api
        self.warnings: list[str] = []
        super().__init__(*args, **kwargs)

    def _risks(self, certificate) -> list[str]:
        """What would make the chosen certificate useless, said before it is saved."""
        risks = []
        if self.api.service_url.lower().startswith("http://"):
            risks.append(
                "The web service URL starts with http://: no TLS handshake happens, so the "
                "gateway never presents a client certificate to this back end."
            )
        now = timezone.now()
        if certificate.not_after <= now:
            risks.append(
                f"{certificate.name} expired on {certificate.not_after:%Y-%m-%d}: the gateway "
                "refuses to present it and every call answers 500."
            )
        elif certificate.not_before > now:
            risks.append(
                f"{certificate.name} is not valid before {certificate.not_before:%Y-%m-%d}: until "
                "then the gateway refuses to present it and every call answers 500."
            )
        return risks

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == CredentialsKind.CERTIFICATE and data.get("certificate"):
            self.warnings = self._risks(data["certificate"])
            if self.warnings and not data.get("confirm"):
                self.add_error("confirm", "Read the warning, then tick Save anyway to save.")
        if kind == CredentialsKind.CERTIFICATE and not data.get("certificate"):
            self.add_error("certificate", "Choose the client certificate the gateway presents.")
        if kind == CredentialsKind.BASIC:
            if not data.get("username"):
                self.add_error("username", "Enter the username the back end expects.")
            elif ":" in data["username"]:
                self.add_error("username", "A Basic username cannot contain ':'.")
            if not data.get("password") and not self.api.basic_password_encrypted:
                self.add_error("password", "Enter the password the back end expects.")
        return data


class PolicyForm(forms.Form):
    policy = forms.CharField(
        label="Policy",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code-editor"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class BackendForm(forms.ModelForm):
    client_certificate = CertificateChoiceField(
        label="Client certificate",
        queryset=Certificate.objects.only("pk", "name", "thumbprint", "not_after"),
        required=False,
        to_field_name="name",
        empty_label="None",
        help_text="Gateway credentials presented to this back end, unless the API sets its own.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Backend
        fields = [
            "name",
            "url",
            "protocol",
            "description",
            "validate_certificate_chain",
            "validate_certificate_name",
            "ca_certificates",
        ]
        labels = {"url": "URL"}
        help_texts = {
            "url": "APIs whose web service URL starts with this URL use this backend.",
            "validate_certificate_chain": "Off accepts a self-signed or untrusted server "
            "certificate. Trusting its CA below is safer.",
            "validate_certificate_name": "Off accepts a server certificate issued for another "
            "host name. On, it is checked with or without chain validation.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "ca_certificates": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].disabled = True
            self.fields["version"].initial = self.instance.version
            first = self.instance.client_certificates.first()
            self.fields["client_certificate"].initial = first.name if first else None

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Use an http:// or https:// address.")
        return url.rstrip("/")
