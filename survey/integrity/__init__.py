"""Survey integrity (issue 9, docs/interfaces.md#survey-integrity): keyed fingerprints, the tamper-evident
response log, fraud signals over a round, the signed archive, one-time slip codes."""
