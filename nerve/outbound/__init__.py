"""The outbound policy: where Nerve may call out to (webhooks now; e-mail, SMS, push and Slack
later), checked when a flow is validated and again when each call connects."""
