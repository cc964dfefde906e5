from pathlib import Path

from django.core.management.base import BaseCommand

from inventory import stocklists


class Command(BaseCommand):
    help = ("Import supplier stock lists dropped in STOCK_LIST_FOLDER/<supplier>/full/ or "
            "/delta/, moving each file to done/ or failed/.")

    def add_arguments(self, parser):
        parser.add_argument("--folder", type=Path, help="Folder to scan instead of the setting.")

    def handle(self, *args, folder=None, **options):
        for record in stocklists.import_watched_folder(folder=folder):
            self.stdout.write(f"{record.supplier.slug} {record.filename}: {record.status}, "
                              f"{record.rows} rows, {record.bad_row_count} bad")
