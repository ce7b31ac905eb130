"""A small reminders application: the example project that snapq's own docs test."""
