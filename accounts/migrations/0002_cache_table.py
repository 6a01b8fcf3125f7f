"""The database cache's table: login lockouts and API throttles shared by every process.

Created whatever CACHES says today, so an installation that drops REDIS_URL later
still finds the table. ``createcachetable`` does the work (it skips an existing table).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, settings.CACHE_TABLE, False)


def drop_cache_table(apps, schema_editor):
    quoted = schema_editor.connection.ops.quote_name(settings.CACHE_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {quoted}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_groups")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
