// Persistent storage.
