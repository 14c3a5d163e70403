from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Demo and benchmark data: the seed_demo and seed_large commands and their generators.

    Only development and benchmark tooling imports this app; production code never does.
    """

    name = "devdata"
    verbose_name = "Demo and benchmark data"
