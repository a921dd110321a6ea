"""Filters for the log configuration in settings.LOGGING."""

import logging

from django.core.exceptions import PermissionDenied


class RefusalsOnOneLine(logging.Filter):
    """A 403 for a reviewer is an everyday refusal: one warning line, not a traceback."""

    def filter(self, record):
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
