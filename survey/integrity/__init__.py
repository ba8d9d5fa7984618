"""Survey integrity (issue 9, CONTRACTS.md §5): keyed fingerprints, the tamper-evident
response log, fraud signals over a round, the signed archive, one-time slip codes."""
