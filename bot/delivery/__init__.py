"""Outbound delivery: the outbox sender, leases shared between workers, and pacing."""
