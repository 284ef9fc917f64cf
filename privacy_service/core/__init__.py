"""The shared kernel: settings, database, clock, errors, column types. Knows no domain."""
