from django.core.management.base import BaseCommand

from phoneexport.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo companies and users (idempotent)."

    def handle(self, *args, **options):
        summary = seed_demo()
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {len(summary.client_emails)} client users. The catalogue "
            "comes from the sandbox supplier once the worker has synced it."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        if summary.staff_email:
            self.stdout.write(f"  staff (admin):  {summary.staff_email}")
        for email in summary.client_emails:
            self.stdout.write(f"  client:         {email}"
                              f"  (API token {summary.api_tokens[email]})")
