import secrets
import smtplib
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from customers.errors import (
    CannotChangeYourself, EmailAlreadyRegistered, InvitationNotSent, UserInactive,
)
from customers.models import ClientCompany, ShippingAddress, User

logger = structlog.get_logger(__name__)


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


# --- Client accounts: profile, users and roles, address book --------------------------------

def update_profile(*, user: User, first_name: str, last_name: str, language: str) -> None:
    """Save what a user may change about themselves: their name and language."""
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    set_user_language(user=user, language=language)


def invite_user(*, company: ClientCompany, email: str, role: str, first_name: str = "",
                last_name: str = "", language: str = "") -> User:
    """Add a user to the company and email them a link to choose their password.

    The user has no password until they follow the link, so nobody can sign in as them
    meanwhile. Raises EmailAlreadyRegistered when the address has an account anywhere, and
    InvitationNotSent when the user was added but the email could not be sent.
    """
    _check_role(role)
    email = User.objects.normalize_email(email).strip().lower()
    language = language or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unsupported language: {language!r}")
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise EmailAlreadyRegistered()
            user = User(email=email, company=company, role=role, first_name=first_name.strip(),
                        last_name=last_name.strip(), language=language)
            user.set_unusable_password()
            user.save()
    except IntegrityError as exc:  # the same address invited at the same moment elsewhere
        raise EmailAlreadyRegistered() from exc
    send_invitation(user=user)
    return user


def send_invitation(*, user: User) -> None:
    """Email the user a link to set their password, in their language.

    The link is a password-reset link: it stops working once used, when the password
    changes, or after PASSWORD_RESET_TIMEOUT.
    """
    if not user.is_active:
        raise UserInactive()
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user)})
    context = {"user": user, "company": user.company, "set_password_url": settings.SITE_URL + path,
               "valid_days": max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1)}
    with translation.override(user.language):
        subject = "".join(render_to_string("account/email/invitation_subject.txt",
                                           context).splitlines())
        body = render_to_string("account/email/invitation.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation_not_sent", user_id=user.pk, error=str(exc))
        raise InvitationNotSent() from exc


def change_user_role(*, acting_user: User, user: User, role: str) -> None:
    """Give a user of the acting admin's company another role."""
    _check_role(role)
    _check_not_yourself(acting_user=acting_user, user=user)
    if user.role != role:
        user.role = role
        user.save(update_fields=["role"])


def set_user_active(*, acting_user: User, user: User, is_active: bool) -> None:
    """Deactivate a user (they can no longer sign in; their orders stay) or reactivate them."""
    _check_not_yourself(acting_user=acting_user, user=user)
    if user.is_active != is_active:
        user.is_active = is_active
        user.save(update_fields=["is_active"])
        if not is_active:
            # API tokens would outlive the deactivation otherwise.
            Token.objects.filter(user=user).delete()


def create_shipping_address(*, company: ClientCompany, fields: dict,
                            make_default: bool = False) -> ShippingAddress:
    """Add an address to the company's book; the first one becomes the default."""
    with transaction.atomic():
        _lock_address_book(company)
        is_first = not ShippingAddress.objects.filter(company=company).exists()
        address = ShippingAddress.objects.create(company=company, **fields)
        if make_default or is_first:
            _make_default(address)
    return address


def update_shipping_address(*, address: ShippingAddress, fields: dict,
                            make_default: bool = False) -> ShippingAddress:
    """Change an address. Orders placed with it keep the copy they were placed with."""
    with transaction.atomic():
        _lock_address_book(address.company)
        for name, value in fields.items():
            setattr(address, name, value)
        address.save(update_fields=[*fields])
        if make_default:
            _make_default(address)
    return address


def delete_shipping_address(*, address: ShippingAddress) -> None:
    """Remove an address; if it was the default, the next one in the book takes its place."""
    with transaction.atomic():
        _lock_address_book(address.company)
        was_default = address.is_default
        company = address.company
        address.delete()
        if was_default:
            successor = ShippingAddress.objects.filter(company=company).order_by("label", "pk")
            if (next_address := successor.first()) is not None:
                _make_default(next_address)


def set_default_address(*, address: ShippingAddress) -> None:
    """Make this the company's default address (there is at most one)."""
    with transaction.atomic():
        _lock_address_book(address.company)
        _make_default(address)


def _lock_address_book(company: ClientCompany) -> None:
    # Two admins changing the default at once would otherwise meet the one-default constraint.
    ClientCompany.objects.select_for_update().filter(pk=company.pk).first()


def _make_default(address: ShippingAddress) -> None:
    ShippingAddress.objects.filter(company_id=address.company_id, is_default=True).exclude(
        pk=address.pk).update(is_default=False)
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default"])


def _check_role(role: str) -> None:
    if role not in User.Role.values:
        raise ValueError(f"Unknown role: {role!r}")


def _check_not_yourself(*, acting_user: User, user: User) -> None:
    if acting_user.pk == user.pk:
        raise CannotChangeYourself()
