"""Forms of the surveys area."""
