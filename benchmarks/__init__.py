"""Triggerer-scale benchmark of MediaJobTrigger (issue 8): ``python -m benchmarks --help``.

Layout: :mod:`benchmarks.emulator_proc` starts the emulator in its own process and scripts it
through the admin API; :mod:`benchmarks.workload` is the seeded job mix; :mod:`benchmarks.client`
is the measured process (one per variant and N: the provider's trigger, the dbt-style baseline,
the bare aiohttp floor); :mod:`benchmarks.run` orchestrates and reports.
"""
