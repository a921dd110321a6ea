from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self):
        from audit import signals  # noqa: F401  (connects the sign-in receivers)
