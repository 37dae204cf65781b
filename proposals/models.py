"""Models of the proposals area (added with the proposals feature; the core's tables are in
participation.models)."""
