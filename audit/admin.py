from django.contrib import admin

from audit.models import AuditEvent
from lib.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_id", "source_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_id", "message"]
