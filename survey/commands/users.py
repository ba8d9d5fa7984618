"""Commands: see CONTRACTS.md §1."""

commands: list = []
