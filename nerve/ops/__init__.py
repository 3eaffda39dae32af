"""Operations: health checks and Prometheus metrics."""
