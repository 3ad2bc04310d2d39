"""The ``airflow.plugins`` entry point of the Media view plugin.

Airflow loads the plugins a provider lists in ``get_provider_info()["plugins"]`` only when
``[core] lazy_discover_providers`` is False; with the default (True) it loads entry-point plugins
only. So this entry point offers the plugin exactly when the provider route will not, and the
plugin is registered once either way.
"""

from __future__ import annotations

from typing import Any

from airflow import settings

MediaJobsPlugin: Any = None
if settings.LAZY_LOAD_PROVIDERS:
    from airflow_provider_mediajobs.plugins.plugin import MediaJobsPlugin  # noqa: F401
