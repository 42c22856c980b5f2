"""Alert channels (webhook, email, log, chat formats) and the outbox delivery loop."""
