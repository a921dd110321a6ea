from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ROLES


class Command(BaseCommand):
    help = "Give a user a role (administrator or reviewer), or take every role away (none)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[*ROLES, "none"])

    def handle(self, *args, username, role, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
        if role != "none":
            user.groups.add(Group.objects.get(name=ROLES[role]))
        self.stdout.write(f"{username} is now {'without a role' if role == 'none' else role}.")
