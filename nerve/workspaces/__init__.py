"""Workspaces own all data; sources are the shop's heads (web, app, kiosk, pos, server)."""
