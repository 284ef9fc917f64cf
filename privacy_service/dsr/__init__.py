"""Data subject requests: access and erasure, fanned out to every downstream system, by jurisdiction."""
