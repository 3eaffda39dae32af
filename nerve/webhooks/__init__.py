"""Webhook endpoints: the shop's own systems that flows call by name, each with a signing secret
(Standard Webhooks), a status that a receiver answering 410 Gone turns off, and rotation."""
