"""Django's model backend, with the user and their permissions read by one statement each."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from portal import rawsql


def load_user(pk):
    """The user with this primary key, or None (any user, active or not)."""
    user_model = get_user_model()
    statement = rawsql.sql("SELECT * FROM {user} WHERE {user.id} = %s", user=user_model)
    return rawsql.first(user_model._default_manager.raw(statement, [pk]))


def _permissions_sql(user_model) -> str:
    """ "app_label.codename" of a user's own permissions and their groups', as one statement."""
    return rawsql.sql(
        "SELECT {type.app_label}, {permission.codename} FROM {permission} "
        "JOIN {type} ON {type.id} = {permission.content_type} "
        "WHERE {permission.id} IN ("
        "SELECT {own.permission} FROM {own} WHERE {own.user} = %s "
        "UNION SELECT {granted.permission} FROM {granted} "
        "JOIN {member} ON {member.group} = {granted.group} WHERE {member.user} = %s)",
        type=ContentType,
        permission=Permission,
        own=user_model._meta.get_field("user_permissions").remote_field.through,
        member=user_model._meta.get_field("groups").remote_field.through,
        granted=Group._meta.get_field("permissions").remote_field.through,
    )


class PermissionBackend(ModelBackend):
    """The same answers as ModelBackend: the user by one statement, and their own permissions
    and their groups' by one more (ModelBackend needs two, built by the ORM). Every page and
    gateway call loads its user and checks a permission."""

    def get_user(self, user_id):
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = Permission.objects.order_by().values_list(
                    "content_type__app_label", "codename"
                )
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_permissions_sql(type(user_obj)), [user_obj.pk, user_obj.pk])
                    rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache
