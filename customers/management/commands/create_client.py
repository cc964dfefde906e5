from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.models import User
from customers.services import create_client


class Command(BaseCommand):
    help = "Create a client company and its first user, and print the user's API token."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="The company's name.")
        parser.add_argument("--email", required=True, help="The user's email address.")
        parser.add_argument("--password", required=True, help="The user's password.")
        parser.add_argument("--role", default=User.Role.BUYER, choices=User.Role.values,
                            help="The user's role (default: buyer).")
        parser.add_argument("--account-number", default="",
                            help="The company's account number (default: generated).")
        parser.add_argument("--language", default="", help="The user's language (en, es).")

    def handle(self, *args, **options):
        try:
            account = create_client(
                company_name=options["company"], email=options["email"],
                password=options["password"], role=options["role"],
                account_number=options["account_number"], language=options["language"])
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}"
                                 for field, messages in exc.message_dict.items())
            raise CommandError(problems) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Created {account.company} with {account.user.email} ({account.user.role})."))
        self.stdout.write(f"API token: {account.api_token}")
