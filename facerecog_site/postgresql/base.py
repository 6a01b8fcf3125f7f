"""Django's PostgreSQL backend, with two savings on every identification.

``ENGINE`` of a ``postgres://`` DATABASE_URL (settings.py). Everything else is Django's.

- **Prepared hand-written statements.** :meth:`DatabaseWrapper.prepared_cursor` binds
  parameters on the server and prepares each statement on its first use in a
  connection: PostgreSQL parses and plans it once instead of on every request. The
  identification path's statements (facerecog_site.handwritten_sql) use it; the ORM
  keeps Django's client-side binding. Measured with a photo's worth of other work
  between statements (as in a web worker, whose caches the face engine has just
  emptied): the server's CPU for the token, evidence and audit statements fell from
  ~3.7 to ~1.8 ms a request. A pooler that cannot hold prepared statements across
  transactions (PgBouncer in transaction mode before 1.21) needs
  ``DATABASE_PREPARED_STATEMENTS=false``.
- **A health check without a round trip.** Django's CONN_HEALTH_CHECKS sends
  ``SELECT 1`` before a kept connection's first use in each request. A server that
  ends a connection (restart, crash, pg_terminate_backend, idle timeout) sends an
  error or closes the socket, so an idle connection whose socket has nothing to read
  is alive as far as a ``SELECT 1`` could tell; only a socket with something waiting
  gets Django's check. A silent network loss fails either way (``SELECT 1`` would
  wait for TCP's timeout).
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper
from psycopg.pq import TransactionStatus

OPTION = "prepared_statements"
# django-stubs knows neither Django's psycopg 3 cursor classes nor the wrapper's
# health-check state; both are Django's own (django/db/backends/postgresql/base.py).
_ServerBindingCursor: Any = base.ServerBindingCursor


class PreparedCursor(_ServerBindingCursor):
    """Server-side binding; each statement prepared the first time a connection runs it
    (psycopg keeps the last 100 per connection)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, **kw: Any
    ) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare, **kw)


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_enabled: bool
    health_check_done: bool

    @property
    def prepares_statements(self) -> bool:
        return bool(self.settings_dict["OPTIONS"].get(OPTION, True))

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        params.pop(OPTION, None)  # ours, not a psycopg connection parameter
        if self.prepares_statements and params.get("prepare_threshold") is None:
            # Django turns psycopg's preparing off (None), which also refuses an explicit
            # prepare=True. The ORM's client-side-binding cursors never prepare whatever
            # this says; psycopg's default applies to server-binding ones.
            params["prepare_threshold"] = 5
        return params

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor for statements run on every request (the module docstring): Django's
        own ``cursor()``, its health check, connection and per-cursor set-up (time zone)
        included, made by this connection with PreparedCursor as its cursor class."""
        if not self.prepares_statements:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()  # the connection whose cursor class is swapped below
        connection = self.connection
        cursor_class = connection.cursor_factory
        connection.cursor_factory = PreparedCursor  # a connection serves one thread
        try:
            return self.cursor()  # checked and connected above: neither is repeated
        finally:
            connection.cursor_factory = cursor_class

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self._server_silent()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _server_silent(self) -> bool:
        """The connection is idle and the server has sent nothing since its last answer."""
        conn = self.connection
        if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            return False
        poll = select.poll()
        poll.register(conn.fileno(), select.POLLIN)
        return not poll.poll(0)
