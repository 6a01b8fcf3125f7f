"""Password login with a lockout after repeated failures.

Registered in AUTHENTICATION_BACKENDS, so the admin, the web login and the API token
endpoint are all protected by the same counters. Failures are counted in the cache
per username and per client address; after LOGIN_FAILURE_LIMIT failures (four times
that for one address, which may be a whole office behind one NAT) every attempt is
refused, even with the right password, for LOGIN_LOCKOUT_SECONDS.
"""

from __future__ import annotations

import functools
import hashlib
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpRequest

from facerecog_site.handwritten_sql import column, cursor, table

# One address may try several accounts legitimately (shared NAT); guessing across many
# usernames from it is still stopped.
PER_ADDRESS_FACTOR = 4


class LoginLockedOut(PermissionDenied):
    """Raised by the backend while a username or address is locked out."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


def client_address(request: HttpRequest | Any | None) -> str | None:
    if request is None:
        return None
    meta = getattr(request, "META", None) or {}
    return meta.get("REMOTE_ADDR") or None


def _key(kind: str, value: str) -> str:
    # Hashed: usernames may hold characters some cache backends refuse in keys.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-lockout:{kind}:{digest}"


def _subjects(username: str, address: str | None) -> list[tuple[str, int]]:
    limit = settings.LOGIN_FAILURE_LIMIT
    subjects = [(_key("user", username), limit)]
    if address:
        subjects.append((_key("addr", address), limit * PER_ADDRESS_FACTOR))
    return subjects


def lockout_remaining(*, username: str, address: str | None = None) -> int:
    """Seconds until this username (or address) may try again; 0 when not locked."""
    now = time.time()
    remaining = 0.0
    for key, _limit in _subjects(username, address):
        until = cache.get(f"{key}:until")
        if until is not None:
            remaining = max(remaining, float(until) - now)
    return max(0, int(remaining + 0.999))


def login_failed(*, username: str, address: str | None = None) -> None:
    # One transaction: with the database cache, the read and write of each count then
    # happen under SQLite's write lock, so parallel failures are not counted once.
    with transaction.atomic():
        _count_failure(username=username, address=address)


def _count_failure(*, username: str, address: str | None) -> None:
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    for key, limit in _subjects(username, address):
        count_key = f"{key}:count"
        cache.add(count_key, 0, timeout=seconds)
        try:
            count = cache.incr(count_key)
        except ValueError:  # expired between add and incr
            cache.set(count_key, 1, timeout=seconds)
            count = 1
        if count >= limit:
            cache.set(f"{key}:until", time.time() + seconds, timeout=seconds)
            cache.delete(count_key)


def login_succeeded(*, username: str) -> None:
    # Only the username's count: a valid login must not wipe an address's count,
    # or one known password would reset the guessing budget for every other account.
    cache.delete(f"{_key('user', username)}:count")


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = client_address(request)
        remaining = lockout_remaining(username=username, address=address)
        if remaining:
            # PermissionDenied stops django.contrib.auth.authenticate() trying others.
            raise LoginLockedOut(remaining)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(username=username, address=address)
        else:
            login_succeeded(username=username)
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """Django's answer in one hand-written query instead of two ORM ones (the user's
        own permissions and their groups'): every API request checks permissions, and
        compiling the ORM query cost ~0.5 ms of CPU, the SQL ~0.05 ms. API token
        requests read them with the token (accounts.authentication), so no query here."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                sql, params = _every_permission_sql(), []
            else:
                sql, params = permissions_held_sql("%s"), [user_obj.pk] * 2
            with cursor() as db:
                db.execute(sql, params)
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in db}
        return user_obj._perm_cache


def permissions_remember(user: Any, held: str | None) -> None:
    """Give ``user`` (not a superuser) the permissions :func:`permissions_held_list`
    read with it, so that checking them needs no query."""
    user._perm_cache = set(held.split(" ")) if held else set()


@functools.cache
def permissions_held_list(user: str) -> str:
    """A scalar subquery: "app.codename app.codename ..." of the permissions held by the
    user whose id is the SQL expression ``user`` (e.g. a joined column)."""
    aggregate = "STRING_AGG" if connection.vendor == "postgresql" else "GROUP_CONCAT"
    return (
        f"(SELECT {aggregate}(held.app_label || '.' || held.codename, ' ') "
        f"FROM ({permissions_held_sql(user)}) held)"
    )


@functools.cache
def _every_permission_sql() -> str:
    """(app label, codename) of every permission; names from the models' _meta."""
    perm, content_type = table(Permission), table(ContentType)
    return (
        f"SELECT {content_type}.{column(ContentType, 'app_label')} AS app_label, "
        f"{perm}.{column(Permission, 'codename')} AS codename FROM {perm} "
        f"INNER JOIN {content_type} ON {content_type}.{column(ContentType, 'id')} = "
        f"{perm}.{column(Permission, 'content_type')}"
    )


@functools.cache
def permissions_held_sql(user: str) -> str:
    """(app label, codename) of the permissions the user whose id is the SQL expression
    ``user`` (a ``%s`` parameter, or a column) holds directly or through a group."""
    user_perms = User.user_permissions.through
    group_perms = Group.permissions.through
    user_groups = User.groups.through
    perm = table(Permission)
    return (
        f"{_every_permission_sql()} WHERE {perm}.{column(Permission, 'id')} IN ("
        f"SELECT {column(user_perms, 'permission')} FROM {table(user_perms)} "
        f"WHERE {column(user_perms, 'user')} = {user}) "
        f"OR {perm}.{column(Permission, 'id')} IN ("
        f"SELECT {table(group_perms)}.{column(group_perms, 'permission')} "
        f"FROM {table(group_perms)} INNER JOIN {table(user_groups)} ON "
        f"{table(user_groups)}.{column(user_groups, 'group')} = "
        f"{table(group_perms)}.{column(group_perms, 'group')} "
        f"WHERE {table(user_groups)}.{column(user_groups, 'user')} = {user})"
    )
