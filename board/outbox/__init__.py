"""Side effects that leave the database: written in the transaction, delivered by the worker."""
