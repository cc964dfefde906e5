from pathlib import Path

import psycopg2
from django.core.management.base import BaseCommand
from django.db import connection
from psycopg2 import sql


class Command(BaseCommand):
    help = "Create the configured database if it does not exist yet (PostgreSQL or SQLite)."

    def handle(self, *args, **options):
        database = connection.settings_dict
        if connection.vendor == "sqlite":
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            return
        if connection.vendor != "postgresql":
            return
        # Connect to the server's maintenance database: ours may not exist yet.
        server = psycopg2.connect(dbname="postgres", user=database["USER"] or None,
                                  password=database["PASSWORD"] or None,
                                  host=database["HOST"] or None, port=database["PORT"] or None)
        server.autocommit = True
        try:
            with server.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(
                        sql.Identifier(database["NAME"])))
                    self.stdout.write(f"Created database {database['NAME']}.")
        finally:
            server.close()
