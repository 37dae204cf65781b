"""Models of the surveys area (added with the surveys feature; the core's tables are in its
modules, e.g. participation.communities.models)."""
