"""Outgoing email: render it from templates/email/ (rendering) and hand it over (delivery)."""
