"""Staff accounts, rooms, practitioners, working hours, time off, closures and appointment types."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from clinic import roles
from clinic.localtime import clock_reaches
from devdata.large.reference import name_lists
from devdata.large.sizes import DEFAULT_TYPES, MARKER_USERNAME, PASSWORD, ROOM_PREFIX, USERNAME_PREFIX
from scheduling.models import AppointmentType, ClinicClosure, Practitioner, Room, TimeOff, WorkingHours


class StaffStep:
    """Sets ``doctors``, ``receptionists``, ``practitioners`` (with their ``hours`` and ``away``
    days), ``closed`` days, appointment ``types``, the ``marker`` account and the name lists."""

    def staff(self) -> None:
        User = get_user_model()
        groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
        password = make_password(PASSWORD)
        female, male, last = name_lists()
        self.first_female, self.first_male, self.last_names = female, male, last
        rng = self.rng
        self.marker = User.objects.create(
            username=MARKER_USERNAME, first_name="Large", last_name="Clinic generator", is_active=False,
            password=make_password(None),
        )  # fmt: skip
        people = []
        practitioner_count = self.sizes.practitioners
        reception_count = max(2, practitioner_count // 4)
        for number in range(1, practitioner_count + 1):
            people.append((f"{USERNAME_PREFIX}doctor{number:02d}", roles.DOCTOR))
        for number in range(1, reception_count + 1):
            people.append((f"{USERNAME_PREFIX}reception{number:02d}", roles.RECEPTIONIST))
        people.append((f"{USERNAME_PREFIX}manager", roles.MANAGER))
        users = User.objects.bulk_create(
            User(
                username=username, first_name=rng.choice(female), last_name=rng.choice(last),
                email=f"{username}@clinic.example", password=password, is_staff=role == roles.MANAGER,
                date_joined=self.now - timedelta(days=400),
            )
            for username, role in people
        )  # fmt: skip
        memberships = [
            User.groups.through(user_id=user.pk, group_id=groups[role].pk)
            for user, (_, role) in zip(users, people, strict=True)
        ]
        User.groups.through.objects.bulk_create(memberships)
        self.doctors = users[:practitioner_count]
        self.receptionists = users[practitioner_count : practitioner_count + reception_count]
        rooms = Room.objects.bulk_create(
            Room(name=f"{ROOM_PREFIX}{number:02d}") for number in range(1, practitioner_count + 3)
        )
        colours = ["#6f42c1", "#d63384", "#fd7e14", "#20c997", "#0dcaf0", "#198754", "#dc3545", "#0d6efd"]
        self.practitioners = Practitioner.objects.bulk_create(
            Practitioner(user=user, colour=colours[index % len(colours)], default_room=rooms[index])
            for index, user in enumerate(self.doctors)
        )
        # Most work Monday to Friday 09:00-18:00; some Tuesday to Saturday; some start early.
        self.hours: list[dict[int, tuple[time, time]]] = []
        rows = []
        for index, practitioner in enumerate(self.practitioners):
            pattern = index % 5
            weekdays = [1, 2, 3, 4, 5] if pattern == 3 else [0, 1, 2, 3, 4]
            opens, closes = (time(8, 30), time(17, 30)) if pattern == 4 else (time(9), time(18))
            self.hours.append(dict.fromkeys(weekdays, (opens, closes)))
            rows += [
                WorkingHours(practitioner=practitioner, weekday=weekday, starts_at=opens, ends_at=closes)
                for weekday in weekdays
            ]
        WorkingHours.objects.bulk_create(rows)
        # Two weeks of holiday each, away from the next three weeks (what the benchmark looks at).
        self.away: list[set[date]] = []
        time_off = []
        quiet = {self.today + timedelta(days=offset) for offset in range(-7, 22)}
        span = (self.last_day - self.first_day).days
        for practitioner in self.practitioners:
            away: set[date] = set()
            for _ in range(2):
                if span < 60:
                    break
                start = self.first_day + timedelta(days=rng.randrange(0, span - 7))
                week = {start + timedelta(days=offset) for offset in range(7)}
                if week & quiet:
                    continue
                away |= week
                time_off.append(
                    TimeOff(
                        practitioner=practitioner, starts_at=clock_reaches(start, time(0)),
                        ends_at=clock_reaches(start + timedelta(days=7), time(0)), reason="Annual leave",
                    )
                )  # fmt: skip
            self.away.append(away)
        TimeOff.objects.bulk_create(time_off)
        self.closed = {
            day
            for day in (self.first_day + timedelta(days=offset) for offset in range(span + 1))
            if (day.month, day.day) in {(12, 25), (12, 26), (1, 1)}
        }
        ClinicClosure.objects.bulk_create(
            ClinicClosure(
                starts_at=clock_reaches(day, time(0)), ends_at=clock_reaches(day + timedelta(days=1), time(0)),
                reason="Bank holiday",
            )
            for day in sorted(self.closed)
        )  # fmt: skip
        self.types = {}
        for name, (duration, buffer, colour, course) in DEFAULT_TYPES.items():
            self.types[name], _ = AppointmentType.objects.get_or_create(
                name=name,
                defaults={
                    "duration_minutes": duration, "buffer_minutes": buffer, "colour": colour,
                    "is_course_session": course,
                },
            )  # fmt: skip
        self.counts.update(staff=len(users), rooms=len(rooms), practitioners=len(self.practitioners))
