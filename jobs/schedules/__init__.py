"""Schedules: a job body submitted again and again, every N seconds or by cron, each run an ordinary job."""
