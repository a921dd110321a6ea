from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Scope
from accounts.tokens import issue_token


class Command(BaseCommand):
    help = (
        "Create an API token for a user; on the REST API it acts with the user's role. The "
        "token is printed once, alone on the last line, and only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py", help="What the token is for.")
        parser.add_argument(
            "--scope",
            choices=Scope.values,
            default=Scope.BOTH,
            help="gateway (call APIs), management (REST API) or both (the default).",
        )
        parser.add_argument(
            "--expires-in-days", type=int, metavar="DAYS", help="The token stops working then."
        )

    def handle(self, *args, username, name, scope, expires_in_days, **options):
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days takes a whole number of days, 1 or more.")
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; a token would not work.")
        name = name.strip()[:100] or "manage.py"
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        api_token, token = issue_token(
            user, name, scope=Scope(scope), expires_at=expires_at, actor_name="manage.py"
        )
        self.stderr.write(
            f"Token {api_token.prefix}… created for {username}; it is shown only this once."
        )
        self.stdout.write(token)
