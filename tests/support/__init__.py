"""Test doubles and readers shared by the tests and the benchmarks; they import nothing from pytest."""
