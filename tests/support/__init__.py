"""Test doubles shared by functional tests and benchmarks; they import nothing from pytest."""
