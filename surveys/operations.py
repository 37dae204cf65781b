"""State changes of the surveys area."""
