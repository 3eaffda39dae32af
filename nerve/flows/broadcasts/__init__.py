"""Audiences and broadcasts: a flow that starts for every member of a segment — now, at a
time, on a schedule, or when a catalog event happens — through a durable, throttled fan-out."""
