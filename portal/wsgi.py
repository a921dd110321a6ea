import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# Refuse to serve with a key ring that cannot read the stored secrets (a lost or replaced one).
from certificates import keyring  # noqa: E402  (needs the apps loaded above)

keyring.verify_stored_data()
