"""The provider URLs the sensor and operator tests mock (as the dialects build them against the
default test connections), and a TAMS job id."""

from __future__ import annotations

from support.constants import BASE_URLS

TP_CREATE = f"{BASE_URLS['tensorpix']}/api/jobs/from-url/"
TP = f"{BASE_URLS['tensorpix']}/api/jobs/{{}}/"
TAMS_CREATE = f"{BASE_URLS['tensorart']}/v1/jobs"
TAMS = f"{BASE_URLS['tensorart']}/v1/jobs/{{}}"
TAMS_ID = "812345678901234567"  # wider than a JavaScript number: must stay a string
GE_CREATE = f"{BASE_URLS['goenhance']}/api/v1/imagefaceswap/generate"
GE = f"{BASE_URLS['goenhance']}/api/v1/jobs/detail?img_uuid={{}}"
