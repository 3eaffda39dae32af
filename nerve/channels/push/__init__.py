"""Push: Web Push to browsers (RFC 8030 + VAPID) and a provider interface for mobile apps in the
FCM HTTP v1 format; subscriptions attached to people through the identity graph."""
