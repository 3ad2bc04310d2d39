"""What every provider shares: connection config (:mod:`.config`), HTTP transport and limits,
retries, rate limits, cadence; :class:`~.api.JobApi` puts them together for the hooks."""
