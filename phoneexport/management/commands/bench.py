from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from orders.models import Order
from phoneexport.benchmarks import forwarding, portal, webhooks
from phoneexport.benchmarks.common import require_production_services
from phoneexport.celery import app as celery_app


def inventory_sync() -> None:
    # The other benchmarks leave orders behind; the sync benchmark wants no orders at all.
    Order.objects.all().delete()
    call_command("bench_inventory_sync", "--wipe")


BENCHMARKS = {"forwarding": forwarding.run, "webhooks": webhooks.run,
              "inventory": inventory_sync, "portal": portal.run}


class Command(BaseCommand):
    help = "Run the benchmarks on PostgreSQL and Redis and print their tables."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} "
                                                     "(default: all)")

    def handle(self, *args, names, **options):
        unknown = set(names) - set(BENCHMARKS)
        if unknown:
            raise CommandError(f"Unknown benchmark(s): {', '.join(sorted(unknown))}")
        # Benchmarks empty the order and catalogue tables: never on a real database.
        if not connection.settings_dict["NAME"].endswith("_bench"):
            raise CommandError("Benchmarks run only on a database whose name ends in _bench.")
        require_production_services()
        for name in names or BENCHMARKS:
            # A benchmark stops its workers once its own work is done; what they left queued
            # (emails, mostly) would otherwise be the next benchmark's first work.
            celery_app.control.purge()
            BENCHMARKS[name]()
