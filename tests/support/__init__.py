"""What the test suites share: constants, connections, fixtures (registered as pytest plugins by
tests/conftest.py) and helpers. Importable as ``support`` because tests/ is on ``sys.path``
(pytest puts the root conftest's folder there)."""
