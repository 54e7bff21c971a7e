"""The integration surface: REST API under /api/ (tokens, scoped viewsets, Alertmanager
receiver), Prometheus /metrics and the token page. It sits above every other app and
decides nothing itself: validation is the inventory import's, verdicts the judge's, alert
handling alerts' services. No other app imports it."""
