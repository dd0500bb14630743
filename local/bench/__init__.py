"""`make bench`: figures on cold starts, latency, OpenTok calls, readiness, growth, packages."""
