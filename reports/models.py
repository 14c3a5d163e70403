"""Reports read the other apps' tables and store nothing. The model below only carries the
permission to read them (managed = False: no table)."""

from django.db import models


class Report(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can read the clinic's reports")]

    def __str__(self) -> str:
        return "Reports"
