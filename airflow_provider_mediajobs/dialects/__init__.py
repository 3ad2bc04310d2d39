"""Provider dialects: one module per provider's API (:mod:`.base` says what a dialect is made of),
and :mod:`.registry`, the one list of providers and their facts.

Adding a provider: one module with a :class:`~.base.Dialect` subclass and one
:class:`~.registry.ProviderSpec` line in :data:`~.registry.BUILTIN`. This package imports nothing:
Airflow reads the registry while it is still importing itself.
"""
