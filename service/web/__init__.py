"""The web UI: server-rendered pages for focal points, lead offices, admins and leadership."""
