"""`nerve demo`: a demo shop with simulated customers on every head."""
