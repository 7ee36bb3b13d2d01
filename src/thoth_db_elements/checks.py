"""System checks: configuration mistakes reported by ``manage.py check``.

Each check is a plain function returning a list of messages; ``register``
hooks them into Django's check framework (called from ``AppConfig.ready``).
The ids are documented in ``docs/checks.md``.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import re
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any, Final, cast

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.utils.module_loading import import_string

from ._fields import model_has_field
from .conf import PREFIX, app_settings
from .logging import run_log_dir
from .models import LIFECYCLE_FIELD_NAMES, SEED_FIELD_NAMES

__all__ = [
    "CATALOGUE_OPTIONAL_FIELDS",
    "CATALOGUE_REQUIRED_FIELDS",
    "action_replaced",
    "check_catalogue_models",
    "check_hooks",
    "check_log_dir",
    "check_numeric_settings",
    "check_psycopg",
    "check_q_cluster",
    "check_runner",
    "check_sqldb_model",
    "register",
    "unfilled_required_fields",
]

#: Fields the harvest writes on each catalogue model (ThothAI's names).
CATALOGUE_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "TABLE_MODEL": ("name", "description", "generated_comment", "sql_db"),
    "COLUMN_MODEL": (
        "original_column_name",
        "column_name",
        "data_format",
        "column_description",
        "generated_comment",
        "value_description",
        "pk_field",
        "fk_field",
        "sql_table",
    ),
    "RELATIONSHIP_MODEL": (
        "source_table",
        "target_table",
        "source_column",
        "target_column",
    ),
}


#: Fields the harvest also writes where a catalogue model has them.
CATALOGUE_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "TABLE_MODEL": ("db_comment", "is_view"),
    "COLUMN_MODEL": (
        "data_type",
        "is_nullable",
        "default_value",
        "db_comment",
        "ordinal_position",
    ),
    "RELATIONSHIP_MODEL": (),
}


def unfilled_required_fields(model: type[models.Model], setting: str) -> list[str]:
    """Fields of ``model`` that a new row cannot do without (NOT NULL, no
    default of Django's or of the database's, not set on save) and that the
    harvest does not write: creating a row fails on them."""
    written = {*CATALOGUE_REQUIRED_FIELDS[setting], *CATALOGUE_OPTIONAL_FIELDS[setting]}
    found: list[str] = []
    for field in model._meta.concrete_fields:
        if (
            field.primary_key
            or field.name in written
            or field.null
            or field.has_default()
            or field.has_db_default()
            or getattr(field, "generated", False)
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
            or field.empty_strings_allowed  # text fields take "" (Django's default)
        ):
            continue
        found.append(field.name)
    return found


#: The abstract model of ``thoth_db_elements.models`` for each catalogue setting.
_ABSTRACT_MODELS: Final = {
    "TABLE_MODEL": "AbstractSqlTable",
    "COLUMN_MODEL": "AbstractSqlColumn",
    "RELATIONSHIP_MODEL": "AbstractRelationship",
}


def _resolve_model(
    setting: str, label: str | None, error_id: str
) -> tuple[type[models.Model] | None, list[checks.CheckMessage]]:
    if not label:
        return None, [
            checks.Error(
                f"{PREFIX}{setting} is not set.",
                hint=f"Set {PREFIX}{setting} to 'app_label.ModelName' of your model.",
                id=error_id,
            )
        ]
    try:
        return apps.get_model(label, require_ready=False), []
    except (LookupError, ValueError):
        pass
    hint = "Use 'app_label.ModelName' of a model in INSTALLED_APPS."
    if setting in _ABSTRACT_MODELS:
        hint = (
            f"Define the model in your app (inherit thoth_db_elements.models."
            f"{_ABSTRACT_MODELS[setting]}, then makemigrations), or set "
            f"{PREFIX}{setting} to 'app_label.ModelName' of your own."
        )
    if getattr(settings, PREFIX + setting, None) is None:
        message = (
            f"{PREFIX}{setting} is not set, and its default {label!r} (beside "
            "the SqlDb model) is not an installed model."
        )
    else:
        message = (
            f"{PREFIX}{setting} refers to {label!r}, which is not an installed model."
        )
    return None, [checks.Error(message, hint=hint, id=error_id)]


def check_sqldb_model(**kwargs: Any) -> list[checks.CheckMessage]:
    """E001: the SqlDb model is set and installed; E002: it has the seed fields.

    W002: it lacks the optional lifecycle fields (features degrade).
    """
    model, errors = _resolve_model(
        "SQLDB_MODEL", app_settings.SQLDB_MODEL, "thoth_db_elements.E001"
    )
    if model is None:
        return errors
    missing = [name for name in SEED_FIELD_NAMES if not model_has_field(model, name)]
    if missing:
        return [
            checks.Error(
                f"{model._meta.label} lacks the status field(s): {', '.join(missing)}.",
                hint="Inherit thoth_db_elements.models.DbElementsTaskMixin and make a migration.",
                obj=model,
                id="thoth_db_elements.E002",
            )
        ]
    absent = [
        name for name in LIFECYCLE_FIELD_NAMES if not model_has_field(model, name)
    ]
    if absent:
        return [
            checks.Warning(
                f"{model._meta.label} lacks {', '.join(absent)}: heartbeat, progress, "
                "error text, run report, log link and cancel work only with them.",
                hint="Inherit DbElementsTaskMixin instead of declaring the four seed fields.",
                obj=model,
                id="thoth_db_elements.W002",
            )
        ]
    return []


def check_catalogue_models(**kwargs: Any) -> list[checks.CheckMessage]:
    """E003: each catalogue model is installed and has ThothAI's fields;
    E007: it has no field a new row needs and the harvest does not fill."""
    messages: list[checks.CheckMessage] = []
    if not app_settings.SQLDB_MODEL:
        return messages  # E001 already says what to do.
    for setting, required in CATALOGUE_REQUIRED_FIELDS.items():
        label = getattr(app_settings, setting)
        model, errors = _resolve_model(setting, label, "thoth_db_elements.E003")
        messages.extend(errors)
        if model is None:
            continue
        unfilled = unfilled_required_fields(model, setting)
        if unfilled:
            messages.append(
                checks.Error(
                    f"{model._meta.label} ({PREFIX}{setting}) has required "
                    f"field(s) the harvest does not fill: {', '.join(unfilled)}; "
                    "every new catalogue row would fail.",
                    hint="Give them a default (or db_default), or allow NULL.",
                    obj=model,
                    id="thoth_db_elements.E007",
                )
            )
        missing = [name for name in required if not model_has_field(model, name)]
        if missing:
            messages.append(
                checks.Error(
                    f"{model._meta.label} ({PREFIX}{setting}) lacks field(s): "
                    f"{', '.join(missing)}.",
                    hint="Give it ThothAI's field names, or inherit the matching "
                    "abstract model from thoth_db_elements.models.",
                    obj=model,
                    id="thoth_db_elements.E003",
                )
            )
    return messages


def _number(value: object) -> bool:
    """A finite int or float (not a bool)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _positive_number(value: object) -> bool:
    return _number(value) and value > 0  # type: ignore[operator]


def check_numeric_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """E004: time-outs and batch size are positive numbers (the batch size a
    whole one), the deletion threshold a share from 0 to 1, the views and
    SQLite confinement settings booleans.

    Also: the heartbeat interval is shorter than the heartbeat time-out.
    """
    names: Sequence[str] = (
        "STALE_TIMEOUT_HOURS",
        "HEARTBEAT_TIMEOUT_SECONDS",
        "HEARTBEAT_INTERVAL_SECONDS",
        "CONNECT_TIMEOUT",
        "CATALOGUE_LOCK_TIMEOUT",
    )
    messages: list[checks.CheckMessage] = [
        checks.Error(
            f"{PREFIX}{name} must be a positive number, not {getattr(app_settings, name)!r}.",
            id="thoth_db_elements.E004",
        )
        for name in names
        if not _positive_number(getattr(app_settings, name))
    ]
    batch = app_settings.BATCH_SIZE
    if not (_positive_number(batch) and int(batch) == batch):
        messages.append(
            checks.Error(
                f"{PREFIX}BATCH_SIZE must be a positive whole number, not {batch!r}.",
                id="thoth_db_elements.E004",
            )
        )
    kept = app_settings.RUN_LOGS_KEPT
    if kept is not None and not (_positive_number(kept) and int(kept) == kept):
        messages.append(
            checks.Error(
                f"{PREFIX}RUN_LOGS_KEPT must be a positive whole number or None, "
                f"not {kept!r}.",
                id="thoth_db_elements.E004",
            )
        )
    for name, default in (("INCLUDE_VIEWS", True), ("SQLITE_CONFINED", False)):
        value = app_settings._get(name, default)
        if not isinstance(value, bool):
            # "False", a string, would be taken for True.
            messages.append(
                checks.Error(
                    f"{PREFIX}{name} must be True or False, not {value!r}.",
                    id="thoth_db_elements.E004",
                )
            )
    threshold = app_settings.DELETE_THRESHOLD
    if not (_number(threshold) and 0 <= threshold <= 1):
        messages.append(
            checks.Error(
                f"{PREFIX}DELETE_THRESHOLD is a share from 0 to 1, not {threshold!r}.",
                id="thoth_db_elements.E004",
            )
        )
    return messages + _numeric_relations()


def _numeric_relations() -> list[checks.CheckMessage]:
    interval = app_settings.HEARTBEAT_INTERVAL_SECONDS
    timeout = app_settings.HEARTBEAT_TIMEOUT_SECONDS
    messages: list[checks.CheckMessage] = []
    if _positive_number(interval) and _positive_number(timeout) and interval >= timeout:
        messages.append(
            checks.Error(
                f"{PREFIX}HEARTBEAT_INTERVAL_SECONDS ({interval}) must be shorter than "
                f"{PREFIX}HEARTBEAT_TIMEOUT_SECONDS ({timeout}).",
                id="thoth_db_elements.E004",
            )
        )
    return messages


def check_log_dir(**kwargs: Any) -> list[checks.CheckMessage]:
    """W001: the log directory and its ``db_elements`` directory, where run
    logs go, exist (or can be created) and are writable."""
    for directory in (app_settings.LOG_DIR, run_log_dir()):
        probe = directory
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not (probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)):
            return [
                checks.Warning(
                    f"Log directory {directory} cannot be written: every "
                    "harvest will fail with 'Cannot open the run log'.",
                    hint=f"Create it with write permission, or set {PREFIX}LOG_DIR.",
                    id="thoth_db_elements.W001",
                )
            ]
    return []


def check_runner(**kwargs: Any) -> list[checks.CheckMessage]:
    """E006: the RUNNER setting names an importable task-runner class."""
    path = app_settings.RUNNER
    try:
        import_string(path)
    except ImportError:
        return [
            checks.Error(
                f"{PREFIX}RUNNER = {path!r} cannot be imported.",
                hint="Use thoth_db_elements.runners.django_q.DjangoQRunner (default), "
                "...immediate.ImmediateRunner or ...django_tasks.DjangoTasksRunner.",
                id="thoth_db_elements.E006",
            )
        ]
    return []


def check_hooks(**kwargs: Any) -> list[checks.CheckMessage]:
    """E008: the URL_BUILDER and TUNNEL settings name importable callables."""
    messages: list[checks.CheckMessage] = []
    for name in ("URL_BUILDER", "TUNNEL"):
        path = getattr(app_settings, name)
        if not path:
            continue
        try:
            hook = import_string(path)
        except ImportError as exc:
            problem = f"cannot be imported ({exc})"
        except Exception as exc:  # its module may fail in any way
            problem = f"cannot be imported ({type(exc).__name__}: {exc})"
        else:
            if callable(hook):
                continue
            problem = "is not callable"
        messages.append(
            checks.Error(
                f"{PREFIX}{name} = {path!r} {problem}: every harvest would fail.",
                hint="Give the dotted path of a function (see the settings' "
                "documentation), or remove the setting.",
                id="thoth_db_elements.E008",
            )
        )
    return messages


def _calls_super(function: Any) -> bool:
    """Whether ``function`` uses ``super()`` (a method that does has the
    ``__class__`` cell): it extends the action rather than replacing it."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    return code is not None and "__class__" in code.co_freevars


def action_replaced(admin_class: type[Any], own: Any) -> list[checks.CheckMessage]:
    """W004: ``admin_class`` (a ``DbElementsAdminMixin`` admin) defines its
    own ``create_db_elements_async`` rather than ``own``, the mixin's: most
    often the seed's hand-written method, left behind, which then replaces
    the library's action (run through ``ModelAdmin.check``)."""
    action = getattr(admin_class, "create_db_elements_async", own)
    if action is own or _calls_super(action):
        return []
    return [
        checks.Warning(
            f"{admin_class.__name__}.create_db_elements_async replaces the "
            "action DbElementsAdminMixin provides.",
            hint="Delete the hand-written method of the seed's admin patch (see "
            "the migration guide), or call super() in it to extend the action.",
            obj=admin_class,
            id="thoth_db_elements.W004",
        )
    ]


#: django-q2's Redis broker, without the package it needs.
NO_REDIS = (
    "Q_CLUSTER names no other broker, so django-q2 queues on Redis, and the "
    "redis package is not installed: no harvest can be queued."
)
NO_REDIS_HINT = (
    'Install it (pip install "thoth-db-elements[redis]"), or queue in the '
    "database: Q_CLUSTER['orm'] = 'default'."
)

#: The Q_CLUSTER keys that choose a broker other than Redis (django-q2's
#: default) when set; ``sqs`` does when it is a dict, even an empty one.
_OTHER_BROKERS = ("broker_class", "iron_mq", "orm", "mongo")


def uses_redis_broker(config: Mapping[str, Any]) -> bool:
    """Whether django-q2 queues on Redis with ``Q_CLUSTER`` ``config`` (as
    its ``get_broker`` chooses)."""
    if isinstance(config.get("sqs"), dict):
        return False
    return not any(config.get(key) for key in _OTHER_BROKERS)


def check_q_cluster(**kwargs: Any) -> list[checks.CheckMessage]:
    """E005: with the django-q2 runner, ``django_q`` is installed,
    Q_CLUSTER has a timeout and retry > timeout, and its broker's package
    (Redis's, when it names no other) is installed; for a SqlDb model without
    a heartbeat field, the timeout is within ``STALE_TIMEOUT_HOURS`` (a
    longer run would be found stale and started again beside itself)."""
    if not app_settings.RUNNER.endswith("DjangoQRunner"):
        return []
    if not apps.is_installed("django_q"):
        return [
            checks.Error(
                'The django-q2 runner needs "django_q" in INSTALLED_APPS: its '
                "queue tables and the qcluster command come with it.",
                hint='Add "django_q" to INSTALLED_APPS and migrate.',
                id="thoth_db_elements.E005",
            )
        ]
    config = getattr(settings, "Q_CLUSTER", {}) or {}
    timeout = config.get("timeout")
    retry = config.get("retry", 60)
    if not _positive_number(timeout):
        return [
            checks.Error(
                "Q_CLUSTER has no positive 'timeout': a hung harvest would hold a "
                "worker for ever.",
                hint="Set Q_CLUSTER['timeout'] above your longest harvest, e.g. 1800.",
                id="thoth_db_elements.E005",
            )
        ]
    if not _positive_number(retry) or retry <= timeout:
        return [
            checks.Error(
                f"Q_CLUSTER 'retry' ({retry}) must exceed 'timeout' ({timeout}), or a "
                "long harvest is delivered twice.",
                hint="For example timeout 1800 and retry 2100.",
                id="thoth_db_elements.E005",
            )
        ]
    if uses_redis_broker(config) and importlib.util.find_spec("redis") is None:
        return [checks.Error(NO_REDIS, hint=NO_REDIS_HINT, id="thoth_db_elements.E005")]
    model, _errors = _resolve_model(
        "SQLDB_MODEL", app_settings.SQLDB_MODEL, "thoth_db_elements.E001"
    )
    hours = app_settings.STALE_TIMEOUT_HOURS
    if (
        model is not None
        and not model_has_field(model, "db_elements_heartbeat")
        and _positive_number(hours)
        and cast("float", timeout) > hours * 3600
    ):
        return [
            checks.Error(
                f"Q_CLUSTER 'timeout' ({timeout} s) is longer than "
                f"{PREFIX}STALE_TIMEOUT_HOURS ({hours} h): {model._meta.label} has "
                "no heartbeat field, so a run that lasts longer would be found "
                "stale and started again beside it.",
                hint=f"Raise {PREFIX}STALE_TIMEOUT_HOURS above the timeout, or "
                "give the model the heartbeat field (DbElementsTaskMixin).",
                obj=model,
                id="thoth_db_elements.E005",
            )
        ]
    return []


#: psycopg 3 cancels a statement it waits for on ``KeyboardInterrupt`` only
#: before 3.3, not on django-q2's time-out (a ``SystemExit``).
_PSYCOPG_STOPS: Final = (3, 3)


def _stops_lost(version: str | None) -> bool:
    """Whether psycopg ``version`` (None: not installed) loses a stop."""
    if version is None:
        return False
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    return numbers < _PSYCOPG_STOPS


def _vendor(alias: str) -> str:
    """The vendor of Django's database ``alias`` (PostGIS's is PostgreSQL);
    its ENGINE's last word when the backend cannot be loaded (a driver
    missing), which another check or the first query reports."""
    try:
        return str(connections[alias].vendor)
    except (ImproperlyConfigured, ImportError):  # Django 6 / 5.2
        engine = str(settings.DATABASES[alias].get("ENGINE", ""))
        return "postgresql" if engine.endswith(("postgresql", "postgis")) else engine


def psycopg_warnings(
    version: str | None, vendors: Sequence[str]
) -> list[checks.CheckMessage]:
    """W003 for psycopg ``version`` (None: not installed) and the vendor of
    each of Django's databases (``connection.vendor``)."""
    if not _stops_lost(version) or "postgresql" not in vendors:
        return []
    return [
        checks.Warning(
            f"psycopg {version} does not cancel a statement when a worker's "
            "time-out stops a run: a stop that lands while the catalogue "
            "commits is lost, the run is recorded FAILED and the catalogue "
            "commits after all.",
            hint="Install psycopg 3.3 or later (the postgresql extra asks for it).",
            id="thoth_db_elements.W003",
        )
    ]


def check_psycopg(**kwargs: Any) -> list[checks.CheckMessage]:
    """W003: psycopg before 3.3 under a PostgreSQL database of Django's."""
    try:
        installed: str | None = package_version("psycopg")
    except PackageNotFoundError:
        installed = None
    if not _stops_lost(installed):
        return []  # no backend loaded for nothing
    return psycopg_warnings(installed, [_vendor(a) for a in settings.DATABASES])


ALL_CHECKS = (
    check_sqldb_model,
    check_catalogue_models,
    check_numeric_settings,
    check_log_dir,
    check_runner,
    check_hooks,
    check_q_cluster,
    check_psycopg,
)


def register() -> None:
    """Register every check with Django (idempotent)."""
    for check in ALL_CHECKS:
        checks.register(check, "thoth_db_elements")
