import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import Profile
from accounts.roles import ADMINISTRATORS


class Command(BaseCommand):
    help = (
        "Create the first administrator when the portal has no user yet. The password comes "
        "from DJANGO_SUPERUSER_PASSWORD, or is generated and printed once."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(15)
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(Group.objects.get(name=ADMINISTRATORS))
        if generated:
            # A password printed to a terminal is a one-time password: changed at first sign-in.
            Profile.objects.update_or_create(user=user, defaults={"must_change_password": True})
            line = "=" * 64
            self.stdout.write(
                f"{line}\nFirst administrator created.\n"
                f"  Username: {username}\n  Password: {password}\n"
                "This password is shown only once and works for the first sign-in, which asks\n"
                f"you to choose your own.\n{line}"
            )
        else:
            self.stdout.write(f"First administrator {username} created.")
