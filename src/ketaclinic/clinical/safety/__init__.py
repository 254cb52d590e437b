"""Safety, pure: adverse events with seriousness and reporting tasks; course surveillance (bladder,
misuse, suicide screens). Tasks and flags are values a service persists and assigns."""
