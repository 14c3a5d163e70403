import datetime

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_appointment_plan")]

    operations = [
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "blocked_until__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("starts_at"), "+", models.Value(datetime.timedelta(days=1))
                        ),
                    )
                ),
                name="appointment_shorter_than_a_day",
                violation_error_message="An appointment cannot last longer than a day.",
            ),
        ),
    ]
