import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from customers.models import ClientCompany, User


def set_user_language(*, user: User, language: str) -> None:
    """Remember a signed-in user's language for pages and emails alike."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unsupported language: {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@dataclass(frozen=True)
class ClientAccount:
    company: ClientCompany
    user: User
    api_token: str


def _new_account_number() -> str:
    while True:
        number = f"C-{secrets.token_hex(4).upper()}"
        if not ClientCompany.objects.filter(account_number=number).exists():
            return number


def create_client(*, company_name: str, email: str, password: str,
                  role: str = User.Role.BUYER, account_number: str = "",
                  language: str = "") -> ClientAccount:
    """Create a client company with its first user and that user's API token, atomically.

    Raises ValidationError (nothing created) for a bad email, a weak password, an email or
    account number already in use, or an unknown role.
    """
    company_name = company_name.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    account_number = account_number.strip()
    language = language or settings.LANGUAGE_CODE
    errors = {}
    if not company_name:
        errors["company"] = _("A company name is required.")
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Enter a valid email address.")
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = _("A user with this email address already exists.")
    if role not in User.Role.values:
        errors["role"] = _("Unknown role: %(role)s.") % {"role": role}
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unsupported language: %(language)s.") % {"language": language}
    if account_number and ClientCompany.objects.filter(account_number=account_number).exists():
        errors["account_number"] = _("This account number is already in use.")
    try:
        validate_password(password, User(email=email))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        company = ClientCompany.objects.create(
            name=company_name, account_number=account_number or _new_account_number())
        user = User.objects.create_user(email=email, password=password, company=company,
                                        role=role, language=language)
        token = Token.objects.create(user=user)
    return ClientAccount(company=company, user=user, api_token=token.key)


def api_token_for(*, user: User) -> str:
    """The user's API token, created on first use."""
    return Token.objects.get_or_create(user=user)[0].key
