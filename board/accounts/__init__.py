"""Users, registration, login, email confirmation, the audit log."""
