"""Channels: message templates, senders (email now; SMS, push, Slack next) and the message log."""
