"""Orders: each order once per workspace, from `Order Completed` events (later shop webhooks)."""
