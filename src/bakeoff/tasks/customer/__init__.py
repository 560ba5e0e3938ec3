"""The customer task (transaction logs): its estimation so far; the Task itself is not built yet."""
