"""The provider URLs (as the dialects build them against the test connections) and ids the sensor
and operator tests mock."""

from __future__ import annotations

SENTINEL = "tp-sentinel-key"  # every test connection's API key: must never appear in logs or XCom
TP_CREATE = "https://backend.tensorpix.ai/api/jobs/from-url/"
TP = "https://backend.tensorpix.ai/api/jobs/{}/"
TAMS_CREATE = "https://tams.example/v1/jobs"
TAMS = "https://tams.example/v1/jobs/{}"
TAMS_ID = "812345678901234567"  # wider than a JavaScript number: must stay a string
GE_CREATE = "https://api.goenhance.ai/api/v1/imagefaceswap/generate"
GE = "https://api.goenhance.ai/api/v1/jobs/detail?img_uuid={}"
