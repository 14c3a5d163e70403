"""The calendars as time grids: the day (a column per practitioner), a practitioner's week (a
column per day) and the rooms of a day (a column per room).

A grid's rows are 5 minutes of the clinic's wall clock; each column is a list of blocks, each
an appointment, free time (cut into 15-minute cells that book there) or time that cannot be
booked (outside working hours, time off, a closure, the past). The layout is computed here,
once, as row numbers and prepared strings (times, links), and each column's blocks are written
out here as HTML (``Grid.render``): a day of 60 practitioners is thousands of blocks, and the
template engine's per-variable cost (lookups, localisation, escaping) made the old card
calendar 30 times its SQL; here each block is one format string with its text escaped. The
page around it stays a template (templates/scheduling/_grid.html). The rows become CSS classes
(static/css/scheduling_grid_rows.css), never style attributes (the Content-Security-Policy).

Reads: the day selector's one statement (scheduling.selectors.day_columns) plus one for working
hours, time off and closures together (RULES_SQL), whatever the number of appointments.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from clinic.localtime import NonexistentLocalTime, day_bounds, local_datetime
from clinic.prepared import PreparedStatement
from scheduling import selectors
from scheduling.models import LONGEST_APPOINTMENT, Appointment, Room
from scheduling.selectors import CalendarEntry, day_columns

ROW_MINUTES = 5
ROWS_PER_DAY = 24 * 60 // ROW_MINUTES
FREE_CELL_ROWS = 3  # a free cell is 15 minutes: where a click books
# A day without working hours or appointments still shows these hours.
DEFAULT_OPENING = (time(9, 0), time(18, 0))
Span = tuple[int, int]  # [first row, end row) of the day, rows counted from local midnight
CANCELLED = str(Appointment.Status.CANCELLED)  # a plain string: compared once per appointment


def _row_of(at: time) -> int:
    return (at.hour * 60 + at.minute) // ROW_MINUTES


class DayClock:
    """Local wall-clock rows of one day and the instants they are. A day without a change of
    the clocks is a fixed offset (fast); on the two days a year with one, each instant is asked
    of clinic.localtime, and a time the clocks skip has no instant."""

    def __init__(self, day: date) -> None:
        self.day = day
        zone = timezone.get_default_timezone()
        midnight = datetime.combine(day, time(0)).replace(tzinfo=zone)
        late = datetime.combine(day, time(23, 59)).replace(tzinfo=zone)
        self.steady = midnight.utcoffset() == late.utcoffset()
        self.midnight = midnight.astimezone(UTC)
        self._starts: dict[int, str | None] = {}
        self._places: dict[datetime, tuple[int, int, str]] = {}

    def seconds(self, instant: datetime) -> int:
        """Seconds of the local wall clock since the day's midnight (negative before the day)."""
        if self.steady:
            return int((instant - self.midnight).total_seconds())
        local = timezone.localtime(instant)
        days = (local.date() - self.day).days
        return days * 86400 + local.hour * 3600 + local.minute * 60 + local.second

    def row(self, instant: datetime, *, up: bool = False) -> int:
        """The row of an instant: clamped to the day; rounded up for the end of something."""
        seconds = self.seconds(instant)
        if seconds <= 0:
            return 0
        row, rest = divmod(seconds, ROW_MINUTES * 60)
        if up and rest:
            row += 1
        return min(row, ROWS_PER_DAY)

    def text(self, instant: datetime) -> str:
        """ "10:15": the local time of an instant of the day."""
        if not self.steady:
            return f"{timezone.localtime(instant):%H:%M}"
        minutes = (self.seconds(instant) // 60) % (24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def place(self, instant: datetime) -> tuple[int, int, str]:
        """The row of an instant, its row rounded up and its text, worked out once per instant of
        the page (appointments start and end on few distinct times)."""
        found = self._places.get(instant)
        if found is None:
            found = self._places[instant] = (self.row(instant), self.row(instant, up=True), self.text(instant))
        return found

    def instant(self, row: int) -> datetime | None:
        if self.steady:
            return self.midnight + timedelta(minutes=row * ROW_MINUTES)
        minutes = row * ROW_MINUTES
        try:
            return local_datetime(self.day, time(minutes // 60, minutes % 60), fold=0)
        except NonexistentLocalTime:
            return None

    def start_text(self, row: int) -> str | None:
        """The instant of a row as a free cell's ``start`` (ISO 8601, UTC), or None for a time the
        clocks skip. Asked once per row for every column of the page."""
        if row not in self._starts:
            instant = self.instant(row)
            self._starts[row] = None if instant is None else f"{instant:%Y-%m-%dT%H:%M:%SZ}"
        return self._starts[row]


def clock_text(row: int) -> str:
    minutes = row * ROW_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


CLOCK_TEXTS = [clock_text(row) for row in range(ROWS_PER_DAY + 1)]


def _gaps(first: int, last: int, taken: Iterable[Span]) -> list[Span]:
    """The parts of [first, last) that none of ``taken`` covers, in order."""
    gaps, at = [], first
    for start, end in sorted(taken):
        if start > at:
            gaps.append((at, start))
        at = max(at, end)
    if at < last:
        gaps.append((at, last))
    return gaps


def _subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    result = sorted(spans)
    for hole_start, hole_end in holes:
        kept = []
        for start, end in result:
            if hole_end <= start or end <= hole_start:
                kept.append((start, end))
                continue
            if start < hole_start:
                kept.append((start, hole_start))
            if hole_end < end:
                kept.append((hole_end, end))
        result = kept
    return result


@dataclass(slots=True)
class Block:
    """One thing in a column: an appointment, a free cell or time that cannot be booked."""

    kind: str  # "appointment", "free" or "off"
    row: int  # CSS grid row (1 = the first row of the axis)
    span: int
    time: str = ""  # "10:15", local
    end_time: str = ""
    entry: CalendarEntry | None = None
    href: str = ""
    lunch: bool = False
    free_minutes: int = 0  # for a free cell: the free time from its start on
    start: str = ""  # for a free cell: its instant, ISO 8601 in UTC
    who: str = ""  # in the room view: the practitioner


@dataclass(slots=True)
class GridColumn:
    key: int  # practitioner, room, or the day's ordinal (week)
    title: str
    day: date
    href: str = ""  # the column heading's link (a practitioner's week, a day)
    blocks: list[Block] = field(default_factory=list)
    today: bool = False


@dataclass(frozen=True, slots=True)
class AxisMark:
    row: int
    span: int
    text: str
    hour: bool
    lunch: bool


@dataclass(slots=True)
class Grid:
    first: int  # first row of the day shown
    last: int  # end row (exclusive)
    lunch: Span
    columns: list[GridColumn]
    axis_html: SafeString = field(default_factory=SafeString)
    body_html: SafeString = field(default_factory=SafeString)

    @property
    def rows(self) -> int:
        return self.last - self.first

    def render(self, *, can_book: bool, can_change: bool, moving: bool = False) -> None:
        """Write the columns (``body_html``: each column's heading and blocks) and the axis
        (``axis_html``) for a viewer who may (or may not) book and change appointments."""
        self.axis_html = mark_safe("".join(_mark_html(mark) for mark in self.marks))  # noqa: S308 - built from numbers
        free_label = "Move here: " if moving else "Free, book: "
        # Names repeat down a day (types, rooms, a practitioner in the room view): each is escaped once.
        escaped: dict[str, str] = {}

        def text(value: str) -> str:
            html = escaped.get(value)
            if html is None:
                html = escaped[value] = escape(value)
            return html

        parts = []
        for column in self.columns:
            heading = text(column.title)
            if column.href:
                heading = f'<a href="{text(column.href)}">{heading}</a>'
            parts.append(
                f'\n  <section class="grid-col{" grid-today" if column.today else ""}" '
                f'aria-labelledby="col-{column.key}" data-day="{column.day:%Y-%m-%d}">\n'
                f'    <h2 class="grid-head h6" id="col-{column.key}">{heading}</h2>\n    <div class="grid-body">'
            )
            for block in column.blocks:
                if block.kind == "appointment":
                    parts.append(_appointment_html(block, can_change=can_change, text=text))
                elif block.kind == "free" and block.href and can_book:
                    parts.append(
                        f'<a class="grid-free gr-{block.row} gs-{block.span}{" grid-lunch" if block.lunch else ""}" '
                        f'href="{text(block.href)}" data-grid-open data-start="{block.start}">'
                        f'<span class="visually-hidden">{free_label}</span>'
                        f'<span class="grid-at">{block.time}</span></a>'
                    )
                elif block.kind == "free":
                    parts.append(
                        f'<div class="grid-free grid-free-shown gr-{block.row} gs-{block.span}'
                        f'{" grid-lunch" if block.lunch else ""}"><span class="visually-hidden">Free from </span>'
                        f"{block.time}</div>"
                    )
                else:
                    parts.append(f'<div class="grid-off gr-{block.row} gs-{block.span}" aria-hidden="true"></div>')
            parts.append("</div>\n  </section>\n  ")
        # Every text in these strings is escaped above or a number, a time or a link we built.
        self.body_html = mark_safe("".join(parts))  # noqa: S308

    @property
    def marks(self) -> list[AxisMark]:
        """The time axis: a mark every 15 minutes, the hours labelled."""
        marks = []
        for row in range(self.first, self.last, FREE_CELL_ROWS):
            span = min(FREE_CELL_ROWS, self.last - row)
            lunch = self.lunch[0] <= row < self.lunch[1]
            marks.append(AxisMark(row - self.first + 1, span, clock_text(row), row % 12 == 0, lunch))
        return marks


def _mark_html(mark: AxisMark) -> str:
    classes = f"grid-mark gr-{mark.row} gs-{mark.span}{' grid-hour' if mark.hour else ''}"
    classes += " grid-lunch" if mark.lunch else ""
    return f'<div class="{classes}">{mark.text if mark.hour else ""}</div>'


STATUS_LABELS = {str(value): str(label) for value, label in Appointment.Status.choices}
OPEN_STATUSES = frozenset(str(status) for status in Appointment.OPEN_STATUSES)


def _appointment_html(block: Block, *, can_change: bool, text: Callable[[str], str] = escape) -> str:
    entry = block.entry
    meta = text(entry.appointment_type.name)
    if entry.plan_session_number:
        meta += f" · session {entry.plan_session_number}"
        if entry.plan is not None:
            meta += f" of {entry.plan.session_count}"
    meta += f" · {text(block.who or entry.room.name)}"
    status = entry.status
    drag = f' draggable="true" data-appointment="{entry.pk}"' if can_change and status in OPEN_STATUSES else ""
    return (
        f'<a class="grid-appt grid-st-{status} gr-{block.row} gs-{block.span}" href="{block.href}" '
        f'data-grid-open data-type-colour="{text(entry.appointment_type.colour)}"{drag}>'
        f'<span class="grid-time">{block.time}–{block.end_time}</span> '
        f"<strong>{escape(entry.patient.full_name)}</strong> "
        f'<span class="grid-meta">{meta} · <span class="grid-status">{STATUS_LABELS[status]}</span></span></a>'
    )


def lunch_rows() -> Span:
    return _row_of(settings.CLINIC_LUNCH_START), _row_of(settings.CLINIC_LUNCH_END)


@dataclass
class Links:
    """The prefixes the blocks' links are built from: reversed once per page, not per block."""

    appointment: str  # + "<pk>/"
    book: str  # + "?practitioner=..&start=..&free=.."
    move: str = ""  # in move mode: the moved appointment's move page (+ "?practitioner=..&start=..")

    @classmethod
    def for_page(cls, *, moving: Appointment | None = None) -> Links:
        detail = reverse("scheduling:appointment_detail", args=[0])
        return cls(
            appointment=detail[: -len("0/")],
            book=reverse("scheduling:grid_book"),
            move=reverse("scheduling:appointment_move", args=[moving.pk]) if moving else "",
        )


def lay_out(
    column: GridColumn,
    entries: Sequence[CalendarEntry],
    *,
    clock: DayClock,
    open_spans: Sequence[Span],
    axis: Span,
    lunch: Span,
    links: Links,
    practitioner_id: int | None,
    not_before: int = 0,
    moving_pk: int | None = None,
) -> None:
    """Fill a column: its appointments where they fall, the open time around them cut into
    free cells (bookable when the column is a practitioner's: ``practitioner_id``), the rest
    as time that cannot be booked. ``moving_pk``: the appointment being moved, whose own time
    counts as free."""
    first, last = axis
    blocks = column.blocks
    busy: list[Span] = []
    previous_end = first
    for entry in entries:
        if entry.status == CANCELLED or entry.pk == moving_pk:
            continue
        start_row, _, start_text = clock.place(entry.starts_at)
        _, end_row, end_text = clock.place(entry.ends_at)
        start = max(start_row, first, previous_end)
        end = min(max(end_row, start + 1), last)
        if end <= start:
            continue
        busy.append((start, end))
        previous_end = end
        blocks.append(
            Block(
                "appointment", start - first + 1, end - start, time=start_text, end_time=end_text, entry=entry,
                href=f"{links.appointment}{entry.pk}/",
            )
        )  # fmt: skip
    free = _subtract(
        [(max(start, first, not_before), min(end, last)) for start, end in open_spans if end > max(start, not_before)],
        busy,
    )
    free = [(start, end) for start, end in free if end > start]
    for start, end in _gaps(first, last, [*busy, *free]):
        blocks.append(Block("off", start - first + 1, end - start))
    target = links.move or links.book
    for segment_start, segment_end in free:
        cell = segment_start
        while cell < segment_end:
            cut = min(segment_end, (cell // FREE_CELL_ROWS + 1) * FREE_CELL_ROWS)
            in_lunch = lunch[0] <= cell < lunch[1]
            block = Block("free", cell - first + 1, cut - cell, time=CLOCK_TEXTS[cell], lunch=in_lunch)
            start_text = clock.start_text(cell) if practitioner_id is not None else None
            if start_text is not None:
                block.start = start_text
                block.free_minutes = (segment_end - cell) * ROW_MINUTES
                block.href = f"{target}?practitioner={practitioner_id}&start={start_text}"
                if not links.move:
                    block.href += f"&free={block.free_minutes}"
            blocks.append(block)
            cell = cut


# Reads ------------------------------------------------------------------------------------


# What can be booked when, in one statement: working hours (local wall-clock times of the given
# weekdays), time off and clinic closures overlapping [start, end). Each row says which it is.
RULES_SQL = """
    SELECT 'hours', practitioner_id, weekday, starts_at, ends_at, NULL::timestamptz, NULL::timestamptz
    FROM scheduling_workinghours
    WHERE weekday = ANY(%(weekdays)s) AND (%(everyone)s OR practitioner_id = ANY(%(ids)s))
    UNION ALL
    SELECT 'away', practitioner_id, NULL, NULL, NULL, starts_at, ends_at FROM scheduling_timeoff
    WHERE starts_at < %(end)s AND ends_at > %(start)s AND (%(everyone)s OR practitioner_id = ANY(%(ids)s))
    UNION ALL
    SELECT 'closed', NULL, NULL, NULL, NULL, starts_at, ends_at FROM scheduling_clinicclosure
    WHERE starts_at < %(end)s AND ends_at > %(start)s
"""


@dataclass
class Rules:
    """Working hours as rows ({practitioner: {weekday: [spans]}}), time off per practitioner and
    closures, as instants."""

    hours: dict[int, dict[int, list[Span]]]
    away: dict[int, list[tuple[datetime, datetime]]]
    closures: list[tuple[datetime, datetime]]


def _rules(start: datetime, end: datetime, weekdays: Iterable[int], practitioner_ids: Iterable[int] | None = None):
    hours: dict[int, dict[int, list[Span]]] = defaultdict(lambda: defaultdict(list))
    away: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    closures: list[tuple[datetime, datetime]] = []
    params = {
        "start": start, "end": end, "weekdays": list(weekdays), "everyone": practitioner_ids is None,
        "ids": list(practitioner_ids or []),
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(RULES_SQL, params)
        for kind, practitioner_id, weekday, opens, closes, starts_at, ends_at in cursor.fetchall():
            if kind == "hours":
                closing_minutes = closes.hour * 60 + closes.minute
                hours[practitioner_id][weekday].append((_row_of(opens), -(-closing_minutes // ROW_MINUTES)))
            elif kind == "away":
                away[practitioner_id].append((starts_at, ends_at))
            else:
                closures.append((starts_at, ends_at))
    return Rules(hours, away, closures)


def _axis(clock: DayClock, spans: Iterable[Span], entries: Iterable[CalendarEntry]) -> Span:
    first, last = _row_of(DEFAULT_OPENING[0]), _row_of(DEFAULT_OPENING[1])
    starts = [start for start, _ in spans]
    ends = [end for _, end in spans]
    for entry in entries:
        if entry.status != CANCELLED:
            starts.append(clock.place(entry.starts_at)[0])
            ends.append(clock.place(entry.ends_at)[1])
    if starts:
        first, last = min(starts), max(ends)
    # Whole hours, and at least one hour shown.
    first = first // 12 * 12
    last = max(-(-last // 12) * 12, first + 12)
    return first, min(last, ROWS_PER_DAY)


def _not_before(clock: DayClock, now: datetime) -> int:
    """Free time starts at the next 5 minutes today, never in the past."""
    return clock.row(now, up=True)


def _rows_of(clock: DayClock, periods: Iterable[tuple[datetime, datetime]]) -> list[Span]:
    return [(clock.row(start), clock.row(end, up=True)) for start, end in periods]


def day_grid(day: date, *, moving: Appointment | None = None, now: datetime | None = None) -> Grid:
    """The day: one column per practitioner of selectors.day_columns, in its one statement. Free
    time starts after ``now`` (by default, the present)."""
    clock = DayClock(day)
    start, end = day_bounds(day)
    columns = day_columns(day)
    rules = _rules(start, end, [day.weekday()])
    hours, away, closures = rules.hours, rules.away, rules.closures
    closed = _rows_of(clock, closures)
    open_by_practitioner = {
        column.practitioner.pk: _subtract(
            hours.get(column.practitioner.pk, {}).get(day.weekday(), []),
            [*closed, *_rows_of(clock, away.get(column.practitioner.pk, []))],
        )
        for column in columns
    }
    axis = _axis(
        clock,
        [span for spans in open_by_practitioner.values() for span in spans],
        [entry for column in columns for entry in column.appointments],
    )
    lunch = lunch_rows()
    links = Links.for_page(moving=moving)
    week_prefix = reverse("scheduling:week", args=[0])[: -len("0/")]
    not_before = _not_before(clock, now or timezone.now())
    grid = Grid(axis[0], axis[1], lunch, [])
    for column in columns:
        head = column.practitioner
        grid_column = GridColumn(head.pk, head.name, day, href=f"{week_prefix}{head.pk}/?date={day:%Y-%m-%d}")
        lay_out(
            grid_column, column.appointments, clock=clock, open_spans=open_by_practitioner[head.pk], axis=axis,
            lunch=lunch, links=links, practitioner_id=head.pk, not_before=not_before,
            moving_pk=moving.pk if moving else None,
        )  # fmt: skip
        grid.columns.append(grid_column)
    return grid


# The day and week pages, written once per state of their data ------------------------------

# Everything a grid is built from, as one text that changes whenever any of it changes: each row's
# id, and the version of the row (xmin: the transaction that wrote it; ctid: where, which changes
# on every update, even within one transaction). Every part in its place, empty or not (an empty
# part is not skipped), the rows and their fields between separators none of the values holds (a
# ctid reads "(0,1)"). Reading this costs less than building the grid (no rows come back, nothing
# is laid out or written); a grid is kept under it. The parts, each given the rows it covers:


def _rows_version(table: str, where: str = "") -> str:
    """The part of a version for the rows of one table."""
    return f"""coalesce((
            SELECT string_agg(concat_ws(':', id, xmin, ctid), ';' ORDER BY id) FROM {table} {where}), '')"""  # noqa: S608 - our tables and conditions


def _version_sql(*, appointments: str, practitioners: str, hours: str, time_off: str) -> str:
    """The version of a grid: the appointments overlapping [start, end) (``appointments``: which
    of them) with their patients and plans; the practitioners shown, with their users; rooms and
    appointment types; the working hours, time off and closures (overlapping [start, end))."""
    return f"""
    SELECT md5(concat_ws('|',
        coalesce((
            SELECT string_agg(
                concat_ws(':', a.id, a.xmin, a.ctid,
                          (SELECT concat_ws(':', p.xmin, p.ctid) FROM patients_patient p WHERE p.id = a.patient_id),
                          coalesce((SELECT concat_ws(':', pl.xmin, pl.ctid)
                                      FROM treatments_treatmentplan pl WHERE pl.id = a.plan_id), '-')),
                ';' ORDER BY a.id)
            FROM scheduling_appointment a
            WHERE a.starts_at < %(end)s AND a.ends_at > %(start)s AND a.starts_at >= %(lower)s {appointments}), ''),
        coalesce((
            SELECT string_agg(concat_ws(':', pr.id, pr.xmin, pr.ctid, u.xmin, u.ctid), ';' ORDER BY pr.id)
            FROM scheduling_practitioner pr JOIN auth_user u ON u.id = pr.user_id {practitioners}), ''),
        {_rows_version("scheduling_room")},
        {_rows_version("scheduling_appointmenttype")},
        {_rows_version("scheduling_workinghours", hours)},
        {_rows_version("scheduling_timeoff", f"WHERE starts_at < %(end)s AND ends_at > %(start)s {time_off}")},
        {_rows_version("scheduling_clinicclosure", "WHERE starts_at < %(end)s AND ends_at > %(start)s")}
    ))
"""  # noqa: S608 - our tables and conditions, the values are parameters


# The day: every appointment, every practitioner, the weekday's hours, everyone's time off.
DAY_VERSION = PreparedStatement(
    "day_version", _version_sql(appointments="", practitioners="", hours="WHERE weekday = %(weekday)s", time_off="")
)
# A practitioner's week: theirs only, and their hours of every weekday.
WEEK_VERSION = PreparedStatement(
    "week_version",
    _version_sql(
        appointments="AND a.practitioner_id = %(practitioner)s",
        practitioners="WHERE pr.id = %(practitioner)s",
        hours="WHERE practitioner_id = %(practitioner)s",
        time_off="AND practitioner_id = %(practitioner)s",
    ),
)


class KeptGrids:
    """The last few rendered grids, by key (the grid's data version among it), in one process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._grids: OrderedDict[tuple, Grid] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._grids)

    def clear(self) -> None:
        with self._lock:
            self._grids.clear()

    def get_or_build(self, key: tuple, build: Callable[[], Grid], *, can_book: bool, can_change: bool) -> Grid:
        """The grid kept under ``key``, or the one ``build`` returns, rendered and kept. Only the
        written HTML is kept: the columns have no blocks left."""
        with self._lock:
            kept = self._grids.get(key)
            if kept is not None:
                self._grids.move_to_end(key)
                return kept
        built = build()
        built.render(can_book=can_book, can_change=can_change)
        for column in built.columns:
            column.blocks = []
        with self._lock:
            self._grids[key] = built
            while len(self._grids) > self.size:
                self._grids.popitem(last=False)
        return built


DAY_GRIDS_KEPT = 16  # per process: today, a few days around it, for each kind of viewer
WEEK_GRIDS_KEPT = 32  # per process: this week and the next of the practitioners looked at, per viewer
_day_grids = KeptGrids(DAY_GRIDS_KEPT)
_week_grids = KeptGrids(WEEK_GRIDS_KEPT)


def forget_kept_grids() -> None:
    """Drop every kept grid (the benchmark times a grid built again this way)."""
    _day_grids.clear()
    _week_grids.clear()


def _version(statement: PreparedStatement, params: dict) -> str:
    with connection.cursor() as cursor:
        statement.execute(cursor, params)
        return cursor.fetchone()[0]


def day_version(day: date) -> str:
    start, end = day_bounds(day)
    return _version(
        DAY_VERSION, {"start": start, "end": end, "lower": start - LONGEST_APPOINTMENT, "weekday": day.weekday()}
    )


def rendered_day_grid(day: date, *, can_book: bool, can_change: bool) -> Grid:
    """The day grid, rendered (Grid.render) for such a viewer: the one kept for the day's data as
    it is now (``day_version``) and the current 5 minutes, or built and kept. The version is read
    before the grid is built, so a change committed in between is at worst in a grid kept under
    the older version, which no later request asks for."""
    now = timezone.now()
    key = (day, day_version(day), _not_before(DayClock(day), now), can_book, can_change)
    return _day_grids.get_or_build(key, lambda: day_grid(day, now=now), can_book=can_book, can_change=can_change)


def _week_end(monday: date) -> date:
    # The last week Python has is cut short at 9999-12-31 rather than overflow (as selectors.week_days).
    return monday + timedelta(days=min(6, (date.max - monday).days))


def week_version(practitioner_id: int, monday: date) -> str:
    start, _ = day_bounds(monday)
    _, end = day_bounds(_week_end(monday))
    params = {"start": start, "end": end, "lower": start - LONGEST_APPOINTMENT, "practitioner": practitioner_id}
    return _version(WEEK_VERSION, params)


def rendered_week_grid(practitioner, monday: date, *, can_book: bool, can_change: bool) -> Grid:
    """A practitioner's week grid, rendered for such a viewer: kept, as the day's
    (rendered_day_grid), under the week's data version (``week_version``), today's date and, in
    today's week, the current 5 minutes; selectors.week_days is only read to build it."""
    now = timezone.now()
    today = timezone.localdate(now)
    this_week = monday <= today <= _week_end(monday)
    key = (
        practitioner.pk, monday, week_version(practitioner.pk, monday), today,
        _not_before(DayClock(today), now) if this_week else None, can_book, can_change,
    )  # fmt: skip

    def build() -> Grid:
        return week_grid(practitioner, monday, week_days=selectors.week_days(practitioner, monday), now=now)

    return _week_grids.get_or_build(key, build, can_book=can_book, can_change=can_change)


def week_grid(practitioner, monday: date, *, week_days, now: datetime | None = None) -> Grid:
    """A practitioner's week: one column per day (``week_days``: selectors.week_days). Free time
    starts after ``now`` (by default, the present)."""
    start, _ = day_bounds(monday)
    _, end = day_bounds(monday + timedelta(days=6))
    rules = _rules(start, end, range(7), [practitioner.pk])
    hours, away, closures = rules.hours.get(practitioner.pk, {}), rules.away, rules.closures
    now = now or timezone.now()
    today = timezone.localdate(now)
    clocks = {entry.day: DayClock(entry.day) for entry in week_days}
    open_by_day = {}
    for entry in week_days:
        clock = clocks[entry.day]
        blocked = [*_rows_of(clock, closures), *_rows_of(clock, away.get(practitioner.pk, []))]
        open_by_day[entry.day] = _subtract(hours.get(entry.day.weekday(), []), blocked)
    spans = [span for spans in open_by_day.values() for span in spans]
    axis = _axis(clocks[monday], spans, [])
    for entry in week_days:
        axis = _merge(axis, _axis(clocks[entry.day], spans, entry.appointments))
    lunch = lunch_rows()
    links = Links.for_page()
    day_prefix = reverse("scheduling:day")
    grid = Grid(axis[0], axis[1], lunch, [])
    for entry in week_days:
        clock = clocks[entry.day]
        column = GridColumn(
            entry.day.toordinal(), f"{entry.day:%a %d %b}", entry.day, href=f"{day_prefix}?date={entry.day:%Y-%m-%d}",
            today=entry.day == today,
        )  # fmt: skip
        if entry.day < today:
            not_before = ROWS_PER_DAY
        elif entry.day == today:
            not_before = _not_before(clock, now)
        else:
            not_before = 0
        lay_out(
            column, entry.appointments, clock=clock, open_spans=open_by_day[entry.day], axis=axis, lunch=lunch,
            links=links, practitioner_id=practitioner.pk, not_before=not_before,
        )  # fmt: skip
        grid.columns.append(column)
    return grid


def _merge(one: Span, other: Span) -> Span:
    return min(one[0], other[0]), max(one[1], other[1])


def room_grid(day: date) -> Grid:
    """The rooms of a day: one column per room in use (and any other booked that day). Free
    time shows when a room is free; booking goes through a practitioner's column."""
    clock = DayClock(day)
    start, end = day_bounds(day)
    by_room: dict[int, list[CalendarEntry]] = defaultdict(list)
    rows = (
        Appointment.objects.during(start, end)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("starts_at", "id")
        .values_list(
            "room_id", "practitioner__user__first_name", "practitioner__user__last_name", *CalendarEntry.FIELDS
        )
    )
    names: dict[int, str] = {}
    for room_id, first_name, last_name, *row in rows:
        entry = CalendarEntry.from_row(row)
        by_room[room_id].append(entry)
        names[entry.pk] = f"{first_name} {last_name}".strip()
    rooms = Room.objects.filter(is_active=True) | Room.objects.filter(pk__in=list(by_room))
    rules = _rules(start, end, [day.weekday()])
    hours, closures = rules.hours, rules.closures
    spans = [span for weekdays in hours.values() for span in weekdays.get(day.weekday(), [])]
    axis = _axis(clock, spans, [entry for entries in by_room.values() for entry in entries])
    lunch = lunch_rows()
    links = Links.for_page()
    opening_hours = (min((s for s, _ in spans), default=axis[0]), max((e for _, e in spans), default=axis[1]))
    opening = _subtract([opening_hours], _rows_of(clock, closures))
    grid = Grid(axis[0], axis[1], lunch, [])
    for room in rooms.order_by("name").distinct():
        column = GridColumn(room.pk, room.name, day)
        lay_out(
            column, by_room.get(room.pk, []), clock=clock, open_spans=opening, axis=axis, lunch=lunch, links=links,
            practitioner_id=None,
        )  # fmt: skip
        for block in column.blocks:
            if block.entry is not None:
                block.who = names[block.entry.pk]
        grid.columns.append(column)
    return grid


def preselected_type(types: Sequence, free_minutes: int | None):
    """The appointment type a free cell suggests: the longest that fits the free time from
    there (the shortest when none fits, the first when the free time is not known)."""
    if not types:
        return None
    if not free_minutes:
        return types[0]
    fitting = [kind for kind in types if kind.duration_minutes <= free_minutes]
    if not fitting:
        return min(types, key=lambda kind: kind.duration_minutes)
    return max(fitting, key=lambda kind: (kind.duration_minutes, kind.name == "Consultation"))
