"""Embeddings and models record their face engine; re-embedding jobs.

Everything stored before engines existed came from face_recognition (dlib), whose
``encoder`` string was already the dlib engine's version: existing embeddings become
``dlib`` / that version, and existing trained models the same.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

DLIB_VERSION = "dlib_resnet_v1/5pt"


def mark_models_dlib(apps, schema_editor):
    TrainedModel = apps.get_model("recognition", "TrainedModel")
    TrainedModel.objects.filter(status="succeeded").update(
        engine="dlib", engine_version=DLIB_VERSION
    )


def give_operators_reembed(apps, schema_editor):
    # Permissions are normally created after migrations; the operators group (accounts
    # 0001) holds every recognition permission, so it gets the new ones now.
    app_config = apps.get_app_config("recognition")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    new = Permission.objects.filter(
        content_type__app_label="recognition", content_type__model="reembedjob"
    )
    for group in Group.objects.filter(name="operators"):
        group.permissions.add(*new)


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0003_trainedmodel_heartbeat"),
        ("accounts", "0001_groups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(
            model_name="embedding", old_name="encoder", new_name="engine_version"
        ),
        migrations.AlterField(
            model_name="embedding",
            name="engine_version",
            field=models.CharField(
                help_text="Which models of the engine produced the vector.", max_length=100
            ),
        ),
        migrations.AddField(
            model_name="embedding",
            name="engine",
            field=models.CharField(
                default="dlib", help_text="Face engine: opencv or dlib.", max_length=20
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="embedding",
            index=models.Index(
                fields=["engine", "engine_version"], name="recognition_engine_d674d2_idx"
            ),
        ),
        migrations.AddField(
            model_name="trainedmodel",
            name="engine",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="trainedmodel",
            name="engine_version",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(mark_models_dlib, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ReembedJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("engine", models.CharField(max_length=20)),
                ("engine_version", models.CharField(blank=True, max_length=100)),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                (
                    "total",
                    models.PositiveIntegerField(default=0, help_text="Photos to re-embed."),
                ),
                (
                    "done",
                    models.PositiveIntegerField(default=0, help_text="Photos handled so far."),
                ),
                ("reembedded", models.PositiveIntegerField(default=0)),
                ("unusable", models.JSONField(blank=True, default=list)),
                ("error", models.TextField(blank=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "trained_model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="recognition.trainedmodel",
                    ),
                ),
            ],
            options={
                "ordering": ["-requested_at", "-id"],
                "permissions": [
                    ("run_reembedjob", "Can re-embed every photo with another engine")
                ],
            },
        ),
        migrations.RunPython(give_operators_reembed, migrations.RunPython.noop),
    ]
