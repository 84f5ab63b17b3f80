"""Each bot records the GitLab base URL its token was checked on (SPEC §1; THREATS T35).

Existing bots were checked on their tenant's current URL, so that is what they record."""

from django.db import migrations, models


def record_current_url(apps, schema_editor):
    Bot = apps.get_model("tenants", "Bot")
    for bot in Bot.objects.select_related("tenant").iterator():
        bot.gitlab_url = bot.tenant.gitlab_url
        bot.save(update_fields=["gitlab_url"])


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="bot",
            name="gitlab_url",
            field=models.URLField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.RunPython(record_current_url, migrations.RunPython.noop),
    ]
