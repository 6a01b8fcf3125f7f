"""The two ready-made groups: "operators" (everything) and "viewers" (look and identify).

Permissions are normally created after all migrations ran (post_migrate); they are
created here first so a fresh database gets complete groups in one `migrate`.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR_APPS = ["people", "recognition"]
VIEWER_PERMISSIONS = [
    ("people", "view_person"),
    ("recognition", "view_trainedmodel"),
    ("recognition", "add_identification"),
]


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    operators, _ = Group.objects.get_or_create(name="operators")
    operators.permissions.add(*Permission.objects.filter(content_type__app_label__in=OPERATOR_APPS))
    viewers, _ = Group.objects.get_or_create(name="viewers")
    for app_label, codename in VIEWER_PERMISSIONS:
        viewers.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["operators", "viewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("people", "0001_initial"),
        ("recognition", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
