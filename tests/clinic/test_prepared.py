"""clinic/prepared.py: a statement is prepared once per connection, gives what the statement
itself gives, and survives what can happen to a connection (a new one, its statements dropped,
a table changed under it)."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction

from clinic.prepared import PreparedStatement

pytestmark = pytest.mark.django_db


def prepared_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def run(statement: PreparedStatement, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        statement.execute(cursor, params)
        return cursor.fetchall()


def test_placeholders_become_numbered_parameters():
    named = PreparedStatement("named", "SELECT %(a)s::int + %(b)s::int, %(a)s::int, '100%%'")
    assert named.body == "SELECT $1::int + $2::int, $1::int, '100%'"
    assert named.values({"b": 2, "a": 1, "unused": 3}) == [1, 2]
    positional = PreparedStatement("positional", "SELECT %s::int, %s::text")
    assert positional.body == "SELECT $1::int, $2::text"
    assert positional.execute_sql.endswith("(%s, %s)")
    with pytest.raises(ValueError, match="not both"):
        PreparedStatement("mixed", "SELECT %s::int, %(a)s::int")
    with pytest.raises(ValueError, match="takes 2 values"):
        positional.values([1])
    with pytest.raises(ValueError, match="label"):
        PreparedStatement("Not a label", "SELECT 1")


def test_same_rows_as_the_statement_and_prepared_once_per_connection(django_assert_num_queries):
    sql = "SELECT %(n)s::int * 2, %(when)s::timestamptz, %(text)s::text, 'it''s 100%%'"
    statement = PreparedStatement("rows", sql)
    when = datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)
    params = {"n": 21, "when": when, "text": "Gordillo; DROP TABLE x --"}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        plain = cursor.fetchall()
    with django_assert_num_queries(3):  # the PREPARE sets the connection up: not a query of the request
        assert run(statement, params) == plain
        assert run(statement, {**params, "n": 1}) == [(2, *plain[0][1:])]
        assert run(statement, params) == plain
    assert prepared_names().count(statement.name) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_it_again():
    statement = PreparedStatement("reconnect", "SELECT %s::int + 1")
    assert run(statement, [1]) == [(2,)]
    connection.close()  # as when Django opens a new connection for a later request
    assert statement.name not in prepared_names()
    assert run(statement, [2]) == [(3,)]
    assert statement.name in prepared_names()


def test_statements_dropped_by_someone_else_are_prepared_again():
    first = PreparedStatement("dropped", "SELECT %s::int * 3")
    second = PreparedStatement("dropped_too", "SELECT %s::int * 4")
    kept = PreparedStatement("kept", "SELECT %s::int * 5")
    assert run(first, [2]) == [(6,)]
    assert run(second, [2]) == [(8,)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert run(kept, [2]) == [(10,)]  # prepared after the drop: still there
    with pytest.raises(DatabaseError, match="does not exist"), transaction.atomic():
        run(first, [2])
    # The one that failed and the others dropped with it are prepared again; the one that was
    # not dropped is not (preparing it again would fail: the name is taken).
    assert run(second, [3]) == [(12,)]
    assert run(kept, [3]) == [(15,)]
    assert run(first, [3]) == [(9,)]
    assert {first.name, second.name, kept.name} <= set(prepared_names())


def test_a_table_changed_under_it_fails_once_then_reads_the_new_shape():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE prepared_shape (id int PRIMARY KEY, value int)")
        cursor.execute("INSERT INTO prepared_shape VALUES (1, 42)")
    statement = PreparedStatement("shape", "SELECT value FROM prepared_shape WHERE id = %s")
    assert run(statement, [1]) == [(42,)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE prepared_shape ALTER COLUMN value TYPE text")
    with pytest.raises(DatabaseError, match="result type"), transaction.atomic():
        run(statement, [1])
    assert run(statement, [1]) == [("42",)]
    assert prepared_names().count(statement.name) == 1


def test_the_calendar_versions_keep_one_plan_for_every_day():
    """The settings ask PostgreSQL for generic plans: the versions are not planned again on
    every request (a custom plan would show the day's dates rather than $1)."""
    from clinic.localtime import day_bounds
    from scheduling import grid

    day = datetime.date(2026, 11, 30)
    start, end = day_bounds(day)
    params = {"start": start, "end": end, "lower": start - datetime.timedelta(days=1), "weekday": 0}
    grid.day_version(day)
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
        values = grid.DAY_VERSION.values(params)
        cursor.execute(f"EXPLAIN {grid.DAY_VERSION.execute_sql}", values)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "$1" in plan
    assert "2026-11-30" not in plan
