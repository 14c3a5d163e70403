"""Importing patients from another system's CSV file.

upload (``import_upload``: the file is checked and kept as text) -> map the columns to fields
(``import_set_mapping``) -> dry run (``import_check``: every row validated, with per-row
errors) -> import (``import_run``: all rows in one transaction, or none).

A row is refused for: a missing required field (first name, last name, date of birth), a date
that is not a date or not plausible, a phone number that is not one, an email that is not one,
a value too long for its field, an unknown sex; and it is refused as a duplicate by the rules of
registration (patients.selectors.possible_duplicates): the same name and date of birth
(accents and case ignored), the same phone or the same email as an existing patient, archived
ones included, or as an earlier row of the file.

Speed: the existing patients that could match are fetched in one query for the whole file and
looked up in memory; patients are written with bulk_create. 10,000 rows take a few seconds
(tests/perf/bench_import.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.text import NOTE_MAX, normalize_text, text_problem
from patients.forms import OLDEST_PLAUSIBLE_AGE
from patients.models import Patient, PatientImport
from patients.phones import normalize_phone
from patients.selectors import normalize_name, parse_date

# The fields a column can be mapped to, in the order the mapping page shows them.
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "phone": "Phone",
    "email": "Email",
    "address_line1": "Address",
    "address_line2": "Address (line 2)",
    "city": "Town or city",
    "postcode": "Postcode",
    "country": "Country",
    "emergency_contact_name": "Emergency contact name",
    "emergency_contact_phone": "Emergency contact phone",
    "reminder_emails_consent": "Consents to reminder emails",
    "reception_notes": "Notes for reception",
}
REQUIRED = ("first_name", "last_name", "date_of_birth")
# Header names other systems use, lower case without spaces or punctuation, for the first guess.
ALIASES: dict[str, set[str]] = {
    "first_name": {"firstname", "forename", "givenname", "first", "prenom"},
    "last_name": {"lastname", "surname", "familyname", "last", "nom"},
    "date_of_birth": {"dateofbirth", "dob", "birthdate", "born", "birthday", "datenaissance"},
    "sex": {"sex", "gender"},
    "phone": {"phone", "mobile", "telephone", "tel", "phonenumber", "mobilephone", "cell"},
    "email": {"email", "emailaddress", "mail"},
    "address_line1": {"address", "address1", "addressline1", "street"},
    "address_line2": {"address2", "addressline2"},
    "city": {"city", "town", "towncity"},
    "postcode": {"postcode", "zip", "zipcode", "postalcode"},
    "country": {"country"},
    "emergency_contact_name": {"emergencycontact", "emergencycontactname", "nextofkin"},
    "emergency_contact_phone": {"emergencyphone", "emergencycontactphone", "nextofkinphone"},
    "reminder_emails_consent": {"consent", "remindersconsent", "marketingconsent", "reminderemailsconsent"},
    "reception_notes": {"notes", "comments", "receptionnotes"},
}
SEXES = {
    "f": Patient.Sex.FEMALE, "female": Patient.Sex.FEMALE, "w": Patient.Sex.FEMALE, "woman": Patient.Sex.FEMALE,
    "m": Patient.Sex.MALE, "male": Patient.Sex.MALE, "man": Patient.Sex.MALE,
    "o": Patient.Sex.OTHER, "other": Patient.Sex.OTHER, "x": Patient.Sex.OTHER,
    "": Patient.Sex.UNDISCLOSED, "u": Patient.Sex.UNDISCLOSED, "unknown": Patient.Sex.UNDISCLOSED,
    "undisclosed": Patient.Sex.UNDISCLOSED, "prefer not to say": Patient.Sex.UNDISCLOSED,
}  # fmt: skip
YES = {"yes", "y", "true", "1", "x", "oui"}
NO = {"no", "n", "false", "0", ""}
ERRORS_SHOWN = 200
SAMPLE_ROWS = 10


def _squash(header: str) -> str:
    return "".join(char for char in header.lower() if char.isalnum())


# Upload ----------------------------------------------------------------------------------------


def read_csv_upload(upload) -> tuple[str, str, list[str], int]:
    """Check an uploaded file and return (text, delimiter, headers, number of data rows), or
    raise ValidationError saying what is wrong with it."""
    max_bytes = settings.PATIENT_IMPORT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    if upload.size > max_bytes:
        raise ValidationError(
            f"The file is {upload.size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.0f} MB. "
            "Split it into smaller files."
        )
    raw = upload.read(max_bytes + 1)
    if b"\x00" in raw:
        raise ValidationError(
            "This is not a text file (it contains NUL bytes): a spreadsheet (.xlsx) or a UTF-16 export? "
            "Save it as 'CSV UTF-8' and upload that."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read). "
            "Save it as 'CSV UTF-8 (comma delimited)' and upload it again."
        ) from None
    if not text.strip():
        raise ValidationError("The file is empty.")
    sample = text[: 64 * 1024]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error as error:
        raise ValidationError(f"This is not a readable CSV file: {error}.") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    headers = [cell.strip() for cell in rows[0]] if rows else []
    if len(headers) < 2:
        raise ValidationError(
            "This does not look like a CSV file of patients: the first line should name the columns "
            "(e.g. first name, last name, date of birth), separated by commas or semicolons."
        )
    data_rows = len(rows) - 1
    if data_rows == 0:
        raise ValidationError("The file has a header line but no patients.")
    if data_rows > settings.PATIENT_IMPORT_MAX_ROWS:
        raise ValidationError(
            f"The file has {data_rows:,} rows; the limit is {settings.PATIENT_IMPORT_MAX_ROWS:,}. Split it."
        )
    return text, delimiter, headers, data_rows


@transaction.atomic
def import_upload(*, upload, uploaded_by) -> PatientImport:
    text, delimiter, headers, rows = read_csv_upload(upload)
    # Files never imported hold personal data for nothing: they go after a day.
    PatientImport.objects.filter(
        status=PatientImport.Status.UPLOADED, uploaded_at__lt=timezone.now() - timedelta(days=1)
    ).delete()
    return PatientImport.objects.create(
        uploaded_by=uploaded_by,
        filename=(upload.name or "upload.csv")[:255],
        content=text,
        delimiter=delimiter,
        headers=headers,
        row_count=rows,
        mapping=guess_mapping(headers),
    )


def guess_mapping(headers: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        squashed = _squash(header)
        for name, aliases in ALIASES.items():
            if name not in mapping and (squashed in aliases or squashed == _squash(FIELDS[name])):
                mapping[name] = index
                break
    return mapping


@transaction.atomic
def import_set_mapping(*, patient_import: PatientImport, mapping: dict[str, int | None]) -> PatientImport:
    if patient_import.status != PatientImport.Status.UPLOADED:
        raise ValidationError("This file was already imported.")
    chosen = {name: index for name, index in mapping.items() if index is not None}
    missing = [FIELDS[name] for name in REQUIRED if name not in chosen]
    if missing:
        raise ValidationError(f"Choose the column for: {', '.join(missing)}.")
    used: dict[int, str] = {}
    for name, index in chosen.items():
        if not 0 <= index < len(patient_import.headers):
            raise ValidationError(f"{FIELDS[name]}: no such column.")
        if index in used:
            raise ValidationError(
                f"The column '{patient_import.headers[index]}' is chosen for both {used[index]} and {FIELDS[name]}."
            )
        used[index] = FIELDS[name]
    patient_import.mapping = chosen
    patient_import.save(update_fields=["mapping"])
    return patient_import


# Dry run ---------------------------------------------------------------------------------------


@dataclass
class RowError:
    line: int  # the line of the file (the header is line 1)
    messages: list[str]


@dataclass
class ImportCheck:
    rows: int = 0
    patients: list[Patient] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rows > 0 and not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def errors_shown(self) -> list[RowError]:
        return self.errors[:ERRORS_SHOWN]

    @property
    def sample(self) -> list[Patient]:
        return self.patients[:SAMPLE_ROWS]


def _rows(patient_import: PatientImport) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(patient_import.content), delimiter=patient_import.delimiter)
    next(reader, None)
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _limit(name: str) -> int:
    return Patient._meta.get_field(name).max_length


def _parse_row(values: dict[str, str], today: date) -> tuple[Patient, list[str]]:
    errors: list[str] = []
    # The same text rules as the registration form (clinic/text.py): an invisible-only cell is
    # empty, control characters and U+FFFD are refused, the notes are at most NOTE_MAX.
    values = {name: normalize_text(value) for name, value in values.items()}
    for name, value in values.items():
        problem = text_problem(value, multiline=name == "reception_notes")
        if problem:
            errors.append(f"{FIELDS[name]}: {problem}")
    if len(values.get("reception_notes", "")) > NOTE_MAX:
        errors.append(f"{FIELDS['reception_notes']} is longer than {NOTE_MAX} characters.")
    patient = Patient()
    for name in REQUIRED:
        if not values.get(name):
            errors.append(f"{FIELDS[name]} is missing.")
    for name in ("first_name", "last_name", "address_line1", "address_line2", "city", "postcode", "country",
                 "emergency_contact_name"):  # fmt: skip
        value = " ".join(values.get(name, "").split()) if name.endswith("_name") else values.get(name, "")
        if len(value) > _limit(name):
            errors.append(f"{FIELDS[name]} is longer than {_limit(name)} characters.")
        setattr(patient, name, value)
    patient.reception_notes = values.get("reception_notes", "")
    born_text = values.get("date_of_birth", "")
    if born_text:
        born = parse_date(born_text)
        if born is None:
            errors.append(f"Date of birth '{born_text}' is not a date (use 1985-01-31 or 31/01/1985).")
        elif born > today:
            errors.append(f"Date of birth {born:%d/%m/%Y} is in the future.")
        elif born.year < 1900 or born.year < today.year - OLDEST_PLAUSIBLE_AGE:
            errors.append(f"Date of birth {born:%d/%m/%Y}: the patient would be over {OLDEST_PLAUSIBLE_AGE}.")
        else:
            patient.date_of_birth = born
    sex = values.get("sex", "").lower()
    if sex in SEXES:
        patient.sex = SEXES[sex]
    else:
        errors.append(f"Sex '{values['sex']}' is not one of F, M, other or blank.")
    for name in ("phone", "emergency_contact_phone"):
        raw = values.get(name, "")
        try:
            setattr(patient, name, normalize_phone(raw) if raw else "")
        except ValidationError as error:
            errors.append(f"{FIELDS[name]} '{raw}': {error.messages[0]}")
    email = values.get("email", "").lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(f"Email '{values['email']}' is not an email address.")
    patient.email = email
    consent = values.get("reminder_emails_consent", "").lower()
    if consent in YES:
        patient.reminder_emails_consent = True
    elif consent not in NO:
        errors.append(f"Consent to reminder emails '{values['reminder_emails_consent']}' is not yes or no.")
    if patient.reminder_emails_consent and not email:
        errors.append("Consent to reminder emails needs an email address.")
    patient.preferred_contact_channel = Patient.ContactChannel.EMAIL if email else Patient.ContactChannel.PHONE
    return patient, errors


class _DuplicateIndex:
    """The registration rules (same name and date of birth, same phone, same email), against
    the patients already registered and the rows of the file seen so far."""

    def __init__(self, candidates: list[tuple]):
        self.names: dict[tuple[str, date], str] = {}
        self.phones: dict[str, str] = {}
        self.emails: dict[str, str] = {}
        for pk, key, born, phone, email in candidates:
            where = f"patient #{pk}"
            self.names.setdefault((key, born), where)
            if phone:
                self.phones.setdefault(phone, where)
            if email:
                self.emails.setdefault(email, where)

    def check_and_add(self, patient: Patient, line: int) -> list[str]:
        problems = []
        name_key = (normalize_name(f"{patient.first_name} {patient.last_name}"), patient.date_of_birth)
        if patient.date_of_birth is not None and name_key in self.names:
            problems.append(f"Same name and date of birth as {self.names[name_key]}.")
        if patient.phone and patient.phone in self.phones:
            problems.append(f"Same phone as {self.phones[patient.phone]}.")
        if patient.email and patient.email in self.emails:
            problems.append(f"Same email as {self.emails[patient.email]}.")
        where = f"line {line} of the file"
        if patient.date_of_birth is not None:
            self.names.setdefault(name_key, where)
        if patient.phone:
            self.phones.setdefault(patient.phone, where)
        if patient.email:
            self.emails.setdefault(patient.email, where)
        return problems


def import_check(patient_import: PatientImport) -> ImportCheck:
    """Validate every row (nothing is written): the patients it would make, and each line's errors."""
    today = timezone.localdate()
    mapping = patient_import.mapping
    check = ImportCheck()
    parsed: list[tuple[int, Patient, list[str]]] = []
    for line, row in _rows(patient_import):
        values = {name: (row[index].strip() if index < len(row) else "") for name, index in mapping.items()}
        patient, errors = _parse_row(values, today)
        parsed.append((line, patient, errors))
    check.rows = len(parsed)
    phones = {patient.phone for _, patient, _ in parsed if patient.phone}
    emails = {patient.email for _, patient, _ in parsed if patient.email}
    births = {patient.date_of_birth for _, patient, _ in parsed if patient.date_of_birth}
    # Every registered patient who could match any row, in one query.
    candidates = list(
        Patient.objects.filter(Q(phone__in=phones) | Q(email__in=emails) | Q(date_of_birth__in=births))
        .filter(erased_at__isnull=True)
        .values_list("pk", "search_key", "date_of_birth", "phone", "email")
    )
    duplicates = _DuplicateIndex(candidates)
    for line, patient, errors in parsed:
        if not errors:
            errors = duplicates.check_and_add(patient, line)
        if errors:
            check.errors.append(RowError(line, errors))
        else:
            check.patients.append(patient)
    return check


# Import ----------------------------------------------------------------------------------------


@transaction.atomic
def import_run(*, patient_import: PatientImport, imported_by) -> int:
    """Create every patient of the file in one transaction, or none: the rows are checked again
    here (someone may have registered one of them since the preview)."""
    patient_import = PatientImport.objects.select_for_update().get(pk=patient_import.pk)
    if patient_import.status != PatientImport.Status.UPLOADED:
        raise ValidationError("This file was already imported.")
    if not patient_import.mapping:
        raise ValidationError("Choose which column is which field first.")
    check = import_check(patient_import)
    if not check.ok:
        raise ValidationError(
            f"{check.error_count} row(s) have errors: nothing was imported. Correct the file and upload it again."
        )
    now = timezone.now()
    for patient in check.patients:
        patient.created_by = imported_by
        patient.created_at = now
        if patient.reminder_emails_consent:
            patient.reminder_emails_consent_changed_at = now
    Patient.objects.bulk_create(check.patients, batch_size=1000)
    patient_import.status = PatientImport.Status.IMPORTED
    patient_import.imported_count = len(check.patients)
    patient_import.imported_at = now
    patient_import.content = ""  # the patients are in the database now; the file's copy goes
    patient_import.save(update_fields=["status", "imported_count", "imported_at", "content"])
    return len(check.patients)
