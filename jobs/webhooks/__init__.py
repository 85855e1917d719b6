"""Webhooks: what a delivery sends and how it is signed, and how it is delivered and retried."""
