"""Personalization for the heads: content and product-list slots, their A/B tests, the
`/v1/personalize` decision API and its impression log."""
