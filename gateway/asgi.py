"""The gateway's entry point for an ASGI server: `uvicorn gateway.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from gateway.server import Gateway  # noqa: E402 (the apps must be ready first)

application = Gateway()
