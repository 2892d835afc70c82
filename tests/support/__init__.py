"""Helpers for crash and outage tests: a cuttable TCP proxy, a process harness, fresh databases."""
