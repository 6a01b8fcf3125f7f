"""A heartbeat on training jobs, and the sweep that fails silent ones every minute.

The sweep (migration 0002) ran every five minutes against a 30-minute timeout; with a
heartbeat a dead worker is noticed within FACE_TRAIN_HEARTBEAT seconds plus a minute.
"""

from django.db import migrations, models

FUNC = "recognition.tasks.fail_stale_trainings"


def every_minute(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).update(minutes=1)


def every_five_minutes(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).update(minutes=5)


class Migration(migrations.Migration):

    dependencies = [
        ('recognition', '0002_schedule_fail_stale_trainings'),
    ]

    operations = [
        migrations.AddField(
            model_name='trainedmodel',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(every_minute, every_five_minutes),
    ]
