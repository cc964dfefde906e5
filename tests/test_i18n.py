"""English and Spanish everywhere: pages follow the user's language, and no text is left untranslated."""

import subprocess
from pathlib import Path

import pytest

from customers.models import User

LOCALE = Path(__file__).resolve().parent.parent / "locale"


@pytest.mark.django_db
@pytest.mark.parametrize("language,heading", [
    ("en", "Wholesale phones, forwarded straight to the warehouse"),
    ("es", "Teléfonos al por mayor, enviados directamente al almacén"),
])
def test_home_page_speaks_the_chosen_language(client, language, heading):
    client.cookies["django_language"] = language
    response = client.get("/")
    assert response.status_code == 200
    assert heading in response.content.decode()


@pytest.mark.django_db
def test_a_signed_in_users_language_beats_the_browser(client):
    user = User.objects.create_user(email="staff-es@phoneexport.example", password="x" * 12,
                                    language="es", is_staff=True)
    client.force_login(user)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Teléfonos al por mayor" in response.content.decode()


@pytest.mark.parametrize("po_file", sorted(LOCALE.glob("*/LC_MESSAGES/*.po")), ids=str)
def test_every_message_is_translated_and_none_is_fuzzy(po_file):
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po_file)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr


@pytest.mark.django_db
def test_switching_language_is_remembered_for_a_signed_in_user(client):
    user = User.objects.create_user(email="buyer@phoneexport.example", password="x" * 12)
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    user.refresh_from_db()
    assert user.language == "es"
    assert "Teléfonos al por mayor" in client.get("/").content.decode()
