from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("portal", "0003_api_tokens_moved")]

    operations = [
        migrations.AlterModelTable(name="apitoken", table=None),
        # Tokens made before scopes existed keep doing everything they did: both scopes.
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("gateway", "Gateway: call APIs"),
                    ("management", "Management: REST API, with the user's role"),
                    ("both", "Gateway and management"),
                ],
                default="both",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
