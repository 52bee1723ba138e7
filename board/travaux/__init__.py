"""Travaux: services, incidents, maintenance, the status page, the API, promotion."""
