"""The long-lived resources the scorer depends on, and their creation on local emulators."""
