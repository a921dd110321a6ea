"""The gateway's entry point for an ASGI server: `uvicorn gateway.asgi:application`."""

import os
from concurrent.futures import ThreadPoolExecutor

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.db import connections  # noqa: E402

from certificates import keyring  # noqa: E402 (the apps must be ready first)
from gateway.server import Gateway  # noqa: E402


def _verify_stored_data() -> None:
    try:
        keyring.verify_stored_data()
    finally:
        connections.close_all()


# As portal/wsgi.py: refuse to start with a key ring that cannot decrypt the stored secrets. In a
# thread: uvicorn's workers import this module with their event loop already running, where
# Django refuses blocking database calls.
with ThreadPoolExecutor(max_workers=1) as executor:
    executor.submit(_verify_stored_data).result()

application = Gateway()
