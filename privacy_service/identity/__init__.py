"""Accounts and their credentials: passwords and their rules, second factors, sessions, tokens and clients."""
