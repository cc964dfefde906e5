"""Reads of client accounts: every one is scoped to a company, so a page can only ever
reach the users and addresses of the company of the person asking."""

from django.db.models import QuerySet

from customers.models import ClientCompany, ShippingAddress, User


def company_users(*, company: ClientCompany) -> QuerySet[User]:
    """The company's users, active ones first."""
    return User.objects.filter(company=company).order_by("-is_active", "email")


def company_addresses(*, company: ClientCompany) -> QuerySet[ShippingAddress]:
    """The company's address book, the default address first."""
    return ShippingAddress.objects.filter(company=company).order_by("-is_default", "label", "pk")


def is_account_admin(user: User) -> bool:
    return (user.is_authenticated and user.is_active and user.company_id is not None
            and user.role == User.Role.ACCOUNT_ADMIN)
