"""Django's model backend, reading a user's permissions in one query instead of two."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

FIELDS = ("content_type__app_label", "codename")


class PermissionBackend(ModelBackend):
    """The same answers as ModelBackend: a user's own permissions and their groups', read as
    one UNION. Every page and gateway call checks a permission, so this is a query less each."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                permissions = Permission.objects.order_by().values_list(*FIELDS)
            else:
                mine = Permission.objects.order_by().values_list(*FIELDS)
                own, by_group = mine.filter(user=user_obj), mine.filter(group__user=user_obj)
                permissions = own.union(by_group).order_by()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in permissions}
        return user_obj._perm_cache
