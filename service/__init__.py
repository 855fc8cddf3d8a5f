"""dondoc: turns People's Committee plans into tracked tasks, reminders and reports."""

__version__ = "0.1.0"
