"""domainllm: a DVC pipeline that builds, evaluates and serves a domain-name suggestion model."""

__version__ = "0.1.0"
