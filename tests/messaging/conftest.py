import pytest
from django.db import connection

from clinic.celery import app as celery_app
from tests.messaging.realworld import CeleryWorker, FrozenServer, RedisServer, SmtpSink


def _point_celery_at(url: str) -> None:
    celery_app.conf.broker_url = url
    # Drop connections made to another broker earlier in this process.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    original = celery_app.conf.broker_url
    _point_celery_at(server.url)
    yield server
    server.stop()
    _point_celery_at(original)


@pytest.fixture
def frozen_broker():
    """Celery pointed at a broker that accepts connections and never answers."""
    original = celery_app.conf.broker_url
    with FrozenServer() as server:
        _point_celery_at(server.url)
        yield server
    _point_celery_at(original)


@pytest.fixture
def start_worker(transactional_db, redis_server, smtp_sink, tmp_path):
    """Start (and later stop) real Celery workers that use the test database."""
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db["PASSWORD"]:
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    workers: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = CeleryWorker(
            database_url=database_url,
            redis_url=redis_server.url,
            smtp_port=smtp_sink.port,
            log_path=tmp_path / "worker.log",
        )
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
