from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.tokens import issue_token


class Command(BaseCommand):
    help = (
        "Create a REST API token for a user; it acts with the user's role. The token is printed "
        "once, alone on the last line, and only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; a token would not work.")
        name = name.strip()[:100] or "manage.py"
        api_token, token = issue_token(user, name, actor_name="manage.py")
        self.stderr.write(
            f"Token {api_token.prefix}… created for {username}; it is shown only this once."
        )
        self.stdout.write(token)
