"""The auditors' tools: the archive of workflow histories, replay against today's code,
the timeline read from a history, and the cross-check of the app's rows against it."""
