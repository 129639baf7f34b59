"""Pure decisions: state machines, conditions, schedules and backoff. No I/O; imports only api."""
