# API tokens now belong to the accounts app (accounts/migrations/0001_initial.py): the portal
# forgets the model, the table stays for accounts to take over.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_api_tokens"), ("accounts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiToken")], database_operations=[]
        ),
    ]
