from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import middleware, roles

        user_logged_in.connect(
            middleware.note_password_change_required, dispatch_uid="accounts.password_change"
        )

        # After every app's migrations, not only ours: each app's permissions are created on
        # its own post_migrate, so the roles follow a model added to any app.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="accounts.roles")
