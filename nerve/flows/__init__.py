"""The flow engine: data-defined, versioned, durable automation flows."""
