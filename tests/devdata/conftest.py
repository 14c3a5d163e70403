from tests.scheduling.conftest import frozen_now  # noqa: F401  (the demo is built at the scheduling tests' frozen time)
