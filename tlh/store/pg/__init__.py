"""The PostgreSQL backend (psycopg 3): the shared store of several tlh servers."""
