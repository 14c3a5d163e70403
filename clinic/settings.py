"""Settings for the clinic application.

Every environment variable the application reads is read here, through the typed helpers
below. Development defaults work on a fresh machine with DEBUG=true; without it the settings
are production ones (they fail closed): the secrets have no default and a bad value stops
the process at start.
"""

from __future__ import annotations

import ipaddress
import os
import zoneinfo
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_time(name: str, default: str) -> time:
    value = env_str(name, default)
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a time such as 12:00, not {value!r}.") from None


def env_networks(name: str) -> list[str]:
    """Comma-separated IP addresses or networks (CIDR), each checked at start."""
    networks = env_list(name, [])
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, not {network!r}.") from None
    return networks


TRIGRAM_WORD_THRESHOLD = 0.45


def database_from_url(url: str) -> dict:
    """Turn postgres://user:password@host:port/name?options into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL.")
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database.")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    # Patient search matches a name with a small typo ("lefebvre" for "Lefèvre"): pg_trgm's
    # default word-similarity threshold (0.6) is too strict for short names. The statements
    # prepared once per connection (clinic/prepared.py) keep one plan for every value rather
    # than being planned again each time when PostgreSQL guesses that might pay; nothing else
    # the application sends is prepared (PL/pgSQL triggers are, and are lookups by key).
    options.setdefault(
        "options",
        f"-c pg_trgm.word_similarity_threshold={TRIGRAM_WORD_THRESHOLD} -c plan_cache_mode=force_generic_plan",
    )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
        "TEST": {"NAME": f"test_{name}"},
    }


# Fail closed: production unless the environment says DEBUG=true in so many words. The
# development commands (bin/run, bin/test, make, the benchmarks) set it.
DEBUG = env_bool("DEBUG", default=False)

# Published in this repository, so it protects nothing: development only.
DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
else:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "The environment variable SECRET_KEY must be set: DEBUG is not true, so these are production "
            "settings. Set DEBUG=true for development, or a long random SECRET_KEY for production."
        )
    if SECRET_KEY == DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY is the published development key, which cannot be used with DEBUG off (production). "
            "Set a long random SECRET_KEY, or DEBUG=true for development."
        )
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be a long random value (50 characters or more) in production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "clinic",
    "messaging",
    "patients",
    "intake",
    "treatments",
    "scheduling",
    "fhirapi",
    "reports",
    "devdata",
    # Last, as its documentation asks: it watches the login signals of everything above.
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files: WhiteNoise in production; runserver serves them in development.
    *([] if DEBUG else ["whitenoise.middleware.WhiteNoiseMiddleware"]),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed the second factor?
    "clinic.accounts.middleware.VerifiedDeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "clinic.middleware.IdleSessionTimeoutMiddleware",
    # A staff user goes nowhere before enrolling and entering their second factor.
    "clinic.accounts.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "clinic.middleware.SecurityHeadersMiddleware",
    "clinic.audit.AuditRefusalMiddleware",
    # Last: turns a refused login (too many failures) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "postgres://127.0.0.1:5432/clinic"))}
# Web processes and workers run as a role that owns no table (clinic/dbroles.py): migrations
# grant it its privileges. DATABASE_ROLE makes a connection switch to a role (SET ROLE) after
# logging in, for when one login runs both migrations and the application (bin/run does).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "clinic_app")
if DATABASE_ROLE := env_str("DATABASE_ROLE", ""):
    DATABASES["default"]["OPTIONS"]["assume_role"] = DATABASE_ROLE
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "clinic.accounts.passwords.MaximumLengthValidator"},
]
# Axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "clinic.accounts.backends.StaffBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
CLINIC_TIME_ZONE = env_str("CLINIC_TIME_ZONE", "Europe/London")
try:
    zoneinfo.ZoneInfo(CLINIC_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"CLINIC_TIME_ZONE {CLINIC_TIME_ZONE!r} is not a known time zone.") from None
# With USE_TZ, PostgreSQL stores UTC whatever this says; this is the zone that pages and
# forms show and read, so it is the clinic's.
TIME_ZONE = CLINIC_TIME_ZONE

CLINIC_NAME = env_str("CLINIC_NAME", "Lumière Aesthetic Clinic")
CLINIC_PHONE = env_str("CLINIC_PHONE", "+44 20 7946 0000")
CLINIC_EMAIL = env_str("CLINIC_EMAIL", "hello@clinic.example")
# Phone numbers typed without a country code are read as numbers of this region.
CLINIC_PHONE_REGION = env_str("CLINIC_PHONE_REGION", "GB")
CLINIC_LUNCH_START = env_time("CLINIC_LUNCH_START", "12:00")
CLINIC_LUNCH_END = env_time("CLINIC_LUNCH_END", "14:00")
# Scheduling: the reminder email goes this many hours before an appointment (none when the
# booking is made later than that); the cancel link in emails stops this many hours before.
APPOINTMENT_REMINDER_HOURS = env_int("APPOINTMENT_REMINDER_HOURS", 24)
APPOINTMENT_CANCEL_CUTOFF_HOURS = env_int("APPOINTMENT_CANCEL_CUTOFF_HOURS", 24)
# The waiting list: a slot freed at least WAITLIST_MIN_NOTICE_MINUTES before it starts is
# offered to waiting patients by email, WAITLIST_OFFER_WAVE_SIZE at a time, a further wave every
# WAITLIST_OFFER_WAVE_DELAY_MINUTES (at most WAITLIST_OFFER_WAVES waves); an offer can be taken
# until WAITLIST_CLAIM_CUTOFF_MINUTES before the slot.
WAITLIST_MIN_NOTICE_MINUTES = env_int("WAITLIST_MIN_NOTICE_MINUTES", 120)
WAITLIST_CLAIM_CUTOFF_MINUTES = env_int("WAITLIST_CLAIM_CUTOFF_MINUTES", 60)
WAITLIST_OFFER_WAVE_SIZE = env_int("WAITLIST_OFFER_WAVE_SIZE", 3)
WAITLIST_OFFER_WAVE_DELAY_MINUTES = env_int("WAITLIST_OFFER_WAVE_DELAY_MINUTES", 30)
WAITLIST_OFFER_WAVES = env_int("WAITLIST_OFFER_WAVES", 3)
if min(WAITLIST_OFFER_WAVE_SIZE, WAITLIST_OFFER_WAVES, WAITLIST_OFFER_WAVE_DELAY_MINUTES) <= 0:
    raise ImproperlyConfigured(
        "WAITLIST_OFFER_WAVE_SIZE, WAITLIST_OFFER_WAVES and WAITLIST_OFFER_WAVE_DELAY_MINUTES must be positive."
    )
if not 0 <= WAITLIST_CLAIM_CUTOFF_MINUTES <= WAITLIST_MIN_NOTICE_MINUTES:
    raise ImproperlyConfigured("WAITLIST_CLAIM_CUTOFF_MINUTES must be between 0 and WAITLIST_MIN_NOTICE_MINUTES.")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "clinic.staticstorage.StaticStorage"  # WhiteNoise's compressed manifest storage
        )
    },
}
# Clinical uploads (photos) live outside any public URL and are served by audited views.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private")))
# Clinical photos larger than this are refused (they are re-encoded, so the stored file is smaller).
PHOTO_MAX_UPLOAD_BYTES = env_int("PHOTO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# The reverse proxies in front of the web processes (addresses or CIDR networks). Only a
# request arriving from one of them has its X-Forwarded-For read for the audit trail's address.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

# A small file can hold a huge picture (a flat 6000x6000 PNG is 100 KB): photos with more pixels
# than this are refused from their header, before any decoding. Larger sides are scaled down
# to PHOTO_MAX_SIDE pixels before re-encoding.
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 40_000_000)
PHOTO_MAX_SIDE = env_int("PHOTO_MAX_SIDE", 3000)
if PHOTO_MAX_PIXELS <= 0 or PHOTO_MAX_SIDE <= 0:
    raise ImproperlyConfigured("PHOTO_MAX_PIXELS and PHOTO_MAX_SIDE must be positive numbers of pixels.")

# Erasure and retention (patients/erasure.py): clinical records are kept this many years after
# the last one, and for a patient treated as a minor at least until this age.
CLINICAL_RETENTION_YEARS = env_int("CLINICAL_RETENTION_YEARS", 8)
CLINICAL_RETENTION_MINOR_UNTIL_AGE = env_int("CLINICAL_RETENTION_MINOR_UNTIL_AGE", 25)
# CSV import (patients/importing.py): larger uploads are refused before they are read.
PATIENT_IMPORT_MAX_BYTES = env_int("PATIENT_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
PATIENT_IMPORT_MAX_ROWS = env_int("PATIENT_IMPORT_MAX_ROWS", 50_000)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: development prints messages on the console of `make run` so they can be read.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    # messaging.smtp is Django's SMTP backend keeping the server's reply for the outbox row.
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "messaging.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{CLINIC_NAME} <{CLINIC_EMAIL}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Absolute links in patient emails point here.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
EMAIL_MESSAGE_ID_DOMAIN = env_str("EMAIL_MESSAGE_ID_DOMAIN", CLINIC_EMAIL.rpartition("@")[2] or "clinic.example")

# The outbox (messaging/): retries, and when a handed-over row is handed over again.
MESSAGE_MAX_ATTEMPTS = env_int("MESSAGE_MAX_ATTEMPTS", 5)
MESSAGE_RETRY_BACKOFF_SECONDS = env_int("MESSAGE_RETRY_BACKOFF_SECONDS", 60)
MESSAGE_REQUEUE_AFTER_SECONDS = env_int("MESSAGE_REQUEUE_AFTER_SECONDS", 300)
MESSAGE_SENDING_TIMEOUT_SECONDS = env_int("MESSAGE_SENDING_TIMEOUT_SECONDS", 600)
# Messages a worker sends over one SMTP connection, as one task.
MESSAGE_BATCH_SIZE = env_int("MESSAGE_BATCH_SIZE", 50)
MESSAGE_DISPATCH_INTERVAL_SECONDS = env_int("MESSAGE_DISPATCH_INTERVAL_SECONDS", 60)
# /healthz (clinic/health.py) fails when a due outbox message has waited longer than this
# (workers or beat not running), and gives the broker this long to answer a PING.
HEALTH_OUTBOX_MAX_DELAY_SECONDS = env_int("HEALTH_OUTBOX_MAX_DELAY_SECONDS", 900)
HEALTH_BROKER_TIMEOUT_SECONDS = env_int("HEALTH_BROKER_TIMEOUT_MS", 500) / 1000
# Links in emails (confirm, cancel, unsubscribe) stop working after this many days.
EMAIL_LINK_MAX_AGE_DAYS = env_int("EMAIL_LINK_MAX_AGE_DAYS", 60)

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Web requests never talk to the broker (the outbox notifies workers through PostgreSQL);
# the dispatcher does, and gives up quickly when Redis is down: the rows wait.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
# A worker that lost Redis tries again at most this many seconds apart (clinic/celery.py).
CELERY_BROKER_RECONNECT_MAX_SECONDS = env_int("CELERY_BROKER_RECONNECT_MAX_SECONDS", 2)
CELERY_WORKER_CONSUMER = "clinic.celery:Consumer"
CELERY_BEAT_SCHEDULE: dict = {
    "dispatch-due-messages": {
        "task": "messaging.dispatch_due_messages",
        "schedule": float(MESSAGE_DISPATCH_INTERVAL_SECONDS),
    },
    # Lists the records whose retention period is over for a manager to confirm their purge.
    "review-retention": {"task": "patients.review_retention", "schedule": 24 * 60 * 60.0},
}

# Staff accounts (clinic/accounts/). Failed logins, on the staff login and the admin login
# alike, are counted per username and per client address; at LOGIN_FAILURE_LIMIT either is
# locked for LOGIN_COOLOFF_MINUTES after its last failure (a manager can unlock a username).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be at least 1.")
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The address the audit trail records, so that both speak of the same client.
AXES_CLIENT_IP_CALLABLE = "clinic.audit.client_address"  # the audit trail's address, trusted proxies and all
AXES_LOCKOUT_CALLABLE = "clinic.accounts.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "clinic.accounts.lockout.login_username"  # a 100,000-character name is counted, not stored
# Refused attempts during a lockout do not extend it: it ends LOGIN_COOLOFF_MINUTES after
# the failure that caused it. A success does not clear an address's failures either (one
# valid account must not reset the count of an address guessing others).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_ENABLE_ADMIN = False
# Logins are the audit trail's to record; axes keeps only the failure counts it needs.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Two-factor authentication: with REQUIRE_2FA every staff user enrols an authenticator app
# before anything else; a user who has one always enters a code after the password.
REQUIRE_2FA = env_bool("REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = CLINIC_NAME
# Invitation links (set your own password) stop working after this many days, once used,
# or once the password has changed.
PASSWORD_RESET_TIMEOUT = env_int("STAFF_INVITE_MAX_AGE_DAYS", 7) * 24 * 60 * 60

# Sessions live in the database (a logout or a deactivated account ends them at once); read
# by a written-out statement (clinic/sessions.py).
SESSION_ENGINE = "clinic.sessions"
SESSION_COOKIE_HTTPONLY = True
# A login lasts at most SESSION_COOKIE_AGE, and ends sooner after SESSION_IDLE_TIMEOUT_SECONDS
# without a request (clinic.middleware.IdleSessionTimeoutMiddleware): a screen left open at
# the front desk does not stay logged in.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
if SESSION_IDLE_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT_SECONDS must be a positive number of seconds.")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this site
# only; no inline script, no inline event handler, no eval, no inline style attribute or
# element (data-driven colours are set from static JS through the CSSOM). data: images are
# Bootstrap's own icons (in its CSS). Nonces exist (request.csp_nonce) but no page needs one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Browser features the clinic never uses are switched off for every page.
PERMISSIONS_POLICY: dict[str, tuple[str, ...]] = dict.fromkeys(
    (
        "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "geolocation", "gyroscope", "hid",
        "magnetometer", "microphone", "midi", "payment", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    ),
    (),
)  # fmt: skip
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe the web processes over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
