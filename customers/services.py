from django.conf import settings

from customers.models import User


def set_user_language(*, user: User, language: str) -> None:
    """Remember a signed-in user's language for pages and emails alike."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unsupported language: {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
