"""Settings of the example host project (ThothAI-shaped ``catalog`` app).

Environment:

* ``DATABASE_URL`` -- Django's own database (default: ``sqlite:///db.sqlite3``);
* ``REDIS_URL`` -- use django-q2's Redis broker instead of the ORM broker;
* ``THOTH_LOG_DIR`` -- where run logs go (default: ``logs`` under the cwd).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from example.dburl import parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "thoth_db_elements",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "example.wsgi.application"

DATABASES = {
    "default": parse_database_url(
        os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"

# --- thoth-db-elements -----------------------------------------------------
THOTH_DB_ELEMENTS_SQLDB_MODEL = "catalog.SqlDb"
THOTH_DB_ELEMENTS_LOG_DIR = os.environ.get("THOTH_LOG_DIR", "logs")
# ThothAI keeps SQLite files at {DB_ROOT_PATH}/{db_mode}_databases/{db_name}/.
DB_ROOT_PATH = os.environ.get("DB_ROOT_PATH", str(BASE_DIR / "data"))

# --- django-q2 ---------------------------------------------------------------
# retry must exceed timeout, or a long harvest is delivered twice.
Q_CLUSTER: dict[str, object] = {
    "name": "thoth-db-elements",
    "workers": 2,
    "timeout": 1800,
    "retry": 2100,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
}
if os.environ.get("REDIS_URL"):
    redis = urlsplit(os.environ["REDIS_URL"])
    Q_CLUSTER["redis"] = {
        "host": redis.hostname or "127.0.0.1",
        "port": redis.port or 6379,
        "db": int(redis.path.lstrip("/") or 0),
        "password": redis.password,
    }
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"thoth_db_elements": {"handlers": ["console"], "level": "INFO"}},
}
