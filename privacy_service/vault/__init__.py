"""Data subjects and their personal data: profiles, records by category, lookup by blind index.

Every personal value is encrypted under its subject's data key before it reaches
the database; the only searchable trace of a subject is the keyed blind index
of their normalised email address.
"""
