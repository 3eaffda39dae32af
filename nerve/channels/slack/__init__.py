"""Slack: team alerts (low stock, a big order, a failed payment) posted through incoming-webhook
URLs — named destinations whose URLs are kept encrypted — as Block Kit messages rendered from
slack templates. docs/channels.md#slack describes it for the shop."""

from __future__ import annotations

from nerve.channels.slack.action import PARAMETERS, parameter_problems, unknown_references

__all__ = ["PARAMETERS", "parameter_problems", "unknown_references"]
