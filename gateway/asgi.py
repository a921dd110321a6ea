"""The gateway's entry point for an ASGI server: `uvicorn gateway.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from certificates import keyring  # noqa: E402 (the apps must be ready first)
from gateway.server import Gateway  # noqa: E402

# As portal/wsgi.py: refuse to start with a key ring that cannot decrypt the stored secrets.
keyring.verify_stored_data()

application = Gateway()
