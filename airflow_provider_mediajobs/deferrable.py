"""Whether a sensor or operator defers when its DAG does not say: ``[operators] default_deferrable``.

Media jobs run for minutes to hours, so these operators defer unless the admin turned deferral off
(a deployment without a triggerer sets ``default_deferrable = False`` and expects every operator to
honour it). Airflow's built-in default of that option is ``false``, and ``conf.has_option`` is true
on every install, so "the admin set it" is read from where the value comes from: the environment
variable ``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE``, or an airflow.cfg that holds the option. The
airflow.cfg Airflow generates on first use writes every option with its default; there a value
equal to the default is Airflow's, not the admin's (set the environment variable, or change the
value, to be explicit). ``_CMD``/``_SECRET`` variants are ignored, as Airflow ignores them for this
non-sensitive option.
"""

from __future__ import annotations

import os
from configparser import RawConfigParser
from typing import Any

SECTION, OPTION = "operators", "default_deferrable"
ENV_VAR = f"AIRFLOW__{SECTION.upper()}__{OPTION.upper()}"


def _conf() -> Any:
    try:
        from airflow.sdk import conf  # Airflow 3.2+: the Task SDK's parser
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf  # type: ignore[assignment]
    return conf


def _set_in_config_file(conf: Any) -> bool:
    """Whether an airflow.cfg the admin wrote holds the option (not just a generated default)."""
    # The parser's own (RawConfigParser) data is what was read from files; defaults live apart.
    if not RawConfigParser.has_option(conf, SECTION, OPTION):
        return False
    value = RawConfigParser.get(conf, SECTION, OPTION, raw=True)
    if str(value).strip().lower() != str(conf.get_default_value(SECTION, OPTION)).strip().lower():
        return True
    # Equal to the default: a generated airflow.cfg lists every option of the section.
    documented = set(conf.configuration_description.get(SECTION, {}).get("options", {}))
    in_file = set(RawConfigParser.options(conf, SECTION))
    return not documented <= in_file


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` when the admin set it; otherwise True."""
    conf = _conf()
    if ENV_VAR in os.environ or _set_in_config_file(conf):
        return bool(conf.getboolean(SECTION, OPTION, fallback=True))
    return True


def resolve_deferrable(deferrable: bool | None) -> bool:
    """An explicit ``deferrable=`` argument, else :func:`default_deferrable`."""
    return default_deferrable() if deferrable is None else bool(deferrable)


__all__ = ["default_deferrable", "resolve_deferrable"]
