"""State changes of the proposals area."""
