"""Reminders and escalations: policy, working-day calendar, outbox, SMTP delivery, scheduler."""
