"""The persistent cart: one per person, shared by every head, merged on login, resumable."""
