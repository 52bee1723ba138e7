"""Mailing lists: subscriptions with double opt-in, moderated messages, inbound mail."""
