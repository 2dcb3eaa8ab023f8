"""Delivery: the daily job, the outbox (exactly-once), SMTP, cron. The only package that sends."""
