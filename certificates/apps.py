from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = "Certificates"

    def ready(self):
        from certificates import keyring

        # Refuse to start rather than ever store a private key in clear.
        keyring.check_configured()
