"""Forms of the proposals area."""
