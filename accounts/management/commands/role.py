from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import actions
from accounts.roles import ROLES


class Command(BaseCommand):
    help = "Give a user a role (administrator or reviewer), or take every role away (none)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[*ROLES, actions.NO_ROLE])

    def handle(self, *args, username, role, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        actions.change_role(user, role, actor_name="manage.py", from_shell=True)
        self.stdout.write(f"{username} is now {'without a role' if role == 'none' else role}.")
