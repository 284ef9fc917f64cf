"""Per-subject data keys: created, wrapped under the KEK, cached, re-wrapped on rotation, shredded."""
