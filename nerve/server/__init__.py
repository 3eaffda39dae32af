"""The HTTP server under `nerve serve` and `nerve demo`: uvicorn with the limits a server facing
the internet needs (time and size limits on each request's arrival, a cap on connections)."""
