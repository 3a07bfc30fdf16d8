"""Is the name free? Domain availability by RDAP (DNS as fallback), on request only.

    checker = AvailabilityChecker(AvailabilitySettings(budget_s=2.0))
    checker.check(["beanhaven.com"])  # {"beanhaven.com": True | False | None}

Never used by the DVC pipeline (it has no network); off unless a request asks.
"""

from domainllm.availability.answers import annotate, candidate_pool, pooled_runner
from domainllm.availability.bootstrap import ENV_VAR, IANA_URL, Bootstrap, refresh
from domainllm.availability.checker import AvailabilityChecker, AvailabilitySettings

__all__ = [
    "ENV_VAR",
    "IANA_URL",
    "AvailabilityChecker",
    "AvailabilitySettings",
    "Bootstrap",
    "annotate",
    "candidate_pool",
    "pooled_runner",
    "refresh",
]
